"""The sandbox's configuration and the live state one app instance works on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from importer.sandbox.auth import TokenIssuer
from importer.sandbox.directory import Directory, DirectoryUser
from importer.sandbox.external_store import ExternalStore
from importer.sandbox.faults import FaultConfig, FaultDice, ThrottleGate
from importer.sandbox.stats import SandboxStats
from importer.sandbox.store import SkillStore
from importer.sandbox.user_changes import UserChanges

__all__ = ["SandboxConfig", "SandboxState"]


@dataclass
class SandboxConfig:
    """How to build a sandbox.

    Attributes:
        db_path: SQLite file (state survives restarts with the same file) or ``":memory:"``.
        directory: Users CSV (``id,userPrincipalName,displayName``); None = only ``users``.
        users: Extra ``(object id, userPrincipalName)`` pairs.
        page_size: List page size; a client's ``$top`` may ask for fewer, never more.
        token_ttl_s: Lifetime of tokens from the token endpoint.
        faults: The fault config; the running sandbox uses this very object.
        schema_ready_s: How long an external connection's schema stays provisioning.
        schema_never_ready: Keep every schema provisioning forever (a service that never
            finishes).
        delta_page_size: Users per page of ``GET /users/delta``.
    """

    db_path: str = ":memory:"
    directory: Path | None = None
    users: Sequence[tuple[str, str]] = ()
    page_size: int = 100
    token_ttl_s: int = 3600
    faults: FaultConfig = field(default_factory=FaultConfig)
    schema_ready_s: float = 2.0
    schema_never_ready: bool = False
    delta_page_size: int = 999


class SandboxState:
    """Everything one running app shares: store, directory, tokens, faults and counters."""

    def __init__(
        self,
        config: SandboxConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        """Open the store and load the directory.

        Args:
            config: The sandbox config.
            clock: Monotonic seconds; drives throttling windows and token expiry.
            sleep: Used for injected latency (tests pass a recorder so they never wait).
        """
        if config.page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.config = config
        self.faults = config.faults
        self.clock = clock
        self.sleep = sleep
        self.directory = Directory.from_sources(config.directory, config.users)
        self.store = SkillStore(config.db_path)
        #: Every change to a user, numbered, for ``GET /users/delta``.
        self.user_changes = UserChanges(config.db_path)
        self.user_changes.sync(self.directory.users)
        #: External connections, schemas, items and profile sources (people-data connectors).
        self.external = ExternalStore(config.db_path)
        self.tokens = TokenIssuer(config.token_ttl_s, clock)
        self.gate = ThrottleGate(self.faults, clock)
        self.dice = FaultDice(self.faults)
        self.stats = SandboxStats()
        #: When each skill was stored (clock seconds), for the listing-lag fault.
        self.created_at: dict[str, float] = {}
        #: (user id, skill id) of every skill a DELETE removed, to tell a repeated delete's 404
        #: from a wrong id's.
        self.removed: set[tuple[str, str]] = set()
        #: (condition, future) pairs of ``RunningSandbox.wait_until``, checked after each request.
        self.watchers: list[tuple[Callable[[SandboxStats], bool], asyncio.Future[None]]] = []
        #: Cleared by ``RunningSandbox.hold``: Graph requests wait at the door until it is set.
        self.open = asyncio.Event()
        self.open.set()

    def notify_watchers(self) -> None:
        """Wake every ``wait_until`` whose condition now holds."""
        waiting = []
        for condition, future in self.watchers:
            if future.done():
                continue
            if condition(self.stats):
                future.set_result(None)
            else:
                waiting.append((condition, future))
        self.watchers[:] = waiting

    def stats_view(self) -> dict[str, Any]:
        """What ``GET /_sandbox/stats`` answers: the counters plus duplicates and totals.

        Duplicates are keyed by userPrincipalName (object id for users no longer listed).
        """
        duplicates = {}
        for user_id, names in self.store.duplicates().items():
            user = self.directory.by_id(user_id)
            duplicates[user.user_principal_name if user else user_id] = names
        return {
            **self.stats.as_dict(),
            "duplicates": duplicates,
            "skills_total": self.store.count(),
        }

    def put_user(self, user: DirectoryUser) -> None:
        """Create or replace a directory user (same object id), recorded as a change."""
        before = {u.id.casefold() for u in self.directory.users}
        self.directory = self.directory.with_user(user)
        self.user_changes.put(user)
        # A user holding the same UPN under another id is replaced, as Entra ID keeps UPNs
        # unique: that one is gone.
        for gone in before - {u.id.casefold() for u in self.directory.users}:
            self.user_changes.remove(gone)

    def remove_user(self, object_id: str) -> bool:
        """Delete a directory user, recorded as a change; False when there is none."""
        if self.directory.by_id(object_id) is None:
            return False
        self.directory = self.directory.without(object_id)
        self.user_changes.remove(object_id)
        return True

    def reset(self) -> None:
        """Drop all skills, zero the counters and forget throttling windows."""
        self.store.clear()
        self.removed.clear()
        self.external.clear()
        self.stats.clear()
        self.gate.reset()

    def close(self) -> None:
        """Close the stores."""
        self.store.close()
        self.external.close()
        self.user_changes.close()
