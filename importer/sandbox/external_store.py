"""SQLite storage of the sandbox's external connections, schemas, items and profile sources.

Kept apart from the skills store (its own tables in the same database file), so the profile
skills code never sees it. Every object is stored as the JSON Graph would answer, plus the
columns needed to find it. A schema remembers when it becomes ready as a *remaining* time:
the sandbox clock is monotonic and restarts with each process, so a schema left provisioning
by one sandbox is provisioning again (for the configured delay) in the next.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

__all__ = ["ExternalStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ext_connections (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ext_schemas (
    connection_id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    operation_id TEXT NOT NULL,
    ready INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ext_items (
    connection_id TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (connection_id, id)
);
CREATE TABLE IF NOT EXISTS ext_profile_sources (source_id TEXT PRIMARY KEY, data TEXT NOT NULL);
"""


class ExternalStore:
    """Connections, schemas, items and profile sources of one sandbox.

    ``ready_at`` (clock seconds) of schemas still provisioning lives in memory only; see the
    module docstring.
    """

    def __init__(self, db_path: str = ":memory:") -> None:
        """Open (creating if needed) the tables in the database at ``db_path``."""
        # Autocommit: each write is durable at once, and never holds a lock that the skills
        # store's connection to the same file would wait for.
        self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        if db_path != ":memory:":
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        #: connection id -> clock seconds when its provisioning schema becomes ready.
        self.ready_at: dict[str, float] = {}

    # -- connections ---------------------------------------------------------------------------

    def connection(self, connection_id: str) -> dict[str, Any] | None:
        """One connection (ids compare case-insensitively, as Graph's do), or None."""
        row = self._db.execute(
            "SELECT data FROM ext_connections WHERE id = ?", (connection_id.casefold(),)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def connections(self) -> list[dict[str, Any]]:
        """Every connection, oldest first."""
        rows = self._db.execute("SELECT data FROM ext_connections ORDER BY rowid").fetchall()
        return [json.loads(data) for (data,) in rows]

    def put_connection(self, connection: dict[str, Any]) -> None:
        """Store a new or changed connection."""
        self._db.execute(
            "INSERT OR REPLACE INTO ext_connections (id, data) VALUES (?, ?)",
            (connection["id"].casefold(), json.dumps(connection)),
        )

    def delete_connection(self, connection_id: str) -> bool:
        """Remove a connection with its schema and items; False if there was none."""
        key = connection_id.casefold()
        gone = self._db.execute("DELETE FROM ext_connections WHERE id = ?", (key,)).rowcount
        self._db.execute("DELETE FROM ext_schemas WHERE connection_id = ?", (key,))
        self._db.execute("DELETE FROM ext_items WHERE connection_id = ?", (key,))
        self.ready_at.pop(key, None)
        return gone > 0

    # -- schemas -------------------------------------------------------------------------------

    def schema(self, connection_id: str) -> tuple[dict[str, Any], str, bool] | None:
        """A connection's schema, the id of the operation that registered it, and readiness."""
        row = self._db.execute(
            "SELECT data, operation_id, ready FROM ext_schemas WHERE connection_id = ?",
            (connection_id.casefold(),),
        ).fetchone()
        return None if row is None else (dict(json.loads(row[0])), row[1], bool(row[2]))

    def put_schema(self, connection_id: str, schema: dict[str, Any], operation_id: str) -> None:
        """Store a schema that is provisioning from now on."""
        self._db.execute(
            "INSERT OR REPLACE INTO ext_schemas (connection_id, data, operation_id, ready)"
            " VALUES (?, ?, ?, 0)",
            (connection_id.casefold(), json.dumps(schema), operation_id),
        )

    def mark_ready(self, connection_id: str) -> None:
        """The schema finished provisioning."""
        key = connection_id.casefold()
        self._db.execute("UPDATE ext_schemas SET ready = 1 WHERE connection_id = ?", (key,))
        self.ready_at.pop(key, None)

    # -- items ---------------------------------------------------------------------------------

    def item(self, connection_id: str, item_id: str) -> dict[str, Any] | None:
        """One item, or None."""
        row = self._db.execute(
            "SELECT data FROM ext_items WHERE connection_id = ? AND id = ?",
            (connection_id.casefold(), item_id),
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def items(self, connection_id: str) -> list[dict[str, Any]]:
        """Every item of a connection, in id order."""
        rows = self._db.execute(
            "SELECT data FROM ext_items WHERE connection_id = ? ORDER BY id",
            (connection_id.casefold(),),
        ).fetchall()
        return [json.loads(data) for (data,) in rows]

    def put_item(self, connection_id: str, item: dict[str, Any]) -> None:
        """Create or replace an item (PUT semantics)."""
        self._db.execute(
            "INSERT OR REPLACE INTO ext_items (connection_id, id, data) VALUES (?, ?, ?)",
            (connection_id.casefold(), item["id"], json.dumps(item)),
        )

    def delete_item(self, connection_id: str, item_id: str) -> bool:
        """Remove an item; False if there was none."""
        cursor = self._db.execute(
            "DELETE FROM ext_items WHERE connection_id = ? AND id = ?",
            (connection_id.casefold(), item_id),
        )
        return cursor.rowcount > 0

    # -- profile sources -----------------------------------------------------------------------

    def profile_source(self, source_id: str) -> dict[str, Any] | None:
        """One profile source by its ``sourceId`` (case-insensitive), or None."""
        row = self._db.execute(
            "SELECT data FROM ext_profile_sources WHERE source_id = ?", (source_id.casefold(),)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def profile_sources(self) -> list[dict[str, Any]]:
        """Every profile source the sandbox knows, oldest first."""
        rows = self._db.execute("SELECT data FROM ext_profile_sources ORDER BY rowid").fetchall()
        return [json.loads(data) for (data,) in rows]

    def put_profile_source(self, source: dict[str, Any]) -> None:
        """Store a new profile source."""
        self._db.execute(
            "INSERT OR REPLACE INTO ext_profile_sources (source_id, data) VALUES (?, ?)",
            (source["sourceId"].casefold(), json.dumps(source)),
        )

    def delete_profile_source(self, source_id: str) -> bool:
        """Remove a profile source; False if there was none."""
        cursor = self._db.execute(
            "DELETE FROM ext_profile_sources WHERE source_id = ?", (source_id.casefold(),)
        )
        return cursor.rowcount > 0

    # -- housekeeping --------------------------------------------------------------------------

    def clear(self) -> None:
        """Drop everything (``POST /_sandbox/reset``)."""
        for table in ("ext_connections", "ext_schemas", "ext_items", "ext_profile_sources"):
            self._db.execute(f"DELETE FROM {table}")
        self.ready_at.clear()

    def close(self) -> None:
        """Close the database."""
        self._db.close()
