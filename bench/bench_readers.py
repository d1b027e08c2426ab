"""Benchmark: the workbook reader, calamine against openpyxl, on the same 100,000-row xlsx.

Run: ``.venv/bin/python -m bench.bench_readers [--rows N] [--repeat N]``.

Times reading every cell of every row as Python values, nothing else: what the choice of
reader changes. calamine is what the importer uses; openpyxl (read-only, values only) is what
it used before and still writes results.xlsx.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import openpyxl
import python_calamine

from bench.gen_data import write_xlsx

__all__ = ["main", "read_calamine", "read_openpyxl"]

DATA = Path(__file__).resolve().parent / "data"


def read_openpyxl(path: Path) -> int:
    """Rows read with openpyxl's read-only mode."""
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return sum(1 for sheet in workbook.worksheets for _ in sheet.iter_rows(values_only=True))
    finally:
        workbook.close()


def read_calamine(path: Path) -> int:
    """Rows read with python-calamine."""
    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        return sum(
            1 for name in workbook.sheet_names for _ in workbook.get_sheet_by_name(name).iter_rows()
        )
    finally:
        workbook.close()


def main(argv: list[str] | None = None) -> None:
    """Time both readers; print the best of ``--repeat`` runs each."""
    parser = argparse.ArgumentParser(description="workbook reader benchmark")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    path = DATA / f"skills_{args.rows}.xlsx"
    if not path.exists():
        write_xlsx(path, args.rows)
    for name, read in (("openpyxl", read_openpyxl), ("calamine", read_calamine)):
        times, cpu = [], []
        for _ in range(args.repeat):
            started, used = time.perf_counter(), time.process_time()
            rows = read(path)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - used)
        # CPU time next to wall time: on a shared machine the wall time also counts waiting.
        print(
            f"{name:9} {rows:,} rows  best {min(times):.2f} s wall, {min(cpu):.2f} s CPU  (runs: "
            f"{', '.join(f'{t:.2f}' for t in times)})"
        )


if __name__ == "__main__":
    main()
