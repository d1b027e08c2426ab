"""The resolve stage: every user value of the file -> one directory user (object id).

``resolve_users`` reads the directory once for the distinct values (see ``directory``);
``apply_resolution`` then turns each valid row into a row that carries its user's object id,
or into its outcome:

- nobody has the value: ``failed`` ``user-not-found`` with a hint that fits the key
  (``skipped`` with ``run.unknown_users: skip``);
- two users have it: ``failed`` ``user-ambiguous``, naming both UPNs;
- the account is disabled: ``skipped`` ``user-disabled`` (unless ``run.disabled_users: import``);
- the lookup failed for good (retries spent): ``failed`` with the lookup's error.

Rows are then grouped by object id, so one person written two ways (a GUID in one row, the UPN
in another) is one user; the same skill asked for twice that way is kept once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from importer.config import RunSettings
from importer.errors import GraphError
from importer.graph.client import GraphClient
from importer.progress import RESOLVING, RunProgress
from importer.records import Action, RowOutcome, SkillRow
from importer.resolve.cached import DirectoryCache
from importer.resolve.directory import DirectoryFigures, read_directory
from importer.resolve.matching import DirectoryUser, MatchIndex, match_key
from importer.validate.user_keys import key_of_value

__all__ = [
    "Resolution",
    "RowResolver",
    "apply_resolution",
    "not_found_message",
    "resolve_users",
    "wanted_values",
]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Resolution:
    """What the directory said about every value of the file.

    Attributes:
        key: ``input.user_key``.
        index: the users found per value.
        failures: values whose lookup failed for good, with the error.
        figures: how the directory was read.
    """

    key: str
    index: MatchIndex
    failures: dict[tuple[str, str], GraphError] = field(default_factory=dict)
    figures: DirectoryFigures = field(default_factory=DirectoryFigures)

    def users_for(self, value: str) -> tuple[str, list[DirectoryUser]]:
        """The property ``value`` is matched on, and the users holding it."""
        prop = key_of_value(value, self.key)
        return prop, self.index.users_for(prop, value)

    def failure_for(self, value: str) -> GraphError | None:
        """The error of a failed lookup of ``value``, if it failed."""
        prop = key_of_value(value, self.key)
        return self.failures.get((prop, match_key(prop, value)))


def wanted_values(values: Iterable[str], key: str) -> dict[str, list[str]]:
    """Distinct values per directory property (the first spelling of each kept)."""
    wanted: dict[str, dict[str, str]] = {}
    for value in values:
        prop = key_of_value(value, key)
        wanted.setdefault(prop, {}).setdefault(match_key(prop, value), value)
    return {prop: list(found.values()) for prop, found in wanted.items()}


async def resolve_users(
    values: Iterable[str],
    key: str,
    client: GraphClient,
    run: RunSettings,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    progress: RunProgress | None = None,
    strategy: str = "auto",
    keep_mail: bool = False,
    cache: DirectoryCache | None = None,
) -> Resolution:
    """Look every distinct value up in the directory (``progress``: the resolving phase;
    ``strategy``, ``cache``: see ``read_directory``; ``keep_mail``: see ``MatchIndex``).

    Raises:
        DirectoryAccessError: the directory answered 401/403 (``SAFETY_ABORT``, nothing written).
    """
    wanted = wanted_values(values, key)
    index = MatchIndex(
        {prop: [match_key(prop, v) for v in vs] for prop, vs in wanted.items()},
        keep_mail=keep_mail,
    )
    if progress is not None:
        progress.start(RESOLVING, sum(len(vs) for vs in wanted.values()), "users")
    figures, failed = await read_directory(
        wanted, index, client, run, sleep=sleep, progress=progress, strategy=strategy, cache=cache
    )
    if progress is not None:
        progress.set_done(RESOLVING, figures.people)
    failures = {(prop, match_key(prop, value)): error for (prop, value), error in failed.items()}
    index.seal()
    resolution = Resolution(key, index, failures, figures)
    logger.info(
        "resolved %d people by %s: %s, %d directory request(s) (%d lookup(s), %d listing "
        "page(s) over %d directory users)",
        figures.people,
        key,
        figures.strategy,
        figures.requests,
        figures.lookups,
        figures.listing_pages,
        figures.directory_users,
    )
    return resolution


_OTHER_KEY_HINT = {
    "userPrincipalName": "if that is their mail, use --user-key mail",
    "mail": "if that is their sign-in name, use --user-key userPrincipalName",
    "employeeId": (
        "employeeId is matched exactly, case and leading zeros included; check the employee's "
        "record in Entra ID"
    ),
    "id": "check the object id in Entra ID, or use --user-key userPrincipalName",
}


def not_found_message(value: str, prop: str, row: SkillRow) -> str:
    """Why nobody matched, with a hint that fits the key."""
    message = f"no user has {prop} {value}; {_OTHER_KEY_HINT[prop]}"
    if prop == "employeeId" and value.isdigit() and row.source.table.sheet:
        message += (
            "; if the id should start with zeros, the workbook stored it as a number and "
            "lost them: format the column as Text and export again"
        )
    return message


def _outcome(
    row: SkillRow, action: Action, error_type: str, error: str, user_id: str = ""
) -> RowOutcome:
    return RowOutcome.for_row(row, action, error_type=error_type, error=error, user_id=user_id)


def _verdict(
    row: SkillRow, resolution: Resolution, run: RunSettings
) -> tuple[DirectoryUser | None, RowOutcome | None]:
    failure = resolution.failure_for(row.user)
    if failure is not None:
        return None, _outcome(
            row, Action.FAILED, "user-lookup-failed", f"could not look the user up: {failure}"
        )
    prop, users = resolution.users_for(row.user)
    if not users:
        action = Action.SKIPPED if run.unknown_users == "skip" else Action.FAILED
        return None, _outcome(row, action, "user-not-found", not_found_message(row.user, prop, row))
    if len(users) > 1:
        names = " and ".join(user.user_principal_name or user.id for user in users[:2])
        more = f" (and {len(users) - 2} more)" if len(users) > 2 else ""
        return None, _outcome(
            row,
            Action.FAILED,
            "user-ambiguous",
            f"{len(users)} users have {prop} {row.user}: {names}{more}; give each person a "
            f"unique {prop} in Entra ID, or use another --user-key",
        )
    user = users[0]
    if not user.account_enabled and run.disabled_users == "skip":
        return None, _outcome(
            row,
            Action.SKIPPED,
            "user-disabled",
            f"the account {user.user_principal_name} is disabled (accountEnabled false); "
            f"set run.disabled_users: import to write it anyway",
            user.id,
        )
    return user, None


def _same(first: SkillRow, other: SkillRow) -> bool:
    return (
        first.proficiency,
        first.categories,
        first.collaboration_tags,
        first.allowed_audiences,
        first.web_url,
    ) == (
        other.proficiency,
        other.categories,
        other.collaboration_tags,
        other.allowed_audiences,
        other.web_url,
    )


def _merge_forms(rows: list[SkillRow], emit: Callable[[RowOutcome], None]) -> list[SkillRow]:
    """Keep one row per skill of a person written in two forms (GUID and UPN, say).

    Identical repeats are ``duplicate``; repeats with other values make every row of that skill
    ``invalid`` (``conflicting-duplicate``), as conflicting repeats of one spelling are.
    """
    by_skill: dict[str, list[SkillRow]] = {}
    for row in rows:
        by_skill.setdefault(row.skill_key, []).append(row)
    kept: list[SkillRow] = []
    for group in by_skill.values():
        first = group[0]
        where = f"row {first.source.row}" + (
            f" of sheet {first.source.table.sheet}" if first.source.table.sheet else ""
        )
        if all(_same(first, row) for row in group[1:]):
            kept.append(first)
            for row in group[1:]:
                emit(
                    _outcome(
                        row,
                        Action.DUPLICATE,
                        "duplicate",
                        f"same person and skill as {where} (written as {first.user})",
                        row.user_id,
                    )
                )
            continue
        spellings = ", ".join(dict.fromkeys(f"{row.user} (row {row.source.row})" for row in group))
        for row in group:
            emit(
                _outcome(
                    row,
                    Action.INVALID,
                    "conflicting-duplicate",
                    f"one person asks for this skill with different values, written as "
                    f"{spellings}; keep one row",
                    row.user_id,
                )
            )
    return kept


class RowResolver:
    """Gives each row of a chunk its object id, or emits its outcome.

    The write stage may read its chunks more than once (a sync run counts deletes first):
    the caller says whether a chunk's outcomes are still to be emitted (``emit``), so that
    each row gets one, without a set of every user seen.

    Args:
        resolution: what the directory said.
        run: ``unknown_users`` and ``disabled_users``.
        emit: receives the outcome of every row that is not to be written.
    """

    def __init__(
        self, resolution: Resolution, run: RunSettings, emit: Callable[[RowOutcome], None]
    ) -> None:
        self._resolution = resolution
        self._run = run
        self._emit = emit

    @property
    def resolution(self) -> Resolution:
        """What the directory said about every value."""
        return self._resolution

    def chunk(
        self, users: Mapping[str, Sequence[SkillRow]], *, emit: bool = True
    ) -> dict[str, list[SkillRow]]:
        """Rows of resolved users, grouped by object id (lower case), each with ``user_id``.

        ``emit``: False when this chunk's outcomes were emitted on an earlier read.
        """
        grouped: dict[str, list[SkillRow]] = {}
        forms: dict[str, set[str]] = {}
        for rows in users.values():
            # The directory's answer is the same for every row of one spelling: ask once.
            spelling: str | None = None
            user: DirectoryUser | None = None
            kept: list[SkillRow] = []
            for row in rows:
                if row.user != spelling:
                    spelling = row.user
                    user, outcome = _verdict(row, self._resolution, self._run)
                    if user is not None:
                        kept = grouped.setdefault(user.id.casefold(), [])
                        forms.setdefault(user.id.casefold(), set()).add(spelling.casefold())
                elif user is None:
                    outcome = _verdict(row, self._resolution, self._run)[1]
                if user is None:
                    assert outcome is not None
                    if emit:
                        self._emit(outcome)
                    continue
                kept.append(row.for_user_id(user.id))
        for key, spellings in forms.items():
            if len(spellings) > 1:
                grouped[key] = _merge_forms(grouped[key], self._emit if emit else _drop)
        return grouped


def _drop(_: RowOutcome) -> None:
    """Outcomes already emitted on an earlier read of the same rows."""


def apply_resolution(
    users: Mapping[str, Sequence[SkillRow]],
    resolution: Resolution,
    run: RunSettings,
    emit: Callable[[RowOutcome], None],
) -> dict[str, list[SkillRow]]:
    """Rows of resolved users, grouped by object id; every other row's outcome is emitted.

    Returns:
        object id (lower case) -> the user's rows, each carrying ``user_id``.
    """
    return RowResolver(resolution, run, emit).chunk(users)
