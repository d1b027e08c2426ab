"""What changed in the sandbox's directory, and when: the record ``GET /users/delta`` reads.

Every change to a user (created, changed, deleted) takes the next number of one counter, kept
in the sandbox database next to the skills (tables ``dir_users``, ``dir_removed``,
``dir_meta``). A user's row holds the user as last seen and the number of their last change; a
deleted user leaves a row in ``dir_removed``. "What changed since change N" is then one query,
whichever way the change came:

- a sandbox started with another directory CSV on the same database (``sync``: users added,
  edited or gone from the CSV are changes);
- the admin view's ``PUT`` / ``DELETE /_sandbox/directory/users/{id}`` (``put`` / ``remove``).

The record also holds the epoch of delta links: bumping it (``expire_links``) makes every link
issued before answer ``syncStateNotFound``, as Graph does once a link is older than 7 days.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from importer.sandbox.directory import DirectoryUser

__all__ = ["Change", "UserChanges"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dir_users (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    ever TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dir_users_by_version ON dir_users (version);
CREATE TABLE IF NOT EXISTS dir_removed (id TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dir_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Change:
    """One user as a delta round reports them.

    Attributes:
        version: the number of the user's last change.
        user_id: the object id.
        view: the user's properties as Graph names them (None for a deleted user); a property
            never set is left out, one that was set and then cleared is None.
    """

    version: int
    user_id: str
    view: dict[str, object] | None


def _view(user: DirectoryUser) -> dict[str, object]:
    return user.graph_view()


class UserChanges:
    """The change record of one sandbox database (``:memory:`` for a fresh one each time)."""

    def __init__(self, db_path: str = ":memory:") -> None:
        """Open (creating if needed) the tables in the database at ``db_path``."""
        self._db = sqlite3.connect(db_path, check_same_thread=False)
        if db_path != ":memory:":
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.commit()

    def _meta(self, name: str) -> int:
        row = self._db.execute("SELECT value FROM dir_meta WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def _set_meta(self, name: str, value: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO dir_meta VALUES (?, ?)", (name, value))

    @property
    def latest(self) -> int:
        """The number of the last change (0 before any)."""
        return self._meta("version")

    @property
    def epoch(self) -> int:
        """Links issued in an earlier epoch have expired."""
        return self._meta("epoch")

    def expire_links(self) -> None:
        """Make every delta link issued so far expire (400 ``syncStateNotFound``)."""
        with self._db:
            self._set_meta("epoch", self.epoch + 1)

    def _record(self, users: Iterable[DirectoryUser], gone: Iterable[str]) -> None:
        version = self.latest
        for user in users:
            key = user.id.casefold()
            view = _view(user)
            row = self._db.execute(
                "SELECT data, ever FROM dir_users WHERE id = ?", (key,)
            ).fetchone()
            data = orjson.dumps(view, option=orjson.OPT_SORT_KEYS).decode()
            if row is not None and row[0] == data:
                continue
            ever = set(orjson.loads(row[1])) if row is not None else set()
            ever.update(name for name, value in view.items() if value is not None)
            version += 1
            self._db.execute("DELETE FROM dir_removed WHERE id = ?", (key,))
            self._db.execute(
                "INSERT OR REPLACE INTO dir_users VALUES (?, ?, ?, ?)",
                (key, data, orjson.dumps(sorted(ever)).decode(), version),
            )
        for key in gone:
            if self._db.execute("DELETE FROM dir_users WHERE id = ?", (key,)).rowcount:
                version += 1
                self._db.execute("INSERT OR REPLACE INTO dir_removed VALUES (?, ?)", (key, version))
        self._set_meta("version", version)

    def sync(self, users: Iterable[DirectoryUser]) -> None:
        """Record the directory the sandbox starts with: every difference from the users last
        recorded (added, edited, gone) is a change."""
        current = list(users)
        present = {user.id.casefold() for user in current}
        known = [key for (key,) in self._db.execute("SELECT id FROM dir_users")]
        with self._db:
            self._record(current, [key for key in known if key not in present])

    def put(self, user: DirectoryUser) -> None:
        """Record a user created or changed."""
        with self._db:
            self._record([user], [])

    def remove(self, user_id: str) -> None:
        """Record a user deleted."""
        with self._db:
            self._record([], [user_id.casefold()])

    def between(self, after: int, upto: int, limit: int, *, removed: bool) -> list[Change]:
        """Up to ``limit`` changes numbered ``after < n <= upto``, in order (``removed``: the
        deleted users too)."""
        rows = self._db.execute(
            "SELECT version, id, data, ever FROM dir_users WHERE version > ? AND version <= ? "
            "ORDER BY version LIMIT ?",
            (after, upto, limit),
        ).fetchall()
        changes = [Change(v, key, _shown(data, ever)) for v, key, data, ever in rows]
        if removed:
            gone = self._db.execute(
                "SELECT version, id FROM dir_removed WHERE version > ? AND version <= ? "
                "ORDER BY version LIMIT ?",
                (after, upto, limit),
            ).fetchall()
            changes.extend(Change(v, key, None) for v, key in gone)
            changes.sort(key=lambda change: change.version)
        return changes[:limit]

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()


def _shown(data: str, ever: str) -> dict[str, object]:
    view: dict[str, object] = orjson.loads(data)
    once = set(orjson.loads(ever))
    return {name: value for name, value in view.items() if value is not None or name in once}
