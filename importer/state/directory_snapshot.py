"""The directory snapshot: the tenant's users as last read, plus Graph's deltaLink to catch up.

A run that lists the whole directory keeps what the resolver reads of each user (the
properties the listing selects, as Graph names them) in a small SQLite file, with the
``@odata.deltaLink`` asked for just before the listing started. The next night follows that
link, which answers only the users created, changed or deleted since, applies them here and
resolves from the result: one request instead of a page per 999 users.

One file per target and tenant, in the per-user state folder next to the confirmed state
(``directory-<hash>.sqlite``); its header (format, target, tenant) is what is trusted.

What keeps it honest:

- a fresh snapshot is written to a temporary file and moved over the old one: a reader sees
  the old snapshot or the new one, never half of each;
- changes are committed first, the new deltaLink after: a run killed in between keeps the old
  link, which answers the same changes again (applying one twice changes nothing);
- Graph forgets a link after 7 days; one older than ``LINK_MAX_AGE_S`` (6 days) is not
  followed, and anything that cannot be trusted (unreadable, another format, tenant or target,
  no link) raises ``SnapshotError``: the run lists the directory and starts a new snapshot.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from importer.state.location import state_path

__all__ = [
    "LINK_MAX_AGE_S",
    "SNAPSHOT_FORMAT",
    "Snapshot",
    "SnapshotError",
    "apply_changes",
    "read_snapshot",
    "snapshot_path",
    "store_changes",
    "store_link",
    "store_snapshot",
]

#: Bumped whenever the file's meaning changes: a file of another version is never trusted.
SNAPSHOT_FORMAT = "1"
#: A deltaLink older than this is not followed (Graph keeps directory sync state 7 days).
LINK_MAX_AGE_S = 6 * 24 * 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS header (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (key TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
"""


class SnapshotError(Exception):
    """The snapshot cannot be used; the message says why, for the run's log."""


@dataclass(slots=True)
class Snapshot:
    """A snapshot as read.

    Attributes:
        users: object id (lower case) -> the user's properties as Graph names them.
        link: the deltaLink that catches up from this snapshot.
        taken: when the link was asked for (Unix seconds).
    """

    users: dict[str, dict[str, Any]]
    link: str
    taken: float


def snapshot_path(target: str, tenant: str, folder: Path | None = None) -> Path:
    """The snapshot file of one target and tenant (in ``folder``, default the user's)."""
    return state_path(target, tenant, "directory", folder)


def _header(target: str, tenant: str) -> dict[str, str]:
    return {"format": SNAPSHOT_FORMAT, "target": target, "tenant": tenant}


def read_snapshot(path: Path, target: str, tenant: str, now: float) -> Snapshot:
    """Read the snapshot of ``target`` and ``tenant`` (read only; nothing is changed).

    Raises:
        SnapshotError: no file, unreadable, another format, target or tenant, no link, or a
            link too old to follow.
    """
    if not path.is_file():
        raise SnapshotError("no directory snapshot yet")
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
            header = dict(db.execute("SELECT name, value FROM header").fetchall())
            for name, value in _header(target, tenant).items():
                if header.get(name) != value:
                    raise SnapshotError(
                        f"the directory snapshot {path} was written for another {name} "
                        f"({header.get(name) or 'none'!r})"
                    )
            link, taken = header.get("link", ""), float(header.get("taken", "0"))
            rows = db.execute("SELECT key, data FROM users").fetchall()
            users = {key: orjson.loads(data) for key, data in rows}
    except (sqlite3.Error, ValueError) as exc:
        raise SnapshotError(f"the directory snapshot {path} cannot be read ({exc})") from None
    if not link:
        raise SnapshotError(f"the directory snapshot {path} holds no delta link")
    age = now - taken
    if not 0 <= age <= LINK_MAX_AGE_S:
        raise SnapshotError(
            f"the directory snapshot's delta link is {age / 86400:.1f} days old (Graph keeps "
            "one 7 days)"
        )
    if not all(isinstance(user, dict) for user in users.values()):
        raise SnapshotError(f"the directory snapshot {path} holds a user that is not an object")
    return Snapshot(users, link, taken)


def apply_changes(
    users: dict[str, dict[str, Any]], changes: Iterable[Mapping[str, Any]]
) -> dict[str, dict[str, Any] | None]:
    """Apply a delta round's changes to ``users`` (in place): a user marked ``@removed`` is
    dropped; any other replaces their entry, merging the properties given over the old ones
    (a property left out is unchanged; one given as null is cleared).

    Returns:
        The entries changed: object id (lower case) -> the new properties, None when removed.
    """
    changed: dict[str, dict[str, Any] | None] = {}
    for change in changes:
        user_id = change.get("id")
        if not isinstance(user_id, str) or not user_id.strip():
            continue
        key = user_id.strip().casefold()
        if "@removed" in change:
            users.pop(key, None)
            changed[key] = None
            continue
        merged = {**users.get(key, {}), **{k: v for k, v in change.items() if "@" not in k}}
        users[key] = merged
        changed[key] = merged
    return changed


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.executescript(_SCHEMA)
    return db


def store_snapshot(
    path: Path, target: str, tenant: str, users: Iterable[Mapping[str, Any]], link: str, now: float
) -> None:
    """Write a whole new snapshot (the users of a complete listing, the link asked for before
    it), replacing any older one at once."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # One name per snapshot (the run lock lets one run at a time write it): a file left by a
    # run killed while writing is simply replaced by the next.
    temporary = path.with_name(f"{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    try:
        with contextlib.closing(_connect(temporary)) as db, db:
            db.executemany(
                "INSERT OR REPLACE INTO users VALUES (?, ?)",
                ((str(user["id"]).casefold(), orjson.dumps(dict(user)).decode()) for user in users),
            )
            rows = {**_header(target, tenant), "link": link, "taken": repr(now)}
            db.executemany("INSERT INTO header VALUES (?, ?)", rows.items())
        temporary.replace(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def store_changes(path: Path, changed: Mapping[str, Mapping[str, Any] | None]) -> None:
    """Commit applied changes (``apply_changes``' answer) to the snapshot, link untouched."""
    with contextlib.closing(_connect(path)) as db, db:
        db.executemany(
            "DELETE FROM users WHERE key = ?", [(k,) for k, v in changed.items() if v is None]
        )
        db.executemany(
            "INSERT OR REPLACE INTO users VALUES (?, ?)",
            [(k, orjson.dumps(dict(v)).decode()) for k, v in changed.items() if v is not None],
        )


def store_link(path: Path, link: str, now: float) -> None:
    """Record the deltaLink that follows the changes committed (call after ``store_changes``)."""
    with contextlib.closing(_connect(path)) as db, db:
        db.executemany(
            "INSERT OR REPLACE INTO header VALUES (?, ?)",
            {"link": link, "taken": repr(now)}.items(),
        )
