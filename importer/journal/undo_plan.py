"""What ``undo`` sends to put one person's skills back, from the journal and Graph today.

The rules, applied to the person's journal entries newest first, against the skills Graph
holds now (updated as each decision is taken, so older entries see what newer ones undo):

- a **create** is undone by deleting the skill, only if it still carries the run's source tag
  and still has every value the run wrote; otherwise it is ``skipped`` ``changed-since``;
- an **update** is undone by patching back the fields the run changed, each only if it still
  holds the value the run wrote; fields edited since are kept (``changed-since``), and if none
  still holds, nothing is sent;
- a **delete** is undone by creating the skill again with its values before (a new id), unless
  the person holds a skill of that name again (``changed-since``: re-creating would make a
  duplicate).

Each entry becomes one input "row" of the undo (its journal line), so results.csv has one line
per journal entry, and the planned ``Operation``s go through the same writer as ``run``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from importer.journal.undo_rows import entry_of_row, row_for
from importer.records import Action, Operation, OpKind, RowOutcome, SkillRow
from importer.records import skill_key as name_key
from importer.validate.schema import parse_audiences, parse_proficiency
from importer.write.changes import describe_changes
from importer.write.planner import UserPlan, is_owned

__all__ = ["CHANGED_SINCE", "WRITTEN_FIELDS", "UndoPlanner", "same_value"]

#: The error type of an entry left alone because the skill was changed after the run.
CHANGED_SINCE = "changed-since"

#: The skill fields a run writes and an undo compares and restores.
WRITTEN_FIELDS = (
    "displayName",
    "proficiency",
    "categories",
    "collaborationTags",
    "allowedAudiences",
    "webUrl",
)


def same_value(name: str, left: Any, right: Any) -> bool:
    """True when two values of a skill field mean the same to Graph.

    Levels and audiences are compared as parsed (Graph may echo enums as numbers); lists as
    sets; names trimmed; absent, null and empty are the same.
    """
    if name == "proficiency":
        return parse_proficiency(left) == parse_proficiency(right)
    if name == "allowedAudiences":
        return _audiences(left) == _audiences(right)
    if name in ("categories", "collaborationTags"):
        return sorted(_items(left)) == sorted(_items(right))
    if name == "displayName":
        return str(left or "").strip() == str(right or "").strip()
    return (left or None) == (right or None)


def _audiences(value: object) -> frozenset[str]:
    parsed = parse_audiences(value) if value not in (None, "") else ""
    return frozenset(part.strip() for part in parsed.split(",")) if parsed else frozenset()


def _items(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list | tuple) else []


def _as_sent(name: str, value: Any) -> Any:
    """A value put back as Graph takes it: levels and audiences by name, never as numbers."""
    if name == "proficiency" and value is not None:
        return parse_proficiency(value)
    if name == "allowedAudiences" and value not in (None, ""):
        return parse_audiences(value)
    return value


def _name(entry: Mapping[str, Any]) -> str:
    return str(entry.get("displayName", ""))


def _again(row: SkillRow, entry: Mapping[str, Any], values: Mapping[str, Any]) -> SkillRow:
    """The entry's row holding other values (the skill as it is now, or as put back)."""
    source = row.source
    return row_for(source.table, source.row, source.cells[-1], entry, values)


