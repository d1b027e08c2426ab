"""Decide, per user, what to send: create, update (only changed fields), delete, or nothing.

The planner is pure: it compares the desired rows of one user with the skills Graph already
holds and returns ``Operation``s. Skills are keyed like the input: the trimmed displayName
compared case-insensitively. Empty cells (``None`` in a ``SkillRow``) leave the existing value
alone, so a rerun of the same file plans nothing but ``unchanged``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from importer.records import Operation, OpKind, SkillRow, skill_key
from importer.validate.schema import parse_audiences, parse_proficiency
from importer.write.changes import describe_changes

__all__ = [
    "Mode",
    "Planned",
    "UserPlan",
    "create_body",
    "deletes_in",
    "is_owned",
    "plan_user_changes",
]

Mode = Literal["create", "upsert", "sync"]


@dataclass(slots=True)
class UserPlan:
    """The operations for one user, and what the planner noticed on the way.

    Attributes:
        operations: one per desired row (create, update or unchanged), then sync deletes.
        warnings: for the run log (e.g. Graph already holds a skill name twice).
        owned: how many of the user's existing skills carry the source tag (sync delete guard).
        extra_copies: deletes of extra copies of wanted skills (not counted by the guard).
    """

    operations: list[Operation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    owned: int = 0
    extra_copies: int = 0


def is_owned(skill: Mapping[str, Any], source_tag: str) -> bool:
    """True when the skill carries ``source_tag`` in ``source.type`` (a string or a list)."""
    source = skill.get("source")
    if not isinstance(source, Mapping):
        return False
    kind = source.get("type")
    if isinstance(kind, str):
        return kind == source_tag
    if isinstance(kind, list):
        return source_tag in kind
    return False


def create_body(row: SkillRow, source_tag: str) -> dict[str, Any]:
    """The POST body for a new skill: every field the row sets, plus the ownership tag."""
    body: dict[str, Any] = {"displayName": row.display_name.strip()}
    body.update(_settable(row))
    body["source"] = {"type": source_tag}
    return body


def _settable(row: SkillRow) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if row.proficiency is not None:
        values["proficiency"] = row.proficiency
    if row.categories is not None:
        values["categories"] = list(row.categories)
    if row.collaboration_tags is not None:
        values["collaborationTags"] = list(row.collaboration_tags)
    if row.allowed_audiences is not None:
        values["allowedAudiences"] = row.allowed_audiences
    if row.web_url is not None:
        values["webUrl"] = row.web_url
    return values


def _audience_set(value: object) -> frozenset[str]:
    if isinstance(value, str):
        return _audience_text_set(value)
    parsed = parse_audiences(value)
    return frozenset(part.strip() for part in parsed.split(",")) if parsed else frozenset()


@functools.lru_cache(maxsize=256)
def _audience_text_set(value: str) -> frozenset[str]:
    # A handful of distinct values, compared for every row of every listed person.
    parsed = parse_audiences(value)
    return frozenset(part.strip() for part in parsed.split(",")) if parsed else frozenset()


@functools.lru_cache(maxsize=256)
def _proficiency_of_text(value: str) -> str | None:
    return parse_proficiency(value)


def _proficiency(value: object) -> str | None:
    """Graph's level as a name (it may answer a number); cached for the few texts there are."""
    return _proficiency_of_text(value) if isinstance(value, str) else parse_proficiency(value)


def _as_list(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(item) for item in value]
    return []


def _changes(row: SkillRow, existing: Mapping[str, Any]) -> dict[str, Any]:
    """The PATCH body: only fields the row sets whose value differs from Graph's."""
    changed: dict[str, Any] = {}
    wanted = _settable(row)
    for name, value in wanted.items():
        current = existing.get(name)
        if name == "proficiency":
            same = _proficiency(current) == value
        elif name == "allowedAudiences":
            same = _audience_set(current) == _audience_set(value)
        elif name in ("categories", "collaborationTags"):
            # Lists are sets to a user: order in the cell does not matter.
            same = sorted(_as_list(current)) == sorted(value)
        else:
            same = current == value
        if not same:
            changed[name] = value
    # A corrected capitalisation ("python" -> "Python") is a change the admin meant to make.
    if str(existing.get("displayName", "")).strip() != row.display_name.strip():
        changed["displayName"] = row.display_name.strip()
    return changed


