"""The resolve stage inside a run: every user to an object id before anything is planned.

The distinct user values are read off the held rows and resolved in one go; the write stage
then reads its chunks through ``ResolvedRows``, which hands it each chunk regrouped by object
id and reports the rows that cannot be written (unknown, ambiguous, disabled) as it goes. A
directory that refuses to be read (401/403) stops the run here, before any write, with every
row reported ``not-sent``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from importer.config import Settings
from importer.graph.client import GraphClient
from importer.pipeline.spill import report_not_sent
from importer.progress import RunProgress
from importer.records import RowOutcome, SkillRow
from importer.resolve import (
    DirectoryAccessError,
    DirectoryCache,
    DirectoryUser,
    Resolution,
    RowResolver,
    resolve_users,
)
from importer.state.directory_snapshot import snapshot_path
from importer.targets.identity import state_target
from importer.write.groups import UserRows

__all__ = ["HeldRows", "ResolvedRows", "directory_cache", "resolve_for_run"]

logger = logging.getLogger(__name__)


class HeldRows(UserRows, Protocol):
    """The valid rows of a run, as the spill holds them (grouped by user as written)."""

    def user_values(self) -> Iterator[str]:
        """Each distinct user, as first written."""
        ...  # pragma: no cover - protocol

    def regroup(self, group_of: Mapping[str, str]) -> None:
        """Give the groups in ``group_of`` a new key (see ``RowSpill.regroup``)."""
        ...  # pragma: no cover - protocol


class ResolvedRows:
    """The held rows as the write stage reads them: resolved users only, by object id.

    ``rows`` and ``users`` count what was held, unknown and disabled people included (their
    rows are reported by the resolver, not by the writer).
    """

    def __init__(
        self,
        held: HeldRows,
        resolver: RowResolver,
        resolution: Resolution | None = None,
        key: str = "",
    ) -> None:
        self._held = held
        self._resolver = resolver
        self._resolution = resolution
        self._key = key
        self._emitted = 0

    def present_people(self) -> set[str] | None:
        """The object ids (lower case) of everyone a value of the held rows names, disabled
        accounts and ambiguous matches included: the people who have not left the file.

        None when some lookups failed: who is absent cannot then be told.
        """
        if self._resolution is None or self._resolution.failures:
            return None
        present: set[str] = set()
        for value in _distinct_values(self._held, self._key):
            _, users = self._resolution.users_for(value)
            present.update(user.id.casefold() for user in users)
        return present

    @property
    def rows(self) -> int:
        """Rows held (before resolution)."""
        return self._held.rows

    @property
    def users(self) -> int:
        """Users held (before resolution)."""
        return self._held.users

    def chunks(self) -> Iterator[Mapping[str, Sequence[SkillRow]]]:
        """Each held chunk, resolved; empty chunks are left out.

        One person written two ways (a GUID and a UPN) is one group of the held rows
        (``regroup_people``), so all of their rows come in one chunk and are planned together.
        """
        # Every read hands the same chunks in the same order: the outcomes of chunks an
        # earlier read went through were emitted then.
        for number, chunk in enumerate(self._held.chunks()):
            resolved = self._resolver.chunk(chunk, emit=number >= self._emitted)
            self._emitted = max(self._emitted, number + 1)
            if resolved:
                yield resolved

    def directory_user(self, row: SkillRow) -> DirectoryUser | None:
        """The one directory user ``row`` resolved to (None for a row that did not resolve)."""
        users = self._resolver.resolution.users_for(row.user)[1]
        return users[0] if len(users) == 1 else None


def directory_cache(
    settings: Settings, tenant: str, now: datetime, *, full: bool, dry_run: bool
) -> DirectoryCache | None:
    """Where this run keeps its directory snapshot and what it may do with it (None when the
    tenant cannot be told: no snapshot is then kept, as no confirmed state is)."""
    if not tenant:
        return None
    target = state_target(settings)
    reason = ""
    if full:
        reason = "--full: the whole directory is listed"
    elif settings.run.delta == "off":
        reason = "run.delta is off: the whole directory is listed"
    if reason:
        logger.info("%s", reason)
    return DirectoryCache(
        snapshot_path(target, tenant),
        target,
        tenant,
        use=not reason,
        writable=not dry_run,
        now=now.timestamp(),
        reason=reason,
    )


def regroup_people(held: HeldRows, resolution: Resolution) -> int:
    """Put the rows of one person written several ways (a GUID here, a UPN there) in one group.

    Rows are held grouped by the user as written, ignoring case; with a large file, two
    spellings of one person could otherwise come in two chunks and be planned apart (one
    planned while the other is written), which could create a skill twice. Returns how many
    groups were joined. Not for employeeId, which names each person one way only.
    """
    groups: dict[str, list[str]] = {}
    for value in held.user_values():
        _, users = resolution.users_for(value)
        if len(users) == 1:
            groups.setdefault(users[0].id.casefold(), []).append(value.casefold())
    group_of = {
        group: user_id
        for user_id, spellings in groups.items()
        if len(spellings) > 1
        for group in spellings
    }
    held.regroup(group_of)
    return len(group_of)


def _distinct_values(held: HeldRows, key: str) -> Iterator[str]:
    """The user values to look up. Rows are held grouped by the value ignoring case, which is
    one person for every key but employeeId: there, every spelling is read off the rows."""
    if key != "employeeId":
        yield from held.user_values()
        return
    for chunk in held.chunks():
        for rows in chunk.values():
            yield from dict.fromkeys(row.user for row in rows)


async def resolve_for_run(
    settings: Settings,
    client: GraphClient,
    held: HeldRows,
    emit: Callable[[RowOutcome], None],
    figures: dict[str, Any],
    progress: RunProgress | None = None,
    *,
    keep_mail: bool = False,
    cache: DirectoryCache | None = None,
) -> ResolvedRows | str:
    """Resolve every held user; the rows to plan come back as ``ResolvedRows``.

    ``keep_mail``: remember each person's mail (``ResolvedRows.directory_user``); ``cache``:
    the run's directory snapshot (``directory_cache``).

    Returns:
        The resolved rows; or, when the directory cannot be read, the reason to stop (every
        row has then been emitted ``not-sent``).
    """
    key = settings.input.user_key
    figures["key"] = key
    try:
        resolution = await resolve_users(
            _distinct_values(held, key),
            key,
            client,
            settings.run,
            progress=progress,
            keep_mail=keep_mail,
            cache=cache,
        )
    except DirectoryAccessError as exc:
        logger.error("%s", exc)
        report_not_sent(held, emit, "the directory cannot be read")
        return str(exc)
    figures.update(resolution.figures.as_dict())
    if key != "employeeId":
        regroup_people(held, resolution)
    return ResolvedRows(held, RowResolver(resolution, settings.run, emit), resolution, key)
