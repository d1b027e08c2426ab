"""The confirmed state in a run: open it for the target, decide full or delta, find leavers.

``open_delta`` is called once the users are resolved (a leaver is a person the state holds
that no value of the file names) and before anything is listed. It says, in one line, why a
run lists everyone when it does: ``--full``, ``run.delta: off``, no state yet, a changed
config, or a state file that cannot be trusted (the last one is a warning).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from importer.config import Settings
from importer.graph.client import GraphClient, TokenProvider
from importer.pipeline.resolving import ResolvedRows
from importer.records import SkillRow
from importer.state import (
    DeltaLedger,
    Entry,
    StateHeader,
    config_fingerprint,
    fingerprint_text,
    open_state,
    state_path,
    void_people,
)
from importer.targets.identity import state_target, tenant_of

__all__ = ["DeltaSetup", "WithLeavers", "open_delta", "void_confirmed"]

logger = logging.getLogger(__name__)

#: Leavers listed per chunk.
_LEAVERS_PER_CHUNK = 1_000


@dataclass(slots=True)
class DeltaSetup:
    """What ``open_delta`` decided.

    Attributes:
        ledger: the run's ledger, or None when the run keeps no state (no tenant known).
        figures: for summary.json (``state``): mode, file, why the run is full.
        warnings: for the summary and the screen.
    """

    ledger: DeltaLedger | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class WithLeavers:
    """The resolved rows, then the leavers (people with no rows) a chunk at a time."""

    def __init__(self, resolved: ResolvedRows, leavers: Sequence[str]) -> None:
        self._resolved = resolved
        self._leavers = leavers

    @property
    def rows(self) -> int:
        """Rows held."""
        return self._resolved.rows

    @property
    def users(self) -> int:
        """People held, leavers included."""
        return self._resolved.users + len(self._leavers)

    def chunks(self) -> Iterator[Mapping[str, Sequence[SkillRow]]]:
        """The resolved chunks, then the leavers: a few ride with the last chunk (a small run
        stays one chunk, planned once), more come in chunks of their own."""
        last: Mapping[str, Sequence[SkillRow]] | None = None
        for chunk in self._resolved.chunks():
            if last is not None:
                yield last
            last = chunk
        leavers = self._leavers
        if last is not None and len(leavers) <= _LEAVERS_PER_CHUNK:
            yield {**last, **dict.fromkeys(leavers, ())}
            return
        if last is not None:
            yield last
        for start in range(0, len(leavers), _LEAVERS_PER_CHUNK):
            yield dict.fromkeys(leavers[start : start + _LEAVERS_PER_CHUNK], ())


def _full_reason(settings: Settings, full: bool, changed: list[str], new: bool) -> str:
    if full:
        return "--full: every person is listed"
    if settings.run.delta == "off":
        return "run.delta is off: every person is listed"
    if changed:
        return (
            f"the config changed since the last run ({', '.join(changed)}): every person is listed"
        )
    if new:
        return "no confirmed state yet for this target: every person is listed"
    return ""


def _leavers(
    people: Iterator[tuple[str, Entry]], resolved: ResolvedRows, file_users: set[str]
) -> dict[str, Entry]:
    """People the state holds whom no value of the file names (valid rows or not)."""
    present = resolved.present_people()
    if present is None:
        logger.warning("some users could not be looked up: leavers are handled next run")
        return {}
    return {
        person: entry
        for person, entry in people
        if person not in present and entry.written_as.casefold() not in file_users
    }


async def open_delta(
    settings: Settings,
    client: GraphClient,
    token_provider: TokenProvider,
    resolved: ResolvedRows,
    *,
    full: bool,
    dry_run: bool,
    now: datetime,
    file_users: set[str],
    tenant: str | None = None,
) -> DeltaSetup:
    """Open the target's state and make the run's ledger.

    Args:
        file_users: the users (case-folded) of the file's rows that are not to be written
            (invalid, duplicate): a person whose every row is invalid has not left the file.
        tenant: the tenant id when the run already asked (``tenant_of``), else asked here.
    """
    setup = DeltaSetup()
    kind = settings.target.kind
    if kind != "profile":
        return setup
    if tenant is None:
        tenant = await tenant_of(settings, client, token_provider)
    if not tenant:
        warning = (
            "the tenant this run writes to cannot be told (no tenant id in the token or in "
            "auth.tenant_id), so no confirmed state is kept: every person is listed"
        )
        logger.warning("%s", warning)
        setup.warnings.append(warning)
        setup.figures = {"delta": "off", "full_reason": warning}
        return setup
    parts = config_fingerprint(settings)
    header = StateHeader(state_target(settings), tenant, kind, parts)
    path = state_path(header.target, tenant, kind)
    try:
        opened = open_state(path, header, writable=not dry_run)
    except (OSError, sqlite3.Error) as exc:
        warning = (
            f"the confirmed state {path} cannot be opened ({exc}), so none is kept: every "
            "person is listed"
        )
        logger.warning("%s", warning)
        setup.warnings.append(warning)
        setup.figures = {"delta": "off", "full_reason": warning}
        return setup
    if opened.problem:
        setup.warnings.append(f"{opened.problem}: every person is listed")
    reason = _full_reason(settings, full, opened.changed, opened.new)
    if opened.problem:
        reason = f"{opened.problem}: every person is listed"
    leavers: dict[str, Entry] = {}
    if settings.run.mode == "sync":
        leavers = _leavers(opened.state.people(), resolved, file_users)
    setup.ledger = DeltaLedger(
        opened.state,
        fingerprint=fingerprint_text(parts),
        now=now,
        verify_days=settings.run.verify_days,
        full=bool(reason),
        leavers=leavers,
    )
    setup.figures = {
        "delta": "full" if reason else "auto",
        "full_reason": reason,
        "state_file": str(path),
        "verify_days": settings.run.verify_days,
    }
    if reason:
        logger.info("%s", reason)
    else:
        logger.info(
            "confirmed state %s: people unchanged since Graph confirmed them are skipped", path
        )
    return setup


async def void_confirmed(
    settings: Settings, client: GraphClient, token_provider: TokenProvider, people: Iterable[str]
) -> None:
    """Make the next run list ``people`` again: writes are about to change their skills
    outside a run's own bookkeeping (``undo``), so what the state recorded no longer holds."""
    kind = settings.target.kind
    tenant = await tenant_of(settings, client, token_provider)
    if not tenant:
        return
    target = state_target(settings)
    path = state_path(target, tenant, kind)
    voided = void_people(path, StateHeader(target, tenant, kind), (p.casefold() for p in people))
    if voided:
        logger.info("%d people will be listed again by the next run (confirmed state)", voided)
