"""What Graph confirmed holding for each person's item: the content hash and skill digests.

The connector writer asks ``recorded(item_id)`` before it builds a PUT: the same hash means the
item already says exactly this, and nothing is sent. It calls ``record`` only after Graph
confirmed the PUT (2xx), and ``forget`` after a confirmed DELETE, so a write that failed, or
whose answer never came, is sent again next time.

``ConfirmedItems`` is the small interface the writer needs. ``StateItems`` keeps it in the
run's confirmed-state file (``importer.state``, kind ``connector-{connection id}``: one file
per target, tenant and connection, the tenant told by the token or, for a sandbox, by its
database); ``ItemLedger`` is an in-memory stand-in for a run that keeps no state (the tenant
cannot be told).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from importer.config import Settings
from importer.graph.client import GraphClient, TokenProvider
from importer.state import ConfirmedState, Entry, StateHeader, open_state, state_path
from importer.targets.identity import state_target, tenant_of

__all__ = ["ConfirmedItems", "ItemLedger", "Recorded", "StateItems", "open_confirmed_items"]

logger = logging.getLogger(__name__)

#: Confirmations written to the state file in one transaction.
_COMMIT_EVERY = 500


@dataclass(frozen=True, slots=True)
class Recorded:
    """What the last confirmed PUT of one item said."""

    content_hash: str
    skills: dict[str, str]
    #: The person as the file wrote them (a leaver's report line; sync keeps anyone the file
    #: still names).
    written_as: str = ""


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

    def items(self) -> Iterator[tuple[str, str]]:
        """Every item with confirmed content and its person as written (sync looks for people
        no longer in the file)."""
        ...  # pragma: no cover - protocol


class StateItems:
    """``ConfirmedItems`` in the confirmed state (one entry per item; committed in groups).

    An entry's digest holds the item's content hash and its skills' digests as JSON;
    ``owned`` is how many skills it holds.
    """

    def __init__(self, state: ConfirmedState, now: float) -> None:
        self._state = state
        self._now = now

    def recorded(self, item_id: str) -> Recorded | None:
        entry = self._state.entries([item_id]).get(item_id)
        if entry is None or not entry.digest:
            return None
        try:
            found = json.loads(entry.digest)
            return Recorded(str(found["hash"]), dict(found["skills"]), entry.written_as)
        except (ValueError, KeyError, TypeError):
            return None  # written by something else: send the item again

    def record(self, item_id: str, recorded: Recorded) -> None:
        digest = json.dumps({"hash": recorded.content_hash, "skills": recorded.skills})
        entry = Entry(digest, self._now, recorded.written_as, len(recorded.skills))
        self._state.confirm(item_id, entry)
        if self._state.buffered >= _COMMIT_EVERY:
            self._state.commit()

    def forget(self, item_id: str) -> None:
        self._state.forget(item_id)
        self._state.commit()

    def items(self) -> Iterator[tuple[str, str]]:
        self._state.commit()
        for person, entry in self._state.people():
            yield person, entry.written_as

    def close(self) -> None:
        """Commit what is buffered and close the file."""
        self._state.close()


class ItemLedger:
    """``ConfirmedItems`` in memory, for a run that keeps no state (nothing is skipped)."""

    def __init__(self) -> None:
        self._items: dict[str, Recorded] = {}

    def recorded(self, item_id: str) -> Recorded | None:
        return self._items.get(item_id)

    def record(self, item_id: str, recorded: Recorded) -> None:
        self._items[item_id] = recorded

    def forget(self, item_id: str) -> None:
        self._items.pop(item_id, None)

    def items(self) -> Iterator[tuple[str, str]]:
        for item_id in sorted(self._items):
            yield item_id, self._items[item_id].written_as

    def close(self) -> None:
        """Nothing to close."""


async def open_confirmed_items(
    settings: Settings,
    client: GraphClient,
    token_provider: TokenProvider,
    *,
    dry_run: bool,
    now: float,
) -> tuple[StateItems | ItemLedger, list[str]]:
    """The connection's confirmed items for this run, and warnings for the summary.

    The state file is the one of this target and tenant, kind ``connector`` (read only in a
    dry run). When the tenant cannot be told, or the file cannot be trusted, every person is
    sent (a warning says why).
    """
    tenant = await tenant_of(settings, client, token_provider)
    if not tenant:
        warning = (
            "the tenant this run writes to cannot be told, so no confirmed state is kept: "
            "every person's item is sent"
        )
        logger.warning("%s", warning)
        return ItemLedger(), [warning]
    # One file per connection: item ids repeat across connections of the same tenant.
    kind = f"connector-{settings.connector.connection_id.casefold()}"
    header = StateHeader(state_target(settings), tenant, kind)
    opened = open_state(state_path(header.target, tenant, kind), header, writable=not dry_run)
    warnings = [f"{opened.problem}: every person's item is sent"] if opened.problem else []
    return StateItems(opened.state, now), warnings
