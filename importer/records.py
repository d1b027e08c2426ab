"""The records passed between pipeline stages.

Data flows one way; a stage never imports a later one (see docs/architecture.md)::

    reader -> SourceRow -> validation -> SkillRow | RowOutcome(invalid/duplicate)
           -> planner -> Operation -> dispatcher -> RowOutcome -> report

All records are plain frozen dataclasses with slots: cheap to create by the million and
safe to share between coroutines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar, dataclass_transform

__all__ = [
    "FIELDS",
    "Action",
    "ConfirmedWrite",
    "InputSummary",
    "OpKind",
    "Operation",
    "RowOutcome",
    "SkillRow",
    "SourceRow",
    "Table",
    "header_key",
    "record",
    "skill_key",
]

_NOT_WORD = re.compile(r"[\W_]+")


def header_key(text: str) -> str:
    """Fold a header cell: case, spaces, ``_``, ``-`` and punctuation ignored.

    The one rule for "the same column name": header matching, ``columns.ignore`` and the
    columns of rejects.csv all use it ("Employee E-Mail" = "employee email").
    """
    return _NOT_WORD.sub("", text).casefold()


#: The canonical input fields, in report order.
FIELDS: tuple[str, ...] = (
    "user",
    "displayName",
    "proficiency",
    "categories",
    "collaborationTags",
    "allowedAudiences",
    "webUrl",
)


class Action(StrEnum):
    """What happened to one input row (the ``action`` column of results.csv)."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    SKIPPED = "skipped"
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    FAILED = "failed"
    NOT_SENT = "not-sent"
    WOULD_CREATE = "would-create"
    WOULD_UPDATE = "would-update"
    WOULD_DELETE = "would-delete"
    VALID = "valid"


_Record = TypeVar("_Record")


@dataclass_transform(frozen_default=True)
def record(cls: type[_Record]) -> type[_Record]:
    """A slotted dataclass that the type checker treats as frozen.

    For the records made once or more per row (rows, operations, answers, outcomes): a
    frozen dataclass sets each field through ``object.__setattr__`` and took 5% of a run's
    CPU; this one is built at the speed of a plain class. mypy still refuses any assignment
    to a field, and the records stay hashable by value, as frozen ones are.
    """
    return dataclass(slots=True, unsafe_hash=True)(cls)


def skill_key(display_name: str) -> str:
    """The identity of a skill name: trimmed and compared case-insensitively.

    Input rows, duplicates and the skills Graph holds are all keyed this way.
    """
    return display_name.strip().casefold()


@dataclass(frozen=True, slots=True)
class InputSummary:
    """What one input file held, for summary.json.

    Attributes:
        path: the path as the user gave it.
        sha256: hex digest of the file's bytes (proves which file was imported).
        rows: non-blank data rows read (every one has a RowOutcome).
        blank_rows: fully blank rows skipped (counted, not reported per row).
        sheets: the sheets read ("" for CSV).
    """

    path: str
    sha256: str
    rows: int
    blank_rows: int
    sheets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Table:
    """One table found in an input: a CSV file, or one sheet of a workbook.

    Attributes:
        source: the path as the user gave it.
        sheet: the sheet name, or "" for CSV.
        header: the original header cells, in file order (used by rejects.csv).
        mapping: canonical field -> index into ``header`` for the columns that were recognised.
        ignored: header cells that map to no field (warned about once).
        header_row: spreadsheet row number of the header line.
        labels: for tables made by the shape stage (matrix and list layouts), what to call the
            cells it adds after the original ones, in messages.
        column: for tables made by the shape stage, the column letter every row of the table
            was made from (a matrix skill column, the list column), else "".
    """

    source: str
    sheet: str
    header: tuple[str, ...]
    mapping: dict[str, int]
    ignored: tuple[str, ...] = ()
    header_row: int = 1
    labels: tuple[str, ...] = ()
    column: str = ""


@record
class SourceRow:
    """One non-blank input row, every cell a string, before validation.

    Attributes:
        table: the table the row came from (shared by all its rows).
        row: the row number the user sees in Excel or an editor (header line included).
        cells: the original cells in file order, padded or cut to ``len(table.header)``.
    """

    table: Table
    row: int
    cells: tuple[str, ...]
    #: The column letter of the cell this row was produced from (matrix and list layouts), or "".
    column: str = ""

    def get(self, field_name: str) -> str:
        """Return the raw cell of a canonical field, or "" when the column is absent."""
        index = self.table.mapping.get(field_name)
        if index is None or index >= len(self.cells):
            return ""
        return self.cells[index]


@record
class SkillRow:
    """A valid, normalised input row: one desired skill of one user.

    ``None`` in an optional field means the cell was empty: the existing value is left alone.
    Enum values are canonical Graph names (``advancedProfessional``, ``ableToMentor``).
    """

    source: SourceRow
    user: str
    display_name: str
    proficiency: str | None = None
    categories: tuple[str, ...] | None = None
    collaboration_tags: tuple[str, ...] | None = None
    allowed_audiences: str | None = None
    web_url: str | None = None
    #: The user's Graph object id once resolved through the directory ("" before that).
    user_id: str = ""

    def values(
        self,
    ) -> tuple[
        str,
        str,
        str | None,
        tuple[str, ...] | None,
        tuple[str, ...] | None,
        str | None,
        str | None,
        str,
    ]:
        """Every field but ``source``, in order: ``SkillRow(source, *values)`` is the row again."""
        return (
            self.user,
            self.display_name,
            self.proficiency,
            self.categories,
            self.collaboration_tags,
            self.allowed_audiences,
            self.web_url,
            self.user_id,
        )

    def for_user_id(self, user_id: str) -> SkillRow:
        """The same row, for the object id the directory found (cheaper than ``replace``)."""
        return SkillRow(self.source, *self.values()[:-1], user_id)

    @property
    def user_key(self) -> str:
        """The user compared case-insensitively (UPNs and GUIDs are case-insensitive)."""
        return self.user.casefold()

    @property
    def skill_key(self) -> str:
        """The skill name as compared for identity (see ``skill_key``)."""
        return skill_key(self.display_name)


