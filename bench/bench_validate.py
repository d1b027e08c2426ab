"""Benchmark: ``skills-import validate`` on a 1,000,000-row CSV and a 100,000-row workbook.

Run: ``.venv/bin/python -m bench.bench_validate [--csv-rows N] [--xlsx-rows N]
[--matrix PEOPLE SKILLS] [--engine-only]``.

Inputs are generated into ``bench/data/`` (git-ignored) on first use. Each measurement runs
in its own child process: wall seconds from start to exit, peak RSS from that child's
rusage. ``--engine-only`` times ``InputReader`` + ``Validator`` alone (no report), which is
the part this benchmark's owner can tune; without it the full CLI command is timed.
Targets (the project's, on 2 cores; listed in BENCHMARKS.md): 1M-row CSV <= 6 s with peak
RSS <= 400 MB; 100k-row xlsx <= 3 s; a 10,000-people by 40-skills matrix (time reported).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.gen_data import write_csv, write_xlsx
from bench.gen_matrix import write_matrix

__all__ = ["engine", "main", "measure"]

DATA = Path(__file__).resolve().parent / "data"


def engine(paths: list[Path]) -> None:
    """Read and validate ``paths`` with the library alone; print a one-line tally."""
    from importer.config import Settings
    from importer.read.reader import InputReader
    from importer.records import SkillRow
    from importer.shape import Shaper
    from importer.validate.validator import Validator

    settings = Settings()
    reader = InputReader(paths, settings)
    validator = Validator(settings)
    valid = other = 0
    for item in validator.feed(Shaper(settings).shape(reader.rows())):
        if type(item) is SkillRow:
            valid += 1
        else:
            other += 1
    corrections = len(validator.finish())
    print(f"valid={valid} other={other} corrections={corrections} blank={reader.blank_rows}")


def measure(command: list[str]) -> tuple[float, float, int]:
    """Run ``command``; return (wall seconds, peak RSS in MB, exit code)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, process.returncode


def _input(name: str, rows: int) -> Path:
    path = DATA / name
    if not path.exists():
        print(f"generating {path} ({rows:,} rows)...", flush=True)
        (write_xlsx if path.suffix == ".xlsx" else write_csv)(path, rows)
    return path


def _matrix(people: int, skills: int) -> Path:
    path = DATA / f"matrix_{people}x{skills}.xlsx"
    if not path.exists():
        print(f"generating {path} ({people:,} people x {skills} skills)...", flush=True)
        write_matrix(path, people, skills)
    return path


def main(argv: list[str] | None = None) -> None:
    """Generate the inputs if needed, then time each one."""
    parser = argparse.ArgumentParser(description="validate benchmark")
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--matrix", nargs=2, type=int, default=[10_000, 40])
    parser.add_argument("--engine-only", action="store_true")
    parser.add_argument("--engine", nargs="+", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.engine:
        engine(args.engine)
        return
    inputs = [
        (_input(f"skills_{args.csv_rows}.csv", args.csv_rows), 6.0),
        (_input(f"skills_{args.xlsx_rows}.xlsx", args.xlsx_rows), 3.0),
        (_matrix(*args.matrix), float("inf")),
    ]
    for path, target in inputs:
        with tempfile.TemporaryDirectory() as reports:
            if args.engine_only:
                what = "engine (reader+validator)"
                command = [sys.executable, "-m", "bench.bench_validate", "--engine", str(path)]
            else:
                what = "skills-import validate"
                command = [
                    sys.executable, "-m", "importer", "validate", str(path),
                    "--report-dir", reports, "--quiet",
                ]  # fmt: skip
            wall, rss, code = measure(command)
        verdict = "ok" if wall <= target and rss <= 400 else "OVER TARGET"
        goal = f"target {target:.0f} s, 400 MB" if target != float("inf") else "reported, 400 MB"
        print(
            f"{what:26} {path.name:22} {wall:6.2f} s  peak RSS {rss:6.0f} MB  "
            f"exit {code}  ({goal}: {verdict})"
        )


if __name__ == "__main__":
    main()
