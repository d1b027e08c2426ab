"""What Graph confirmed holding for each person's item: the content hash and skill digests.

The connector writer asks ``recorded(item_id)`` before it builds a PUT: the same hash means the
item already says exactly this, and nothing is sent. It calls ``record`` only after Graph
confirmed the PUT (2xx), and ``forget`` after a confirmed DELETE, so a write that failed, or
whose answer never came, is sent again next time.

``ConfirmedItems`` is the small interface the writer needs; ``ItemLedger`` keeps it in one
SQLite file per connection (stdlib ``sqlite3``: one table, no ORM needed), next to the sandbox's
database for the sandbox, else in the per-user state folder (platformdirs), keyed by target,
tenant and connection id so two tenants never share hashes.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import platformdirs

from importer.config import Settings

__all__ = ["ConfirmedItems", "ItemLedger", "Recorded", "ledger_path"]


@dataclass(frozen=True, slots=True)
class Recorded:
    """What the last confirmed PUT of one item said."""

    content_hash: str
    skills: dict[str, str]


class ConfirmedItems(Protocol):
    """The confirmed state of a connection's items, as the writer reads and records it."""

    def recorded(self, item_id: str) -> Recorded | None:
        """The last confirmed content of ``item_id``, or None when none was confirmed."""
        ...  # pragma: no cover - protocol

    def record(self, item_id: str, recorded: Recorded) -> None:
        """Graph confirmed a PUT of ``item_id`` with this content."""
        ...  # pragma: no cover - protocol

    def forget(self, item_id: str) -> None:
        """Graph confirmed the item is gone."""
        ...  # pragma: no cover - protocol

    def item_ids(self) -> Iterator[str]:
        """Every item with confirmed content (sync looks for people no longer in the file)."""
        ...  # pragma: no cover - protocol


def ledger_path(settings: Settings) -> Path:
    """Where the ledger of the configured target and connection lives."""
    connection = settings.connector.connection_id.casefold()
    target = settings.target
    if target.graph == "sandbox":
        return target.sandbox_db.with_name(f"{target.sandbox_db.stem}.connector-{connection}.db")
    key = f"{target.graph}|{settings.auth.tenant_id.casefold()}|{connection}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    folder = Path(platformdirs.user_state_dir("skills-import", appauthor=False))
    return folder / f"connector-{connection}-{digest}.db"


class ItemLedger:
    """``ConfirmedItems`` in a SQLite file; every record is committed at once."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS items"
            " (id TEXT PRIMARY KEY, hash TEXT NOT NULL, skills TEXT NOT NULL)"
        )

    def recorded(self, item_id: str) -> Recorded | None:
        row = self._db.execute("SELECT hash, skills FROM items WHERE id = ?", (item_id,)).fetchone()
        return None if row is None else Recorded(row[0], dict(json.loads(row[1])))

    def record(self, item_id: str, recorded: Recorded) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO items (id, hash, skills) VALUES (?, ?, ?)",
            (item_id, recorded.content_hash, json.dumps(recorded.skills)),
        )

    def forget(self, item_id: str) -> None:
        self._db.execute("DELETE FROM items WHERE id = ?", (item_id,))

    def item_ids(self) -> Iterator[str]:
        for (item_id,) in self._db.execute("SELECT id FROM items ORDER BY id").fetchall():
            yield str(item_id)

    def close(self) -> None:
        """Close the file."""
        self._db.close()