def plan_user_changes(
    user: str,
    rows: Sequence[SkillRow],
    existing: Sequence[Mapping[str, Any]],
    *,
    mode: Mode,
    source_tag: str,
) -> UserPlan:
    """Plan one user's operations.

    Args:
        user: the user as written in the input (all ``rows`` belong to this user).
        rows: the user's desired skills, already free of duplicates.
        existing: the skills Graph holds for the user, in Graph's order (oldest first).
        mode: ``create`` never updates; ``upsert`` creates and updates; ``sync`` also deletes
            owned skills that are absent from ``rows``. In every mode, extra copies of a
            wanted skill that carry the tag (left by a create Graph carried out twice) are
            deleted; the oldest copy stays, and copies people entered are never touched.
        source_tag: the ``source.type`` this tool writes on create.

    Returns:
        The plan: one operation per row, in row order, then any deletes.
    """
    plan = UserPlan()
    held = _held_by_name(existing)
    plan.owned = sum(is_owned(skill, source_tag) for skill in existing)
    plan.warnings.extend(_twice_held_warnings(user, held))
    plan.operations.extend(
        _row_operation(user, row, held.get(row.skill_key), mode=mode, source_tag=source_tag)
        for row in rows
    )
    wanted = {row.skill_key for row in rows}
    deletes = list(_deletes(user, held, wanted, mode=mode, source_tag=source_tag))
    plan.operations.extend(op for op, _extra in deletes)
    plan.extra_copies = sum(extra for _op, extra in deletes)
    return plan


def _held_by_name(existing: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Graph's skills keyed like the input (trimmed, case-insensitive), oldest copy first."""
    held: dict[str, list[Mapping[str, Any]]] = {}
    for skill in existing:
        held.setdefault(skill_key(str(skill.get("displayName", ""))), []).append(skill)
    return held


def _twice_held_warnings(user: str, held: Mapping[str, list[Mapping[str, Any]]]) -> list[str]:
    """One warning per skill name Graph holds more than once: only the oldest is updated."""
    return [
        f"{user}: Graph holds the skill {copies[0].get('displayName')!r} "
        f"{len(copies)} times; only the oldest is updated"
        for copies in held.values()
        if len(copies) > 1
    ]


def _row_operation(
    user: str,
    row: SkillRow,
    matches: Sequence[Mapping[str, Any]] | None,
    *,
    mode: Mode,
    source_tag: str,
) -> Operation:
    """The operation for one desired row: create it, or update/leave the oldest held copy."""
    name = row.display_name.strip()
    if not matches:
        return Operation(OpKind.CREATE, user, name, body=create_body(row, source_tag), row=row)
    oldest = matches[0]
    changes = {} if mode == "create" else _changes(row, oldest)
    return Operation(
        OpKind.UPDATE if changes else OpKind.UNCHANGED,
        user,
        name,
        body=changes,
        skill_id=str(oldest.get("id", "")),
        row=row,
        changes=describe_changes(changes, oldest),
        before=oldest,
    )


def _deletes(
    user: str,
    held: Mapping[str, list[Mapping[str, Any]]],
    wanted: set[str],
    *,
    mode: Mode,
    source_tag: str,
) -> Iterator[tuple[Operation, bool]]:
    """The deletes, each with whether it removes an extra copy of a wanted skill.

    Extra copies of a wanted skill go in every mode (the oldest stays); in ``sync``, so does
    every held skill no row wants. Only copies carrying ``source_tag`` are ever deleted.
    """
    for key, copies in held.items():
        if key in wanted:
            doomed = copies[1:]
        elif mode == "sync":
            doomed = copies
        else:
            continue
        for skill in doomed:
            if is_owned(skill, source_tag):
                operation = Operation(
                    OpKind.DELETE,
                    user,
                    str(skill.get("displayName", "")),
                    skill_id=str(skill.get("id", "")),
                    before=skill,
                )
                yield operation, key in wanted


#: One user of a chunk: the user as written, their rows, and the plan (None: listing failed).
Planned = tuple[str, Sequence[SkillRow], "UserPlan | None"]


def deletes_in(plans: list[Planned]) -> int:
    """Deletes the delete guard weighs: removing extra copies of wanted skills loses nothing."""
    return sum(
        sum(op.kind is OpKind.DELETE for op in plan.operations) - plan.extra_copies
        for _u, _r, plan in plans
        if plan is not None
    )