class UndoPlanner:
    """Plans the undo of one person's journal entries (a ``Dispatcher`` ``plan`` function).

    Args:
        source_tag: the tag the undone run wrote (``source.type``).
        skip: reports an entry left alone (``skipped`` ``changed-since``).
        warn: notes a field kept because it changed since the run.
    """

    def __init__(
        self,
        *,
        source_tag: str,
        skip: Callable[[RowOutcome], None],
        warn: Callable[[str], None],
    ) -> None:
        self._source_tag = source_tag
        self._skip = skip
        self._warn = warn

    def __call__(
        self, user: str, rows: Sequence[SkillRow], existing: Sequence[Mapping[str, Any]]
    ) -> UserPlan:
        """The operations undoing ``rows`` (journal entries of ``user``), newest first."""
        held: dict[str, Mapping[str, Any]] = {str(s.get("id", "")): s for s in existing}
        plan = UserPlan()
        for row in sorted(rows, key=lambda r: r.source.row, reverse=True):
            entry = entry_of_row(row)
            action = entry.get("action")
            if action == "create":
                op = self._undo_create(user, row, entry, held)
            elif action == "update":
                op = self._undo_update(user, row, entry, held)
            else:
                op = self._undo_delete(user, row, entry, held)
            if op is not None:
                plan.operations.append(op)
        return plan

    def _changed_since(self, row: SkillRow, why: str) -> None:
        self._skip(RowOutcome.for_row(row, Action.SKIPPED, error_type=CHANGED_SINCE, error=why))

    def _undo_create(
        self, user: str, row: SkillRow, entry: Mapping[str, Any], held: dict[str, Any]
    ) -> Operation | None:
        skill_id = str(entry.get("skillId", ""))
        now = held.get(skill_id)
        after: Mapping[str, Any] = entry.get("after") or {}
        if now is None:
            self._changed_since(row, f"the skill {_name(entry)!r} was deleted since the run")
            return None
        if not is_owned(now, self._source_tag):
            self._changed_since(row, f"{_name(entry)!r} no longer carries the source tag")
            return None
        edited = [
            f for f in WRITTEN_FIELDS if f in after and not same_value(f, now.get(f), after[f])
        ]
        if edited:
            self._changed_since(
                row, f"{_name(entry)!r} was edited since the run ({', '.join(edited)}): kept"
            )
            return None
        del held[skill_id]
        name = str(now.get("displayName", _name(entry)))
        row = _again(row, entry, now)
        return Operation(OpKind.DELETE, user, name, skill_id=skill_id, row=row, before=now)

    def _undo_update(
        self, user: str, row: SkillRow, entry: Mapping[str, Any], held: dict[str, Any]
    ) -> Operation | None:
        skill_id = str(entry.get("skillId", ""))
        now = held.get(skill_id)
        before: Mapping[str, Any] = entry.get("before") or {}
        after: Mapping[str, Any] = entry.get("after") or {}
        if now is None:
            self._changed_since(row, f"the skill {_name(entry)!r} was deleted since the run")
            return None
        changed = [str(name) for name in entry.get("changed") or ()]
        still = [f for f in changed if same_value(f, now.get(f), after.get(f))]
        kept = [f for f in changed if f not in still]
        if not still:
            self._changed_since(
                row, f"{_name(entry)!r} was edited since the run ({', '.join(kept)}): kept"
            )
            return None
        if kept:
            self._warn(
                f"{row.user}: {_name(entry)!r}: {', '.join(kept)} edited since the run, kept; "
                f"{', '.join(still)} put back"
            )
        body = {f: _as_sent(f, before.get(f)) for f in still}
        held[skill_id] = {**now, **body}
        restored = _again(row, entry, held[skill_id])
        return Operation(
            OpKind.UPDATE,
            user,
            str(now.get("displayName", _name(entry))),
            body=body,
            skill_id=skill_id,
            row=restored,
            changes=describe_changes(body, now),
            before=now,
        )

    def _undo_delete(
        self, user: str, row: SkillRow, entry: Mapping[str, Any], held: dict[str, Any]
    ) -> Operation | None:
        before: Mapping[str, Any] = entry.get("before") or {}
        name = str(before.get("displayName") or _name(entry))
        if any(name_key(str(s.get("displayName", ""))) == name_key(name) for s in held.values()):
            self._changed_since(
                row, f"{row.user} holds a skill {name!r} again: not created a second time"
            )
            return None
        body = {
            f: _as_sent(f, before[f]) for f in WRITTEN_FIELDS if before.get(f) not in (None, "", [])
        }
        body["displayName"] = name
        if isinstance(before.get("source"), Mapping):
            body["source"] = dict(before["source"])
        held[f"undo:{row.source.row}"] = body
        return Operation(OpKind.CREATE, user, name, body=body, row=row)
