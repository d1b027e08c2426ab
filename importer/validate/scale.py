"""Levels beyond the numeric scale: a typo in one row, or a column on another scale?

A 1-10 file read against the 1-5 scale would import 5/10 as expert: a column whose numbers
look like another scale is an input error for the whole source, before anything is sent. A
lone typo (one ``9`` among hundreds of 1-5 levels) is not: that row is ``invalid`` (naming
the value and the scale) and the rest of the night's import goes ahead.

A table "looks like another scale" when more than ``FEW_CELLS`` of its level cells are beyond
the scale, or more than ``SHARE`` of them (so one ``9`` among 300 levels is a typo, one among
20 is not: a short file gives nothing to compare a stray number with). The level cells of a
table are those of its level column, or of all its skill columns for a skills matrix: one
sheet uses one scale. ``ScaleWatch`` counts them, and per level column the cells beyond the
scale; the validator feeds it, and two processes validating halves of one file merge their
counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from importer.errors import InputError
from importer.vocabulary import as_number

__all__ = ["FEW_CELLS", "SHARE", "ColumnKey", "ScaleState", "ScaleWatch"]

#: More cells than this beyond the scale refuse the source, whatever their share.
FEW_CELLS = 3
#: More than this share of a table's level cells beyond the scale refuses the source.
SHARE = 0.01
#: Distinct values kept per column for the message.
_SHOWN_VALUES = 50

#: (source, sheet, column header) of one level column.
ColumnKey = tuple[str, str, str]
#: (source, sheet) of one table.
TableKey = tuple[str, str]


@dataclass(slots=True)
class _Beyond:
    """The cells of one level column beyond the scale: first row, values, how many."""

    first: int
    values: set[str] = field(default_factory=set)
    cells: int = 0


#: What one process saw, to merge with another's: (beyond per column, level cells per table).
ScaleState = tuple[dict[ColumnKey, _Beyond], dict[TableKey, int]]


class ScaleWatch:
    """Counts level cells and the cells beyond the numeric scale, per level column.

    Args:
        scale: the configured scale in words (``1-5``), for messages.
    """

    def __init__(self, scale: str) -> None:
        self._scale = scale
        self._beyond: dict[ColumnKey, _Beyond] = {}
        self._levels: dict[TableKey, int] = {}

    def add_levels(self, key: TableKey, cells: int) -> None:
        """Count ``cells`` more filled level cells in the table ``key``."""
        if cells:
            self._levels[key] = self._levels.get(key, 0) + cells

    def note(self, key: ColumnKey, row: int, value: str) -> None:
        """One cell of the column ``key``, on ``row``, is beyond the scale."""
        seen = self._beyond.get(key)
        if seen is None:
            seen = self._beyond[key] = _Beyond(row)
        seen.cells += 1
        if len(seen.values) < _SHOWN_VALUES:
            seen.values.add(value.strip())

    def state(self) -> ScaleState:
        """The counts so far, to merge with another part of the same table (``merge``)."""
        return dict(self._beyond), dict(self._levels)

    def merge(self, other: ScaleState) -> None:
        """Add another part's counts (that part's rows come after this one's)."""
        beyond, levels = other
        for key, theirs in beyond.items():
            mine = self._beyond.get(key)
            if mine is None:
                self._beyond[key] = theirs
            else:
                mine.cells += theirs.cells
                mine.values |= theirs.values
        for table, cells in levels.items():
            self.add_levels(table, cells)

    def another_scale(self, key: TableKey) -> bool:
        """Whether the table ``key`` looks like a table on another scale (not a typo)."""
        beyond = sum(seen.cells for column, seen in self._beyond.items() if column[:2] == key)
        return beyond > FEW_CELLS or beyond > SHARE * self._levels.get(key, 0)

    def error(self) -> InputError | None:
        """The whole-source error for the tables that look like another scale, or None.

        Call it once every row is validated, before anything is sent. Tables with only a
        typo or three are left to their rows' ``invalid`` outcomes.
        """
        refused = sorted({key[:2] for key in self._beyond if self.another_scale(key[:2])})
        if not refused:
            return None
        parts = []
        for table in refused:
            columns = [(key[2], seen) for key, seen in self._beyond.items() if key[:2] == table]
            beyond = sum(seen.cells for _, seen in columns)
            levels = max(self._levels.get(table, 0), beyond)
            for column, seen in columns:
                numbers = sorted(seen.values, key=lambda v: (as_number(v) or 0.0, v))
                parts.append(
                    f"column '{column}' holds {', '.join(numbers)} (first on row {seen.first})"
                )
            parts[-1] += f", {beyond:,} of {levels:,} levels"
        source, sheet = refused[0]
        return InputError(
            f"levels beyond the numeric scale configured ({self._scale}): {'; '.join(parts)}. "
            f"Nothing was sent. If the file uses another scale, define it under "
            f'values.proficiency (numbers or ranges such as "1-2": elementary)',
            path=source,
            sheet=sheet if len(refused) == 1 else "",
        )
