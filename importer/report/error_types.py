"""Error types of a run, counted, each with one example row: for summary.json, the Summary
sheet of results.xlsx and the notification.

An HR admin facing 3,000 rejected rows first wants to know that 2,900 are one mistake
(``invalid-enum``: "Guru" is not a level) and where to see one. Only the first example of
each type is kept. Rows may be corrected later (conflicting duplicates found at the end of
validation), so the tally keeps each row's error type as one byte per row number of its
table, like the report keeps each row's action: a correction moves the row from its old
type to its new one, and memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from importer.records import RowOutcome

__all__ = ["ErrorTally", "ErrorTallyPart"]

_EXAMPLE_CHARS = 300
_MAX_TYPES = 255  # codes are bytes; more kinds than this share the last code's count


def _where(outcome: RowOutcome) -> str:
    place = outcome.source or "(sync delete)"
    if outcome.sheet:
        place += f" [{outcome.sheet}]"
    if outcome.row:
        place += f" row {outcome.row}"
    if outcome.column:
        place += f" column {outcome.column}"
    return place


def _example(outcome: RowOutcome) -> str:
    text = f"{_where(outcome)}: {outcome.error}"
    return text if len(text) <= _EXAMPLE_CHARS else text[: _EXAMPLE_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class ErrorTallyPart:
    """What another process's tally holds for one table, to merge with ``ErrorTally.absorb``."""

    names: tuple[str, ...]
    rows: bytes
    counts: dict[str, int]
    examples: dict[str, str]


class ErrorTally:
    """Rows per error type, and the first row of each type as an example."""

    def __init__(self) -> None:
        self._names: list[str] = [""]
        self._codes: dict[str, int] = {"": 0}
        self._counts: list[int] = [0]
        self._examples: dict[str, str] = {}
        self._rows: dict[tuple[str, str], bytearray] = {}

    def _code(self, kind: str) -> int:
        code = self._codes.get(kind)
        if code is None:
            code = min(len(self._names), _MAX_TYPES)
            if code == len(self._names):
                self._names.append(kind)
                self._counts.append(0)
            self._codes[kind] = code
        return code

    def note(self, outcome: RowOutcome) -> None:
        """Count a new row's error type (rows without one are not counted)."""
        if outcome.error_type:
            self._set(outcome, replace=False)

    def replace(self, outcome: RowOutcome) -> None:
        """A row's outcome changed: its old error type loses it, its new one gains it."""
        self._set(outcome, replace=True)

    def _set(self, outcome: RowOutcome, *, replace: bool) -> None:
        code = self._code(outcome.error_type) if outcome.error_type else 0
        if outcome.row > 0:
            rows = self._rows.setdefault((outcome.source, outcome.sheet), bytearray())
            if outcome.row >= len(rows):
                rows.extend(bytes(max(outcome.row + 1 - len(rows), len(rows))))
            if replace and rows[outcome.row]:
                self._counts[rows[outcome.row]] -= 1
            rows[outcome.row] = code
        if code:
            self._counts[code] += 1
            self._examples.setdefault(outcome.error_type, _example(outcome))

    def part(self, source: str, sheet: str) -> ErrorTallyPart:
        """This tally's state for one table (the forked validator sends it to the parent)."""
        counts = {name: self._counts[code] for code, name in enumerate(self._names) if code}
        return ErrorTallyPart(
            tuple(self._names),
            bytes(self._rows.get((source, sheet), b"")),
            counts,
            dict(self._examples),
        )

    def absorb(self, source: str, sheet: str, part: ErrorTallyPart) -> None:
        """Add a later part of one table, tallied by another process (rows after ours)."""
        remap = [self._code(name) if name else 0 for name in part.names]
        rows = self._rows.setdefault((source, sheet), bytearray())
        if len(rows) < len(part.rows):
            rows.extend(bytes(len(part.rows) - len(rows)))
        for number, code in enumerate(part.rows):
            if code:
                rows[number] = remap[code]
        for name, count in part.counts.items():
            self._counts[self._code(name)] += count
            if name in part.examples:
                self._examples.setdefault(name, part.examples[name])

    def table(self) -> list[dict[str, Any]]:
        """Every error type with rows, most rows first: ``{"type", "rows", "example"}``."""
        kinds: Iterable[tuple[str, int]] = (
            (name, self._counts[code]) for code, name in enumerate(self._names) if code
        )
        return [
            {"type": kind, "rows": count, "example": self._examples.get(kind, "")}
            for kind, count in sorted(kinds, key=lambda item: (-item[1], item[0]))
            if count > 0
        ]
