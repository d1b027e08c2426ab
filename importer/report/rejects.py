"""rejects.csv: the original columns of invalid and failed rows, plus ``error``.

An HR admin fixes the cells and feeds the file back. Rows from tables with different headers
share one file: its columns are the union of their headers in first-seen order, where two
header cells are the same column when they match as headers do (``header_key``: case, spaces
and punctuation ignored). A column of
the input that is itself called ``error`` (a rejects file fed back) is replaced, not repeated.
Rows without original cells (a skill deleted by sync) are left to results.csv. Rows made by
the matrix and list layouts (several skills from one person's row) give that row back once,
after the others, its ``error`` naming each bad cell ("cell D5: ...; cell F5: ...").
"""

from __future__ import annotations

import csv
from array import array
from collections.abc import Callable, Collection, Iterable
from dataclasses import replace
from pathlib import Path
from typing import IO

from importer.records import RowOutcome, header_key
from importer.report.csv_files import (
    FORMULA_PREFIXES,
    REJECT_ACTIONS,
    neutralise,
    open_csv,
)

__all__ = ["RejectsCsv"]

_ERROR_COLUMN = "error"


class RejectsCsv:
    """Streams rejects.csv; rewrites it at ``finish`` only when it has to.

    A rewrite happens when a later table added columns after the header line was written, or
    when corrections replaced rows already written. Per written row it keeps 8 bytes (table
    number and row number) so corrected rows can be found again: memory stays bounded.

    Args:
        path: where rejects.csv goes.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._error_key = header_key(_ERROR_COLUMN)
        self._columns: list[str] = []
        self._identity: list[int] = []
        self._columns_by_key: dict[str, list[int]] = {}
        self._mappings: dict[tuple[str, ...], list[int]] = {}
        self._last_header: tuple[str, ...] | None = None
        self._last_mapping: list[int] = []
        self._last_table = 0
        self._last_direct = True
        self._tables: dict[tuple[str, str], int] = {}
        self._table_names: list[tuple[str, str]] = []
        self._line_tables = array("I")
        self._line_rows = array("I")
        self._written_width = -1
        self._template: tuple[str, ...] | None = None
        self._file: IO[str] | None = None
        self._writerow: Callable[[list[str]], object] | None = None
        self.rows = 0
        self._produced: dict[tuple[str, str, int], RowOutcome] = {}

    def note_header(self, header: tuple[str, ...]) -> None:
        """Remember the first header seen, for the header line of an empty rejects.csv."""
        if self._template is None and header:
            self._template = header

    def add(self, outcome: RowOutcome) -> None:
        """Write one invalid or failed row: its original cells plus ``error``.

        Outcomes without original cells (a skill deleted by sync) have nothing to feed back
        and are left to results.csv.
        """
        header = outcome.header
        if not header:
            return
        if outcome.column:
            self._merge(outcome)
            return
        self._write(outcome)

    def _merge(self, outcome: RowOutcome) -> None:
        # A row made by the matrix or list layout: its person's original row is given back
        # once, at the end, with an error naming each bad cell.
        key = (outcome.source, outcome.sheet, outcome.row)
        note = f"cell {outcome.column}{outcome.row}: {outcome.error or outcome.error_type}"
        merged = self._produced.get(key)
        if merged is None:
            self._produced[key] = replace(outcome, error=note)
        else:
            self._produced[key] = replace(merged, error=f"{merged.error}; {note}")

    def _write_produced(self) -> None:
        produced, self._produced = self._produced, {}
        for outcome in produced.values():
            self._write(outcome)

    def _write(self, outcome: RowOutcome) -> None:
        header = outcome.header
        if header is not self._last_header:
            self._last_mapping = self._mapping_for(header)
            self._last_direct = self._is_direct(self._last_mapping)
            self._last_header = header
            table = (outcome.source, outcome.sheet)
            number = self._tables.get(table)
            if number is None:
                number = self._tables[table] = len(self._table_names)
                self._table_names.append(table)
            self._last_table = number
        elif outcome.source != self._table_names[self._last_table][0] or (
            outcome.sheet != self._table_names[self._last_table][1]
        ):
            self._last_header = None
            self._write(outcome)
            return
        if self._writerow is None:
            self._open()
        assert self._writerow is not None
        self._writerow(self._line(self._last_mapping, outcome, self._last_direct))
        self._line_tables.append(self._last_table)
        self._line_rows.append(max(outcome.row, 0))
        self.rows += 1

    def finish(
        self,
        removed: Collection[tuple[str, str, int]],
        fixes: Iterable[RowOutcome],
        in_place: Iterable[RowOutcome] = (),
    ) -> None:
        """Apply corrections, fix the header if columns were added, and close the file.

        Args:
            removed: (source, sheet, row) of rows written earlier that a correction replaced.
            fixes: corrected outcomes; those that are rejects are appended.
            in_place: corrected outcomes; those that are rejects go where their row number
                puts them among the written rows of their table (written in row order).
        """
        fixes = [o for o in fixes if o.action in REJECT_ACTIONS and o.header]
        placed = [o for o in in_place if o.action in REJECT_ACTIONS and o.header]
        for outcome in (*placed, *fixes):
            if outcome.column:
                self._merge(outcome)
        fixes = [o for o in fixes if not o.column]
        placed = [o for o in placed if not o.column]
        self._write_produced()
        for outcome in (*placed, *fixes):
            self._mapping_for(outcome.header)
        if self._writerow is None:
            self._open()
        if not removed and not placed and self._written_width == len(self._columns):
            for outcome in fixes:
                self.add(outcome)
            self._close_file()
            return
        self._close_file()
        self._rewrite(removed, fixes, placed)

    def close(self) -> None:
        """Flush and close the file (idempotent); used on abnormal exit."""
        self._close_file()

    def _open(self) -> None:
        if not self._columns and self._template is not None:
            self._mapping_for(self._template)
        self._file = open_csv(self.path, "w")
        writer = csv.writer(self._file)
        writer.writerow(self._header_line())
        self._written_width = len(self._columns)
        self._writerow = writer.writerow

    def _header_line(self) -> list[str]:
        # Header cells come from the input too: a column headed "=HYPERLINK(...)" is a formula.
        return [*map(neutralise, self._columns), _ERROR_COLUMN]

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _mapping_for(self, header: tuple[str, ...]) -> list[int]:
        mapping = self._mappings.get(header)
        if mapping is not None:
            return mapping
        mapping = []
        used: set[int] = set()
        for name in header:
            key = header_key(name)
            if key == self._error_key:
                mapping.append(-1)
                continue
            candidates = self._columns_by_key.setdefault(key, [])
            index = next((i for i in candidates if i not in used), None)
            if index is None:
                index = len(self._columns)
                self._columns.append(name)
                self._identity.append(index)
                candidates.append(index)
            used.add(index)
            mapping.append(index)
        self._mappings[header] = mapping
        return mapping

    def _is_direct(self, mapping: list[int]) -> bool:
        return mapping == self._identity[: len(mapping)]

    def _line(self, mapping: list[int], outcome: RowOutcome, direct: bool) -> list[str]:
        width = len(self._columns)
        cells = outcome.cells
        if direct:
            # The usual case (one header, nothing dropped): the cells in their own order.
            line = [
                "'" + cell if cell[:1] in FORMULA_PREFIXES else cell
                for cell in cells[: len(mapping)]
            ]
            line.extend([""] * (width - len(line)))
        else:
            line = [""] * width
            for index, cell in zip(mapping, cells, strict=False):
                if index >= 0:
                    line[index] = neutralise(cell)
        line.append(neutralise(outcome.error or outcome.error_type))
        return line

    def _rewrite(
        self,
        removed: Collection[tuple[str, str, int]],
        fixes: list[RowOutcome],
        placed: list[RowOutcome],
    ) -> None:
        width = len(self._columns)
        unknown = len(self._table_names)  # a table with no written row sorts after the others

        def position(outcome: RowOutcome) -> tuple[int, int]:
            return self._tables.get((outcome.source, outcome.sheet), unknown), outcome.row

        placed = sorted(placed, key=position)
        next_placed = 0
        temporary = self.path.with_name(self.path.name + ".tmp")
        with open_csv(self.path) as src, open_csv(temporary, "w") as dst:
            reader = csv.reader(src)
            writer = csv.writer(dst)
            next(reader, None)
            writer.writerow(self._header_line())
            kept = 0
            for number, line in enumerate(reader):
                table, row = self._line_tables[number], self._line_rows[number]
                while next_placed < len(placed) and position(placed[next_placed]) < (table, row):
                    writer.writerow(self._placed_line(placed[next_placed]))
                    next_placed += 1
                source, sheet = self._table_names[table]
                if (source, sheet, row) in removed:
                    continue
                cells, error = line[:-1], line[-1]
                writer.writerow([*cells, *[""] * (width - len(cells)), error])
                kept += 1
            for outcome in placed[next_placed:]:
                writer.writerow(self._placed_line(outcome))
            for outcome in fixes:
                writer.writerow(self._placed_line(outcome))
        temporary.replace(self.path)
        self.rows = kept + len(placed) + len(fixes)

    def _placed_line(self, outcome: RowOutcome) -> list[str]:
        mapping = self._mappings[outcome.header]
        return self._line(mapping, outcome, self._is_direct(mapping))