class OpKind(StrEnum):
    """What the planner decided for one skill."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    UNCHANGED = "unchanged"


@record
class Operation:
    """One planned change to one skill of one user.

    Attributes:
        kind: create, update (PATCH), delete, or unchanged (nothing to send).
        user: the user id or UPN as written in the input (encoded into the path by the client).
        display_name: the skill name.
        body: the JSON body to send (create: every set field; update: only changed fields).
        skill_id: Graph's id of the existing skill (update, delete, unchanged).
        row: the input row this operation serves; None for a sync delete.
        changes: for an update, what changes in words (``proficiency: elementary -> expert``).
        before: the skill as Graph held it when the run planned (update, delete, unchanged);
            None for a create. The journal records it, so a run can be undone.
    """

    kind: OpKind
    user: str
    display_name: str
    body: dict[str, Any] = field(default_factory=dict)
    skill_id: str | None = None
    row: SkillRow | None = None
    changes: str = ""
    before: Mapping[str, Any] | None = field(default=None, hash=False, compare=False)


@dataclass(frozen=True, slots=True)
class ConfirmedWrite:
    """A write Graph confirmed: what the journal (and any other record of writes) keeps.

    Made at the one place a write is known to have been carried out (a 2xx answer, or an
    ambiguous create found in a later listing), never for a write whose outcome is unknown.

    Attributes:
        kind: create, update or delete.
        user: the user the request went to (the object id when the directory gave one).
        user_as_written: the user as the input wrote it.
        skill_id: Graph's id of the skill (the new one for a create).
        display_name: the skill's name.
        before: the skill as Graph held it before the write (update, delete); None for create.
        after: the skill as it is after the write (create, update); None for a delete.
        changed: for an update, the fields the write changed (Graph's names).
    """

    kind: OpKind
    user: str
    user_as_written: str
    skill_id: str
    display_name: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    changed: tuple[str, ...] = ()


@record
class RowOutcome:
    """What happened to one input row, or to one skill deleted by sync: a line of results.csv.

    Attributes:
        source, sheet, row: where the row is (row 0 and empty source for a sync delete).
        user, display_name: as in the input (or as held by Graph for a delete).
        action: see ``Action``.
        status: the final HTTP status for this row's request, or None when nothing was sent.
        skill_id: Graph's id of the skill, when known.
        attempts: how many times a request for this row was sent.
        error_type: kebab-case error class (``invalid-enum``, ``user-not-found``...), "" if none.
        error: a message written for an HR admin, naming the column and the value.
        request_id: Graph's request-id of the final response, for support tickets.
        cells: the original cells (for rejects.csv), with ``header`` their column names.
    """

    source: str
    sheet: str
    row: int
    user: str
    display_name: str
    action: Action
    status: int | None = None
    skill_id: str = ""
    attempts: int = 0
    error_type: str = ""
    error: str = ""
    request_id: str = ""
    header: tuple[str, ...] = ()
    cells: tuple[str, ...] = ()
    #: The column letter of the cell the row came from (matrix and list layouts), or "".
    column: str = ""
    #: The user's resolved Graph object id, when known.
    user_id: str = ""
    #: For updated / would-update: each changed field, ``field: old -> new``, joined by "; ".
    changes: str = ""
    #: The normalised values the row asks for (lists joined by "; "), "" when the cell was
    #: empty or the row is invalid.
    proficiency: str = ""
    categories: str = ""
    collaboration_tags: str = ""
    allowed_audiences: str = ""
    web_url: str = ""

    @classmethod
    def for_source(cls, source_row: SourceRow, action: Action, **kwargs: Any) -> RowOutcome:
        """Build the outcome of one input row, carrying its location and original cells."""
        table = source_row.table
        kwargs.setdefault("user", source_row.get("user").strip())
        kwargs.setdefault("display_name", source_row.get("displayName").strip())
        return cls(
            source=table.source,
            sheet=table.sheet,
            row=source_row.row,
            column=source_row.column,
            action=action,
            header=table.header,
            cells=source_row.cells,
            **kwargs,
        )

    @classmethod
    def for_row(
        cls,
        skill_row: SkillRow,
        action: Action,
        *,
        user: str | None = None,
        display_name: str | None = None,
        user_id: str | None = None,
        status: int | None = None,
        skill_id: str = "",
        attempts: int = 0,
        error_type: str = "",
        error: str = "",
        request_id: str = "",
        changes: str = "",
    ) -> RowOutcome:
        """Build the outcome of one valid row, carrying its normalised values and user id.

        ``user``, ``display_name`` and ``user_id`` default to the row's. Built in one call
        (no keyword dictionaries): every written row goes through here.
        """
        source = skill_row.source
        table = source.table
        categories = skill_row.categories
        tags = skill_row.collaboration_tags
        return cls(
            table.source,
            table.sheet,
            source.row,
            skill_row.user if user is None else user,
            skill_row.display_name if display_name is None else display_name,
            action,
            status,
            skill_id,
            attempts,
            error_type,
            error,
            request_id,
            table.header,
            source.cells,
            source.column,
            skill_row.user_id if user_id is None else user_id,
            changes,
            skill_row.proficiency or "",
            "; ".join(categories) if categories else "",
            "; ".join(tags) if tags else "",
            skill_row.allowed_audiences or "",
            skill_row.web_url or "",
        )
