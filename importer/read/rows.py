"""Rows handed in by a migration script: dictionaries, or a pandas DataFrame, read like a table.

``RowsInput`` wraps what the script has; ``InputReader`` turns it into a ``RowsSource`` with the
same interface as a file: the keys of the first dictionary (or the DataFrame's columns) are the
header and go through the same header matching, values become the text a user would see
(``None`` and NaN are empty, ``4.0`` is ``"4"``), and ``row`` is the 1-based position.

pandas is not imported here: a DataFrame is recognised by its ``columns`` and ``itertuples``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import chain
from typing import Any

from importer.errors import InputError
from importer.read.database import value_text
from importer.read.headers import HeaderMatcher
from importer.records import SourceRow, Table

__all__ = ["RowsInput", "RowsSource"]


@dataclass(frozen=True, slots=True)
class RowsInput:
    """Rows from a script, as a SOURCE.

    Attributes:
        rows: an iterable of mappings (column name -> value), or a pandas DataFrame.
        name: what reports show as ``source`` (e.g. the legacy system's name).
    """

    rows: Iterable[Mapping[str, Any]] | Any
    name: str = "rows"


def _is_data_frame(rows: Any) -> bool:
    return hasattr(rows, "columns") and hasattr(rows, "itertuples")


class RowsSource:
    """One ``RowsInput``, its header checked when opened, then streamed.

    A DataFrame can be read again (``lookup_cells`` re-reads corrected rows for rejects.csv);
    a one-shot iterator cannot, so such rows appear in rejects.csv without their cells.

    Raises:
        InputError: no rows, no user or skill column, or a later row with a column the
            first one did not have.
    """

    def __init__(self, given: RowsInput, matcher: HeaderMatcher) -> None:
        self.display = given.name
        self.sha256 = ""
        frame: Any = given.rows if _is_data_frame(given.rows) else None
        self._frame = frame
        self._keys: tuple[Any, ...] = ()
        if frame is not None:
            header = tuple(str(column) for column in frame.columns)
            if len(frame) == 0:
                raise InputError("the DataFrame has no rows", path=self.display)
            self._pending: Iterator[Mapping[str, Any]] | None = None
        else:
            iterator = iter(given.rows)
            first = next(iterator, None)
            if first is None:
                raise InputError("no rows were given", path=self.display)
            if not isinstance(first, Mapping):
                raise InputError(
                    f"rows must be mappings of column name to value, not {type(first).__name__}",
                    path=self.display,
                )
            self._keys = tuple(first)
            header = tuple(str(key) for key in self._keys)
            self._pending = chain([first], iterator)
        match = matcher.find([header], path=self.display)
        self.table = Table(self.display, "", match.header, match.mapping, match.ignored, 0)
        self.rows = 0
        self.blank_rows = 0

    def _values(self) -> Iterator[tuple[Any, ...]]:
        if self._frame is not None:
            yield from self._frame.itertuples(index=False, name=None)
            return
        pending, self._pending = self._pending, None
        if pending is None:
            return  # an iterator is read once
        keys = self._keys
        known = set(keys)
        for number, mapping in enumerate(pending, start=1):
            if len(mapping) > len(keys) or not known.issuperset(mapping):
                extra = ", ".join(repr(str(k)) for k in mapping if k not in known)
                raise InputError(
                    f"row {number} has column(s) {extra} that the first row does not have",
                    path=self.display,
                )
            yield tuple(mapping.get(key) for key in keys)

    def iter_rows(self) -> Iterator[SourceRow]:
        """Stream the non-blank rows; counts ``rows`` and ``blank_rows`` as it goes."""
        table = self.table
        rows = blank = 0
        try:
            for number, values in enumerate(self._values(), start=1):
                cells = tuple(map(value_text, values))
                if not "".join(cells).strip():
                    blank += 1
                    continue
                rows += 1
                yield SourceRow(table, number, cells)
        finally:
            self.rows, self.blank_rows = rows, blank
