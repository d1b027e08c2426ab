"""Header recognition: which column holds which canonical field.

A header cell matches a field when it equals one of the field's aliases ignoring case,
spaces, ``_``, ``-`` and punctuation ("Employee E-Mail" = "employee email"). Built-in
aliases always apply; ``columns:`` in the config adds more. The header is the first row,
among the first ``HEADER_SEARCH_ROWS``, that maps both ``user`` and ``displayName``: title
rows above it are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from importer.config import ColumnsSettings
from importer.errors import InputError
from importer.records import FIELDS

__all__ = [
    "BUILTIN_ALIASES",
    "HEADER_SEARCH_ROWS",
    "HeaderMatch",
    "HeaderMatcher",
    "header_key",
]

#: How many rows from the top of a sheet or file may hold the header.
HEADER_SEARCH_ROWS = 30

#: Built-in header aliases per canonical field: Graph's names plus common HR spellings.
BUILTIN_ALIASES: dict[str, tuple[str, ...]] = {
    "user": (
        "user",
        "userPrincipalName",
        "user principal name",
        "upn",
        "userId",
        "id",
        "object id",
        "email",
        "e-mail",
        "email address",
        "mail",
        "employee email",
        "employee e-mail",
        "employee email address",
        "employee upn",
    ),
    "displayName": ("displayName", "skill", "skill name", "skill display name"),
    "proficiency": (
        "proficiency",
        "level",
        "skill level",
        "proficiency level",
        "skill proficiency",
    ),
    "categories": ("category", "categories", "skill category", "skill categories"),
    "collaborationTags": ("tags", "tag", "collaboration tags", "collaboration tag"),
    "allowedAudiences": ("audience", "audiences", "allowed audiences", "visibility"),
    "webUrl": ("url", "link", "web url", "skill url", "skill link"),
}

_NOT_WORD = re.compile(r"[\W_]+")


def header_key(text: str) -> str:
    """Fold a header cell for matching: case, spaces, ``_``, ``-`` and punctuation ignored."""
    return _NOT_WORD.sub("", text).casefold()


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    """A recognised header row.

    Attributes:
        index: 0-based position of the header among the rows examined.
        header: the header cells as written (trimmed).
        mapping: canonical field -> column index.
        ignored: non-empty header cells that map to no field.
    """

    index: int
    header: tuple[str, ...]
    mapping: dict[str, int]
    ignored: tuple[str, ...]


class HeaderMatcher:
    """Recognises header rows using the built-in aliases plus the config's ``columns:``.

    Args:
        columns: the ``columns`` section of the settings; its aliases win over built-ins.
    """

    def __init__(self, columns: ColumnsSettings) -> None:
        self._alias_to_field: dict[str, str] = {}
        for field in FIELDS:
            for alias in BUILTIN_ALIASES[field]:
                self._alias_to_field[header_key(alias)] = field
        for field in FIELDS:
            extra: tuple[str, ...] = getattr(columns, field)
            for alias in extra:
                self._alias_to_field[header_key(alias)] = field
        self._aliases_by_field: dict[str, list[str]] = {field: [] for field in FIELDS}
        for field in FIELDS:
            names = (*BUILTIN_ALIASES[field], *getattr(columns, field))
            self._aliases_by_field[field] = list(dict.fromkeys(names))

    def field_of(self, cell: str) -> str | None:
        """The canonical field a header cell names, or None."""
        key = header_key(cell)
        return self._alias_to_field.get(key) if key else None

    def match_row(self, cells: Sequence[str]) -> dict[str, int] | None:
        """Map a candidate header row, or None if it lacks ``user`` or ``displayName``.

        Raises:
            ValueError: two cells map to the same field (the message names both).
        """
        mapping: dict[str, int] = {}
        for index, cell in enumerate(cells):
            field = self.field_of(cell)
            if field is None:
                continue
            if field in mapping:
                first = cells[mapping[field]].strip()
                raise ValueError(
                    f"columns '{first}' and '{cell.strip()}' both map to {field}; "
                    f"rename or remove one of them"
                )
            mapping[field] = index
        if "user" in mapping and "displayName" in mapping:
            return mapping
        return None

    def find(self, rows: Iterable[Sequence[str]], *, path: str, sheet: str = "") -> HeaderMatch:
        """Find the header among the first rows of a table.

        Raises:
            InputError: no row maps both ``user`` and ``displayName`` (the message lists the
                headers seen and the aliases accepted), or two columns map to one field.
        """
        first_seen: tuple[str, ...] = ()
        for index, row in enumerate(rows):
            if index >= HEADER_SEARCH_ROWS:
                break
            cells = tuple(cell.strip() for cell in row)
            if not first_seen and any(cells):
                first_seen = cells
            try:
                mapping = self.match_row(cells)
            except ValueError as exc:
                raise InputError(str(exc), path=path, sheet=sheet) from None
            if mapping is not None:
                ignored = tuple(
                    cell for i, cell in enumerate(cells) if cell and i not in mapping.values()
                )
                return HeaderMatch(index, cells, mapping, ignored)
        raise InputError(self.missing_header_message(first_seen), path=path, sheet=sheet)

    def missing_header_message(self, seen: Sequence[str]) -> str:
        """Explain a missing header: what was seen, what is accepted for the two required fields."""
        shown = ", ".join(f"'{c}'" for c in seen if c)[:300] or "nothing"
        accepted = "; ".join(
            f"{field}: {', '.join(self._aliases_by_field[field])}"
            for field in ("user", "displayName")
        )
        return (
            f"no header row with both a user and a displayName column (saw {shown}); "
            f"accepted headers are {accepted} (add more under 'columns:' in the config)"
        )
