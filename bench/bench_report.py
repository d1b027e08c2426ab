"""Benchmark: seconds to add and finish 1,000,000 outcomes in a ReportWriter.

Run: ``.venv/bin/python -m bench.bench_report [--rows N] [--formats csv,json]``.
Outcomes look like a large ``validate``: 95% valid, 3% invalid (with a formula-like cell),
2% duplicate, from one table. Building the outcomes is not timed.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from importer.records import Action, RowOutcome
from importer.report import ReportWriter, RunSummary, new_run_id

__all__ = ["main", "make_outcomes"]

_HEADER = ("Employee Email", "Skill", "Level", "Category")


def make_outcomes(rows: int) -> Iterator[RowOutcome]:
    """Yield ``rows`` outcomes of one CSV table, in input order."""
    source = "skills.csv"
    for number in range(2, rows + 2):
        user = f"user{number // 5}@contoso.com"
        name = f"Skill {number % 5}"
        kind = number % 100
        if kind < 3:
            yield RowOutcome(
                source, "", number, user, "=HYPERLINK(\"x\")", Action.INVALID,
                error_type="invalid-enum", error="proficiency 'Guru' is not one of ...",
                header=_HEADER, cells=(user, "=HYPERLINK(\"x\")", "Guru", "IT"),
            )  # fmt: skip
        elif kind < 5:
            yield RowOutcome(source, "", number, user, name, Action.DUPLICATE, header=_HEADER,
                             cells=(user, name, "4", "IT"))  # fmt: skip
        else:
            yield RowOutcome(source, "", number, user, name, Action.VALID, header=_HEADER,
                             cells=(user, name, "4", "IT"))  # fmt: skip


def run(rows: int, formats: list[str]) -> tuple[float, float, float]:
    """Return (add seconds, finish seconds, total) for one report of ``rows`` outcomes."""
    outcomes = list(make_outcomes(rows))
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = datetime.now(UTC)
        run_id = new_run_id(root, started)
        t0 = time.perf_counter()
        writer = ReportWriter(root, formats, run_id)
        for outcome in outcomes:
            writer.add(outcome)
        t1 = time.perf_counter()
        summary = RunSummary(
            run_id=run_id, command="validate", started=started, finished=datetime.now(UTC),
            target="none (offline validation)", mode="", dry_run=True, inputs=[], blank_rows=0,
            http={}, exit_code=1, reason="bench",
        )  # fmt: skip
        writer.finish(summary)
        t2 = time.perf_counter()
    return t1 - t0, t2 - t1, t2 - t0


def main() -> None:
    """Parse arguments, run once, print the timings and peak RSS."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,json")
    args = parser.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    add_s, finish_s, total_s = run(args.rows, formats)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"rows={args.rows} formats={','.join(formats)} add={add_s:.2f}s "
        f"finish={finish_s:.2f}s total={total_s:.2f}s peak_rss={peak_mb:.0f}MB"
    )


if __name__ == "__main__":
    main()
