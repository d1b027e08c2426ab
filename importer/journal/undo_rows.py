"""A journal as the undo's input rows: one row per entry, grouped by person, a chunk at a time.

The journal is read once to index where each person's entries are (byte offsets, 8 bytes an
entry); each chunk then reads its people's entries back from the file. Memory holds the index
and the chunks being planned and written, not the whole journal: the undo of a migration of a
million rows stays bounded like the run that wrote it.

Each row carries its journal line as its last cell, so the undo planner reads the entry from
the row itself (and rejects.csv of the undo shows the entry a failed row came from).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from importer.records import SkillRow, SourceRow, Table
from importer.validate.schema import parse_proficiency

__all__ = ["JournalRows", "entry_of_row", "row_for"]

_COLUMNS = ("action", "user", "skillId", "displayName", "entry")
_ACTIONS = frozenset({"create", "update", "delete"})


def _items(value: object) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list | tuple) else ()


def row_for(
    table: Table, line: int, raw: str, entry: Mapping[str, Any], values: Mapping[str, Any]
) -> SkillRow:
    """The undo's row for one journal entry, holding ``values`` (what it restores or removes)."""
    user = str(entry.get("userAsWritten") or entry.get("user", ""))
    name = str(entry.get("displayName", ""))
    cells = (str(entry.get("action", "")), user, str(entry.get("skillId", "")), name, raw)
    categories = values.get("categories")
    tags = values.get("collaborationTags")
    return SkillRow(
        SourceRow(table, line, cells),
        user,
        str(values.get("displayName") or name),
        parse_proficiency(values.get("proficiency")) or None,
        _items(categories) if categories is not None else None,
        _items(tags) if tags is not None else None,
        str(values["allowedAudiences"]) if values.get("allowedAudiences") else None,
        str(values["webUrl"]) if values.get("webUrl") else None,
        str(entry.get("user", "")),
    )


def entry_of_row(row: SkillRow) -> dict[str, Any]:
    """The journal entry a row was made from."""
    entry: dict[str, Any] = orjson.loads(row.source.cells[-1])
    return entry


class JournalRows:
    """``UserRows`` over a journal file: each person's entries, ``rows_per_chunk`` at a time.

    Args:
        path: the journal.
        rows_per_chunk: about how many entries a chunk holds (whole people).
    """

    def __init__(self, path: Path, rows_per_chunk: int) -> None:
        self.path = path
        self._rows_per_chunk = max(1, rows_per_chunk)
        self._table = Table(source=str(path), sheet="", header=_COLUMNS, mapping={})
        self._offsets: dict[str, array[int]] = {}
        self._rows = 0
        with path.open("rb") as handle:
            handle.readline()
            offset = handle.tell()
            for number, line in enumerate(handle, start=2):
                start, offset = offset, offset + len(line)
                user = _user_of(line)
                if user is not None:
                    self._offsets.setdefault(user, array("q")).extend((start, number))
                    self._rows += 1

    @property
    def rows(self) -> int:
        """Entries in all (a last line cut short by a kill is not one)."""
        return self._rows

    @property
    def users(self) -> int:
        """People with entries."""
        return len(self._offsets)

    def people(self) -> Iterator[str]:
        """The object id of each person with entries."""
        return iter(self._offsets)

    def chunks(self) -> Iterator[Mapping[str, Sequence[SkillRow]]]:
        """Whole people at a time, in the order they first appear in the journal."""
        with self.path.open("rb") as handle:
            chunk: dict[str, list[SkillRow]] = {}
            size = 0
            for user, places in self._offsets.items():
                chunk[user] = [
                    self._row_at(handle, places[i], places[i + 1]) for i in range(0, len(places), 2)
                ]
                size += len(places) // 2
                if size >= self._rows_per_chunk:
                    yield chunk
                    chunk, size = {}, 0
            if chunk:
                yield chunk

    def _row_at(self, handle: Any, start: int, line: int) -> SkillRow:
        handle.seek(start)
        raw = handle.readline()
        entry = orjson.loads(raw)
        values = entry.get("after") or entry.get("before") or {}
        return row_for(self._table, line, raw.decode("utf-8").rstrip("\n"), entry, values)


def _user_of(line: bytes) -> str | None:
    """The person of one journal line, or None for a line cut short or not an entry."""
    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(entry, dict) or entry.get("action") not in _ACTIONS:
        return None
    user = entry.get("user")
    return str(user) if user else None
