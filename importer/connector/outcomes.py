"""Row outcomes of the connector target: what each row's skill became in the person's item.

The item is written whole, but the report still speaks per row: a skill the last confirmed
item did not have is ``created``, one it had with other values ``updated``, one it had as is
``unchanged``. Skills the item no longer holds, and items removed by sync, have no input row:
they get a line of their own, named by the person's object id.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from importer.connector.confirmed import Recorded
from importer.connector.items import MAX_ITEM_BYTES, PersonItem, skill_fingerprint
from importer.errors import GraphError
from importer.records import Action, RowOutcome, SkillRow, skill_key
from importer.write.guards import delete_guard
from importer.write.outcomes import error_type_for

__all__ = [
    "delete_reason",
    "gone_skill",
    "gone_skills",
    "narrower_audience",
    "object_id_of",
    "row_actions",
    "too_large",
]

#: Audiences that reach the whole organisation (or more): connector data shows no less.
_ORGANISATION_WIDE = frozenset({"organization", "federatedOrganizations", "everyone"})


def narrower_audience(audiences: str | None) -> bool:
    """True when a row asks for an audience narrower than the organisation (me, family,
    contacts, groupMembers, alone or together): a connector would show it wider."""
    if not audiences:
        return False
    members = {part for part in audiences.replace(",", " ").split() if part}
    return not members & _ORGANISATION_WIDE


def object_id_of(item_id: str) -> str:
    """The object id (GUID with hyphens) an item id was made from; other ids as they are."""
    text = item_id.lower()
    if len(text) != 32 or any(c not in "0123456789abcdef" for c in text):
        return item_id
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def row_actions(
    rows: Sequence[SkillRow], item: PersonItem, before: Recorded | None, *, dry_run: bool
) -> Iterator[tuple[SkillRow, Action]]:
    """Each row with what writing ``item`` did (or would do) to its skill."""
    created = Action.WOULD_CREATE if dry_run else Action.CREATED
    updated = Action.WOULD_UPDATE if dry_run else Action.UPDATED
    known = _by_key(before.skills) if before is not None else {}
    for row in rows:
        if row.skill_key not in known:
            yield row, created
        elif known[row.skill_key] != skill_fingerprint(row):
            yield row, updated
        else:
            yield row, Action.UNCHANGED


def gone_skills(item: PersonItem, before: Recorded) -> list[str]:
    """The names (as last written) of skills the last confirmed item had and ``item`` lacks."""
    now = _by_key(item.skills)
    return sorted(name for name in before.skills if skill_key(name) not in now)


def _by_key(skills: dict[str, str]) -> dict[str, str]:
    return {skill_key(name): fingerprint for name, fingerprint in skills.items()}


def gone_skill(
    item_id: str,
    action: Action,
    skill: str = "",
    *,
    object_id: str = "",
    status: int | None = None,
    error: GraphError | None = None,
) -> RowOutcome:
    """A results line with no input row: a skill the item no longer holds (``skill`` set), or
    a whole item removed by sync."""
    person = object_id or object_id_of(item_id)
    return RowOutcome(
        source="",
        sheet="",
        row=0,
        user=person,
        user_id=person,
        display_name=skill or "(every skill: the person is no longer in the file)",
        action=action,
        status=error.status if error is not None else status,
        skill_id=item_id,
        attempts=1 if action in (Action.DELETED, Action.FAILED) else 0,
        error_type=error_type_for(error) if error is not None else "",
        error=str(error) if error is not None else "",
        request_id=error.request_id if error is not None else "",
    )


def delete_reason(leavers: int, owned: int, max_ratio: float, allow: int | None) -> str:
    """The shared delete guard's verdict ("" to go on), said of people's items, not skills."""
    if not delete_guard(leavers, owned, max_ratio, allow):
        return ""
    return (
        f"sync would delete the items of {leavers} of the {owned} people this tool wrote "
        f"({leavers / max(1, owned):.0%} > max_delete_ratio {max_ratio:.0%}); nothing was "
        f"written. Check the file, or allow it for this run with --allow-deletes {leavers}"
    )


def too_large(row: SkillRow, size: int, limit: int = MAX_ITEM_BYTES) -> RowOutcome:
    """A row of a person whose item Graph would refuse for its size (nothing is sent)."""
    message = (
        f"the person's item would be {size:,} bytes, more than the {limit:,} Graph "
        "accepts for one item: split or shorten their skills"
    )
    return RowOutcome.for_row(row, Action.FAILED, error_type="item-too-large", error=message)
