"""Header recognition: which column holds which canonical field.

A header cell matches a field when it equals one of the field's aliases ignoring case,
spaces, ``_``, ``-`` and punctuation ("Employee E-Mail" = "employee email"). Built-in
aliases apply unless ``columns.ignore`` names them; a name configured under ``columns:`` wins
over a built-in alias. The header is the first row, among the first ``HEADER_SEARCH_ROWS``,
that maps both ``user`` and ``displayName``: title rows above it are ignored.

The ``user`` column depends on ``input.user_key``: each key has its own aliases
(``USER_ALIASES``), and only that key's column is the user column. Columns that name another
kind of identity ("Work Email" when the key is employeeId) are ignored, and said so once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice

from importer.config import ColumnsSettings
from importer.errors import InputError
from importer.records import FIELDS, header_key

__all__ = [
    "BUILTIN_ALIASES",
    "HEADER_SEARCH_ROWS",
    "MAX_COLUMNS",
    "USER_ALIASES",
    "HeaderMatch",
    "HeaderMatcher",
    "header_key",
]

#: How many rows from the top of a sheet or file may hold the header.
HEADER_SEARCH_ROWS = 30

#: Widest table read: Excel's own limit (column XFD). A wider header is a wrong delimiter or a
#: file that is not a skills table, and reading it would cost minutes.
MAX_COLUMNS = 16_384

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
    # `skills`, `skill list` and `competencies` name the list column of the list layout.
    "displayName": (
        "displayName",
        "skill",
        "skill name",
        "skill display name",
        "skills",
        "skill list",
        "competencies",
    ),
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

#: The user column's aliases per ``input.user_key`` (``auto`` keeps the historic set, in which a
#: column of email addresses holds userPrincipalNames).
USER_ALIASES: dict[str, tuple[str, ...]] = {
    "auto": BUILTIN_ALIASES["user"],
    "id": ("user", "userId", "user id", "id", "object id", "objectId", "user object id"),
    "userPrincipalName": (
        "user",
        "userPrincipalName",
        "user principal name",
        "upn",
        "employee upn",
        "sign-in name",
    ),
    "mail": (
        "email",
        "e-mail",
        "mail",
        "work email",
        "work e-mail",
        "business email",
        "email address",
        "work email address",
        "employee email",
        "employee e-mail",
        "employee email address",
    ),
    "employeeId": (
        "employee id",
        "employeeId",
        "employee number",
        "employee no",
        "emp no",
        "emp id",
        "personnel number",
        "personnel no",
        "worker id",
    ),
}


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


def _parent(cells: Sequence[str], column: int) -> str:
    """The header cell over ``column``: its own, or the nearest one to its left (a merge)."""
    for index in range(min(column, len(cells) - 1), -1, -1):
        if cells[index]:
            return cells[index]
    return ""


def _match(index: int, cells: tuple[str, ...], mapping: dict[str, int]) -> HeaderMatch:
    ignored = tuple(cell for i, cell in enumerate(cells) if cell and i not in mapping.values())
    return HeaderMatch(index, cells, mapping, ignored)


class HeaderMatcher:
    """Recognises header rows using the built-in aliases plus the config's ``columns:``.

    Args:
        columns: the ``columns`` section of the settings; its aliases win over built-ins,
            and its ``ignore`` list switches built-in aliases off.
        user_key: ``input.user_key``: which aliases name the user column.
    """

    def __init__(
        self, columns: ColumnsSettings, user_key: str = "auto", *, user_only_header: bool = False
    ) -> None:
        #: True when a row that maps only ``user`` may be a header (a skills matrix).
        self.user_only_header = user_only_header
        self.user_key = user_key
        ignored = {header_key(name) for name in columns.ignore}
        builtin = {**BUILTIN_ALIASES, "user": USER_ALIASES[user_key]}
        self._alias_to_field: dict[str, str] = {}
        for field in FIELDS:
            for alias in builtin[field]:
                if header_key(alias) not in ignored:
                    self._alias_to_field[header_key(alias)] = field
        for field in FIELDS:
            extra: tuple[str, ...] = getattr(columns, field)
            for alias in extra:
                self._alias_to_field[header_key(alias)] = field
        # Other kinds of identity: ignored columns, but named as such in the log and in hints.
        self._identity: dict[str, str] = {}
        for key, aliases in USER_ALIASES.items():
            if key in ("auto", user_key):
                continue
            for alias in aliases:
                folded = header_key(alias)
                if folded not in self._alias_to_field and folded not in ignored:
                    self._identity.setdefault(folded, key)
        self._aliases_by_field: dict[str, list[str]] = {field: [] for field in FIELDS}
        for field in FIELDS:
            names = (*builtin[field], *getattr(columns, field))
            kept = [name for name in names if self._alias_to_field.get(header_key(name)) == field]
            self._aliases_by_field[field] = list(dict.fromkeys(kept))

    def identity_key_of(self, cell: str) -> str | None:
        """The user key a column holding another kind of identity would need, or None."""
        return self._identity.get(header_key(cell))

    def field_of(self, cell: str) -> str | None:
        """The canonical field a header cell names, or None."""
        key = header_key(cell)
        return self._alias_to_field.get(key) if key else None

    def match_row(self, cells: Sequence[str], *, needs_name: bool = True) -> dict[str, int] | None:
        """Map a candidate header row, or None if it lacks ``user`` or ``displayName``.

        With ``needs_name=False`` a row that maps ``user`` is enough (a skills matrix).

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
        if "user" in mapping and ("displayName" in mapping or not needs_name):
            return mapping
        return None

    def find(self, rows: Iterable[Sequence[str]], *, path: str, sheet: str = "") -> HeaderMatch:
        """Find the header among the first rows of a table.

        ``rows`` should hold one row more than ``HEADER_SEARCH_ROWS`` when it can, so that a
        header on the last searched row can still be checked for a second header row.

        Raises:
            InputError: no row maps both ``user`` and ``displayName`` (the message lists the
                headers seen and the aliases accepted), two columns map to one field, or a
                two-row header that does not make a usable header, or a row wider than
                ``MAX_COLUMNS``.
        """
        head: list[tuple[str, ...]] = []
        for index, row in enumerate(islice(rows, HEADER_SEARCH_ROWS + 1)):
            if len(row) > MAX_COLUMNS:
                raise InputError(
                    f"row {index + 1} has {len(row):,} columns; at most {MAX_COLUMNS:,} "
                    f"(Excel's limit) are read: is this a skills table with the right delimiter?",
                    path=path,
                    sheet=sheet,
                )
            head.append(tuple(cell.strip() for cell in row))
        first_seen = next((cells for cells in head if any(cells)), ())
        searched = head[:HEADER_SEARCH_ROWS]
        found = self._first_header(searched, path, sheet, needs_name=True)
        if found is None and self.user_only_header:
            found = self._first_header(searched, path, sheet, needs_name=False)
        if found is None:
            raise InputError(self.missing_header_message(first_seen), path=path, sheet=sheet)
        index, mapping = found
        cells = head[index]
        below = head[index + 1] if index + 1 < len(head) else ()
        if self._is_sub_header(cells, mapping, below):
            return self._two_row_header(index, cells, below, path, sheet)
        return _match(index, cells, mapping)

    def _first_header(
        self, rows: Sequence[tuple[str, ...]], path: str, sheet: str, *, needs_name: bool
    ) -> tuple[int, dict[str, int]] | None:
        for index, cells in enumerate(rows):
            try:
                mapping = self.match_row(cells, needs_name=needs_name)
            except ValueError as exc:
                raise InputError(str(exc), path=path, sheet=sheet) from None
            if mapping is not None and (needs_name or len([c for c in cells if c]) > 1):
                return index, mapping
        return None

    def _is_sub_header(
        self, cells: tuple[str, ...], mapping: dict[str, int], below: tuple[str, ...]
    ) -> bool:
        """True when ``below`` continues the header rather than starting the data."""
        user = mapping["user"]
        if not any(below) or (user < len(below) and below[user]):
            return False
        for column, text in enumerate(below):
            if not text:
                continue
            above = cells[column] if column < len(cells) else ""
            if self.field_of(f"{_parent(cells, column)} {text}") is not None or (
                not above and self.field_of(text) is not None
            ):
                return True
        return False

    def _two_row_header(
        self, index: int, cells: tuple[str, ...], below: tuple[str, ...], path: str, sheet: str
    ) -> HeaderMatch:
        width = max(len(cells), len(below))
        joined: list[str] = []
        for column in range(width):
            top = cells[column] if column < len(cells) else ""
            sub = below[column] if column < len(below) else ""
            if not sub:
                joined.append(top)
                continue
            parent = _parent(cells, column)
            both = f"{parent} {sub}".strip()
            if self.field_of(both) is None and self.field_of(sub) is not None:
                joined.append(sub)
            else:
                joined.append(both)
        header = tuple(joined)
        shown = ", ".join(f"'{c}'" for c in header if c)
        rows = f"rows {index + 1} and {index + 2}"
        try:
            mapping = self.match_row(header, needs_name=not self.user_only_header)
        except ValueError as exc:
            raise InputError(
                f"the header spans {rows}; read together they give {shown}, but {exc}",
                path=path,
                sheet=sheet,
            ) from None
        if mapping is None:
            raise InputError(
                f"the header spans {rows} (a merged cell over sub-headers); read together they "
                f"give {shown}, which has no user and skill name columns; write the header "
                f"in one row",
                path=path,
                sheet=sheet,
            )
        return _match(index + 1, header, mapping)

    def missing_header_message(self, seen: Sequence[str]) -> str:
        """Explain a missing header: what was seen, what is accepted for the two required fields.

        When the row holds a column of another kind of identity (an "Employee ID" column while
        the user key is userPrincipalName), the message names the ``--user-key`` to use.
        """
        shown = ", ".join(f"'{c}'" for c in seen if c)[:300] or "nothing"
        accepted = "; ".join(
            f"{field}: {', '.join(self._aliases_by_field[field])}"
            for field in ("user", "displayName")
        )
        hint = ""
        if not any(self.field_of(cell) == "user" for cell in seen):
            for cell in seen:
                key = self.identity_key_of(cell) if cell else None
                if key is not None:
                    hint = (
                        f"; column '{cell}' holds {key} values: use --user-key {key} "
                        f"(input.user_key: {key})"
                    )
                    break
        return (
            f"no header row with both a user and a displayName column (saw {shown}); "
            f"accepted headers are {accepted} (add more under 'columns:' in the config){hint}"
            + (
                ""
                if self.user_only_header
                else "; if it is a skills matrix (one column per skill), run with --layout matrix"
            )
        )
