"""Reading the directory from last night's snapshot plus Graph's changes since (``users/delta``).

A complete listing of the directory is costly: a page per 999 users, 101 sequential requests
for 100,000 people, every night. Graph's change tracking answers instead only the users
created, changed or deleted since a ``@odata.deltaLink``: usually one request. So:

- a run that lists the whole directory first asks for a link "from now"
  (``$deltaToken=latest``), *before* the listing, so that a change made while it lists shows up
  next time (applying it twice is harmless), and keeps the listed users and that link as the
  snapshot (``importer.state.directory_snapshot``);
- the next run follows the link (paged), applies the changes to the snapshot, and resolves from
  it exactly as from a listing: the same index, the same verdicts (not found, ambiguous,
  disabled), leavers included. It commits the changes, then the new link.

Anything that goes wrong on the way (no usable snapshot, a link too old, an HTTP error after
retries, ``syncStateNotFound``) costs one log line and the full listing, never a wrong answer.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from importer.errors import DirectoryAccessError, GraphError, PermanentGraphError
from importer.graph.client import GraphClient, SubRequest, SubResponse
from importer.resolve.matching import MatchIndex, parse_user
from importer.resolve.odata import USER_PROPERTIES, delta_latest_url
from importer.state.directory_snapshot import (
    Snapshot,
    SnapshotError,
    apply_changes,
    read_snapshot,
    store_changes,
    store_link,
    store_snapshot,
)

__all__ = [
    "CaughtUp",
    "DirectoryCache",
    "Retrying",
    "catch_up",
    "keep_listing",
    "latest_link",
    "listed_user",
]

logger = logging.getLogger(__name__)

Retrying = Callable[[Callable[[], Awaitable[SubResponse]]], Awaitable[dict[str, Any]]]


@dataclass(slots=True)
class DirectoryCache:
    """Where a run keeps its directory snapshot, and what it may do with it.

    Attributes:
        path: the snapshot file (``snapshot_path``).
        target: the endpoint as the state names it.
        tenant: the tenant id (a sandbox: its database's id).
        use: follow the snapshot's link (``run.delta: auto`` without ``--full``).
        writable: False for a dry run: the snapshot is read, never written.
        now: the run's clock (Unix seconds): the age of the link.
        reason: why the snapshot is not used, for the log (``--full``, ``run.delta: off``).
    """

    path: Path
    target: str
    tenant: str
    use: bool
    writable: bool
    now: float
    reason: str = ""


async def latest_link(client: GraphClient, retrying: Retrying) -> str:
    """A deltaLink "from now": following it later answers what changed after this moment.

    Raises:
        GraphError: the request failed for good, or the answer holds no link.
    """
    body = await retrying(lambda: client.send(SubRequest("users-delta", "GET", delta_latest_url())))
    link = body.get("@odata.deltaLink")
    if not isinstance(link, str) or not link:
        raise PermanentGraphError("the directory's change tracking gave no @odata.deltaLink")
    return link


async def _follow(
    client: GraphClient, retrying: Retrying, link: str
) -> tuple[list[dict[str, Any]], str, int]:
    """Follow a deltaLink to the end of its round: the changes, the new link, the pages."""
    changes: list[dict[str, Any]] = []
    seen: set[str] = set()
    pages = 0
    while True:
        body = await retrying(functools.partial(client.get_page, link))
        pages += 1
        changes.extend(item for item in body["value"] if isinstance(item, dict))
        following = body.get("@odata.nextLink")
        if isinstance(following, str) and following:
            if following in seen:
                raise PermanentGraphError("the directory returned the same @odata.nextLink twice")
            seen.add(following)
            link = following
            continue
        delta = body.get("@odata.deltaLink")
        if not isinstance(delta, str) or not delta:
            raise PermanentGraphError("the directory's changes ended without an @odata.deltaLink")
        return changes, delta, pages


@dataclass(slots=True)
class CaughtUp:
    """The snapshot brought up to date: every user, the changes applied, the pages read."""

    users: dict[str, dict[str, Any]]
    changes: int
    pages: int


async def catch_up(
    cache: DirectoryCache, client: GraphClient, retrying: Retrying, index: MatchIndex
) -> CaughtUp | str:
    """Read the snapshot and the changes since, commit both (unless a dry run), and put every
    user in ``index``.

    Returns:
        What was read; or why the directory must be listed instead (logged; ``index`` is then
        untouched).
    """
    try:
        snapshot: Snapshot = read_snapshot(cache.path, cache.target, cache.tenant, cache.now)
        changes, link, pages = await _follow(client, retrying, snapshot.link)
    except SnapshotError as exc:
        logger.info("%s: the whole directory is listed", exc)
        return str(exc)
    except (GraphError, DirectoryAccessError) as exc:
        reason = f"the directory's changes since the last run could not be read ({exc})"
        logger.warning("%s: the whole directory is listed", reason)
        return reason
    changed = apply_changes(snapshot.users, changes)
    if cache.writable:
        try:
            store_changes(cache.path, changed)
            store_link(cache.path, link, cache.now)
        except (OSError, sqlite3.Error) as exc:
            logger.warning("the directory snapshot %s could not be written (%s)", cache.path, exc)
    for item in snapshot.users.values():
        user = parse_user(item)
        if user is not None:
            index.add(user)
    return CaughtUp(snapshot.users, len(changes), pages)


def keep_listing(cache: DirectoryCache, users: list[dict[str, Any]], link: str) -> None:
    """Keep a complete listing (``users``) with the link asked for before it (not in a dry run)."""
    if not cache.writable:
        return
    try:
        store_snapshot(cache.path, cache.target, cache.tenant, users, link, cache.now)
    except (OSError, sqlite3.Error) as exc:
        logger.warning("the directory snapshot %s could not be written (%s)", cache.path, exc)
        return
    logger.info("directory snapshot of %d users kept in %s", len(users), cache.path)


def listed_user(item: Any) -> dict[str, Any] | None:
    """What the snapshot keeps of one listed user (the selected properties), or None."""
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return None
    return {name: item[name] for name in USER_PROPERTIES if name in item}
