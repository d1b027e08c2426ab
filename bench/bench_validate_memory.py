"""Memory of validation as ``run`` does it: N generated rows through the validator alone.

Run: ``.venv/bin/python -m bench.bench_validate_memory --rows 5000000 --users 500000``
(``--index dict`` or ``--index compact`` for one of the two duplicate indexes; both by default).

What grows with the rows in ``run`` is validation's state, chiefly the duplicate index (one
entry per (user, skill) key); the rows themselves go to disk. This benchmark feeds generated
rows (``bench_run``'s: ``--users`` people, skills ``Skill 000``..., rows in a fixed shuffled
order) straight into ``Validator.feed``, with no file, report or spill, each index in its own
child process. It prints the child's peak RSS (``ru_maxrss``), its growth over the baseline
before the first row, the index's own bytes per key and the CPU time per row.
It takes about 10 s per million rows and index on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

__all__ = ["main", "measure"]

LEVELS = ("elementary", "limitedWorking", "generalProfessional", "advancedProfessional", "expert")
# A prime: n -> n * _STEP mod rows visits every row number once, in a scattered order, without
# holding a shuffled list of millions of numbers (which would itself show in the peak).
_STEP = 2_654_435_761


def _rows(rows: int, users: int, keys: int, conflicting: bool) -> Iterator[Any]:
    from importer.records import SourceRow, Table

    table = Table(
        "skills.csv",
        "",
        ("user", "skill", "level", "category"),
        {"user": 0, "displayName": 1, "proficiency": 2, "categories": 3},
    )
    for line in range(rows):
        n = (line * _STEP + 12_345) % rows % keys
        user = n % users
        level = LEVELS[((line ^ line >> 3) if conflicting else n) % 5]
        cells = (f"user{user:06d}@contoso.com", f"Skill {n // users:03d}", level, "Work")
        yield SourceRow(table, line + 2, cells)


def _index_bytes(first: Any) -> int:
    """The bytes the index holds: the arrays of a CompactMap, or a dict with its int objects."""
    if hasattr(first, "nbytes"):
        return int(first.nbytes())
    return sys.getsizeof(first) + sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in first.items())


def measure(
    index: str, rows: int, users: int, keys: int, policy: str = "error", conflicting: bool = False
) -> dict[str, Any]:
    """Validate ``rows`` generated rows in this process with the ``index`` kind; the figures.

    ``keys`` below ``rows`` makes repeats: row n has the key of row n % keys, with the same
    values, or with ``conflicting`` a level of its own (four repeats in five conflict).
    """
    from importer.config import Settings
    from importer.validate import Validator

    settings = Settings.model_validate({"input": {"duplicates": policy}})
    validator = Validator(settings, compact=index == "compact")
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()
    deque(validator.feed(_rows(rows, users, keys, conflicting)), maxlen=0)
    corrections = sum(1 for _ in validator.corrections())  # streamed, as run does
    cpu = time.process_time() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    first = validator.duplicate_state().first
    return {
        "index": index,
        "rows": rows,
        "users": users,
        "keys": len(first),
        "corrections": corrections,
        "peak_rss_mb": round(peak / 1024),
        "growth_mb": round((peak - baseline) / 1024),
        "index_bytes_per_key": round(_index_bytes(first) / max(len(first), 1), 1),
        "cpu_us_per_row": round(cpu / rows * 1e6, 2),
    }


def main(argv: list[str] | None = None) -> None:
    """Measure each index in a child process of its own and print one line per index."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--keys", type=int, help="distinct (user, skill) keys (default: --rows)")
    parser.add_argument("--duplicates", default="error", help="input.duplicates policy")
    parser.add_argument("--conflicting", action="store_true", help="repeats with other levels")
    parser.add_argument("--index", choices=("dict", "compact", "both"), default="both")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    keys = args.keys or args.rows
    if args.child:
        print(
            json.dumps(
                measure(args.index, args.rows, args.users, keys, args.duplicates, args.conflicting)
            ),
            flush=True,
        )
        return
    for index in ("dict", "compact") if args.index == "both" else (args.index,):
        command = [sys.executable, "-m", "bench.bench_validate_memory", "--child"]
        command += ["--rows", str(args.rows), "--users", str(args.users), "--index", index]
        command += ["--keys", str(keys), "--duplicates", args.duplicates]
        command += ["--conflicting"] if args.conflicting else []
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        figures = json.loads(out)
        print(
            f"{index:>7} index, {figures['rows']:,} rows / {figures['users']:,} users: "
            f"peak RSS {figures['peak_rss_mb']} MB (+{figures['growth_mb']} MB while "
            f"validating), index {figures['index_bytes_per_key']} bytes/key over "
            f"{figures['keys']:,} keys, {figures['cpu_us_per_row']} µs CPU/row",
            flush=True,
        )


if __name__ == "__main__":
    main()
