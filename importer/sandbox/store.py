"""SQLite storage of the sandbox's skills (a file survives restarts; ``:memory:`` for tests).

One row per skill: the rendered object as JSON plus the columns needed to find it. ``seq`` is
AUTOINCREMENT, so it is never reused and ordering by it is creation order (createdDateTime, then
insertion order) and a stable key for paging while skills are added or deleted.

Callers batch their writes and call :meth:`SkillStore.commit` once per HTTP request (one
``$batch`` = one transaction), which is what keeps the sandbox fast on a file database.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

import orjson

__all__ = ["SkillStore", "name_key"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS skills (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    name_key TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS skills_by_user ON skills (user_id, seq);
CREATE INDEX IF NOT EXISTS skills_by_name ON skills (user_id, name_key);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def name_key(display_name: str) -> str:
    """How duplicates are recognised: the same name ignoring case and surrounding spaces."""
    return display_name.strip().casefold()


class SkillStore:
    """Skills per user, keyed by the user's object id (lower case) and the skill id."""

    def __init__(self, db_path: str = ":memory:") -> None:
        """Open (creating if needed) the database at ``db_path``."""
        # The event loop is single-threaded, but the app may be built in one thread and served
        # from another (the CLI), so the same-thread check would only get in the way.
        self._db = sqlite3.connect(db_path, check_same_thread=False)
        if db_path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            # No fsync: a write is in the file once committed, so a killed sandbox loses nothing,
            # and only a crash of the machine itself could. With fsync (``NORMAL``) every WAL
            # checkpoint stalled the one event loop for 10-30 ms, which every request in flight
            # then waited out on top of its latency.
            self._db.execute("PRAGMA synchronous=OFF")
        self._db.executescript(_SCHEMA)
        # The database's own id, made once with it: the sandbox's tenant id. A database
        # deleted and made again is another tenant, so nothing remembered about the old one
        # (an importer's confirmed state) can be taken for it.
        self._db.execute(
            "INSERT OR IGNORE INTO meta (name, value) VALUES ('tenant_id', ?)",
            (str(uuid.uuid4()),),
        )
        self._db.commit()
        (self.tenant_id,) = self._db.execute(
            "SELECT value FROM meta WHERE name = 'tenant_id'"
        ).fetchone()

    def list_page(
        self, user_id: str, after_seq: int, limit: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Up to ``limit`` skills created after ``after_seq``, and the seq to continue from.

        Returns:
            The skills, and the last seq returned when more may follow (else None).
        """
        rows = self._db.execute(
            "SELECT seq, data FROM skills WHERE user_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (user_id, after_seq, limit + 1),
        ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        next_after = rows[-1][0] if more else None
        return [orjson.loads(data) for _, data in rows], next_after

    def get(self, user_id: str, skill_id: str) -> dict[str, Any] | None:
        """One skill of one user, or None."""
        row = self._db.execute(
            "SELECT data FROM skills WHERE id = ? AND user_id = ?", (skill_id.lower(), user_id)
        ).fetchone()
        return None if row is None else dict(orjson.loads(row[0]))

    def insert(self, user_id: str, skill: dict[str, Any]) -> None:
        """Add a new skill (``skill["id"]`` must be a new lower-case GUID)."""
        self._db.execute(
            "INSERT INTO skills (id, user_id, name_key, data) VALUES (?, ?, ?, ?)",
            (skill["id"], user_id, name_key(skill["displayName"]), orjson.dumps(skill).decode()),
        )

    def replace(self, user_id: str, skill: dict[str, Any]) -> None:
        """Overwrite an existing skill with its new state."""
        self._db.execute(
            "UPDATE skills SET name_key = ?, data = ? WHERE id = ? AND user_id = ?",
            (name_key(skill["displayName"]), orjson.dumps(skill).decode(), skill["id"], user_id),
        )

    def delete(self, user_id: str, skill_id: str) -> bool:
        """Remove a skill; False if it did not exist."""
        cursor = self._db.execute(
            "DELETE FROM skills WHERE id = ? AND user_id = ?", (skill_id.lower(), user_id)
        )
        return cursor.rowcount > 0

    def commit(self) -> None:
        """Make the writes so far durable (one transaction per HTTP request)."""
        self._db.commit()

    def count(self) -> int:
        """Number of skills stored, over all users."""
        return int(self._db.execute("SELECT count(*) FROM skills").fetchone()[0])

    def duplicates(self) -> dict[str, list[str]]:
        """Per user id, the display names stored more than once (ignoring case), each once.

        Each name is given as first created.
        """
        groups = self._db.execute(
            "SELECT user_id, name_key FROM skills"
            " GROUP BY user_id, name_key HAVING count(*) > 1 ORDER BY user_id, name_key"
        ).fetchall()
        found: dict[str, list[str]] = {}
        for user_id, key in groups:
            (display_name,) = self._db.execute(
                "SELECT json_extract(data, '$.displayName') FROM skills"
                " WHERE user_id = ? AND name_key = ? ORDER BY seq LIMIT 1",
                (user_id, key),
            ).fetchone()
            found.setdefault(user_id, []).append(display_name)
        return found

    def clear(self) -> None:
        """Drop every skill."""
        self._db.execute("DELETE FROM skills")
        self._db.commit()

    def close(self) -> None:
        """Commit and close the database."""
        self._db.commit()
        self._db.close()
