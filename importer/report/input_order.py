"""results.csv in input order: a run's outcomes arrive person by person, the report lists rows
as they were read.

A run reports invalid and duplicate rows while it reads, the others as Graph answers, one
person's rows at a time. At the end, results.csv is rewritten ordered by input table (in the
order the tables were read), then by row number; the lines of one input row (matrix and list
layouts) keep the order they came in. Lines of tables the order does not name, and lines
without a row number (skills sync deleted), come after, in the order they came.

Memory stays bounded for millions of rows: the lines are sorted in runs of ``RUN_RECORDS``,
each run written to a temporary file beside results.csv, and the runs merged
(``heapq.merge``); a report of one run is sorted in memory. A hand-written external sort
rather than a SQLite table: the records are already text, a run is one ``list.sort``, and the
merge reads each run once in order, with no index to build.
"""

from __future__ import annotations

import csv
import heapq
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from importer.report.csv_files import csv_records, open_csv, shown

__all__ = ["RUN_RECORDS", "order_results"]

#: Lines sorted in memory at a time (about 60 MB for lines of a typical run).
RUN_RECORDS = 200_000

#: A key is one integer, (table, row, arrival) in bit fields: one comparison instead of three.
_ROW_SHIFT = 42
_TABLE_SHIFT = 84
#: A line without a row number sorts after the rows of its table.
_NO_ROW = (1 << 42) - 1


def order_results(path: Path, tables: Sequence[tuple[str, str]]) -> bool:
    """Rewrite results.csv in input order; False when it was in that order already.

    Args:
        path: results.csv.
        tables: (source, sheet) of each table read, in the order read.

    Raises:
        OSError: the file cannot be read or rewritten; results.csv is then as it was.
    """
    rank: dict[tuple[str, str], int] = {}
    for source, sheet in tables:
        rank.setdefault((shown(source), shown(sheet)), len(rank))
    with (
        open_csv(path) as src,
        tempfile.TemporaryDirectory(prefix=".order-", dir=path.parent) as scratch,
    ):
        records = csv_records(src)
        header = next(records, None)
        if header is None:
            return False
        runs: list[Path] = []
        chunk: list[tuple[int, str]] = []
        ordered, last = True, -1
        where, table = ("", ""), -1
        for seq, record in enumerate(records):
            # Quotes only where a cell needs them: most lines split on their commas.
            if '"' in record:
                source, sheet, row = [*next(csv.reader([record]), []), "", "", ""][:3]
            else:
                source, sheet, row, _rest = record.split(",", 3)
            if (source, sheet) != where:
                where = (source, sheet)
                table = rank.setdefault(where, len(rank))
            number = int(row) if row.isdigit() else _NO_ROW
            key = (table << _TABLE_SHIFT) | (number << _ROW_SHIFT) | seq
            ordered = ordered and key > last
            last = key
            chunk.append((key, record))
            if len(chunk) >= RUN_RECORDS:
                runs.append(_write_run(chunk, Path(scratch) / f"run-{len(runs)}"))
                chunk = []
        if ordered:
            return False
        chunk.sort()
        merged = heapq.merge(*(_read_run(run) for run in runs), chunk) if runs else chunk
        temporary = path.with_name(path.name + ".tmp")
        with open_csv(temporary, "w") as dst:
            dst.write(header)
            for _key, record in merged:
                dst.write(record)
    temporary.replace(path)
    return True


def _write_run(chunk: list[tuple[int, str]], path: Path) -> Path:
    """One sorted run: each record preceded by a line with its key and its length."""
    chunk.sort()
    with path.open("w", encoding="utf-8", newline="", errors="surrogateescape") as run:
        for key, record in chunk:
            run.write(f"{key} {len(record)}\n{record}")
    return path


def _read_run(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", newline="", errors="surrogateescape") as run:
        while header := run.readline():
            key, size = header.split()
            yield int(key), run.read(int(size))
