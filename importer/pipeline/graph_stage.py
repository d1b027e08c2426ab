"""The Graph stages of ``run``: resolve every user, then plan and write, under Ctrl-C/SIGTERM.

``dispatch`` hands back a ``GraphWork``: why the run stopped (if it did), and the figures
summary.json reports (requests, throttling, how users were resolved). Imported only by ``run``,
so that ``validate`` never loads aiohttp.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from importer.config import Settings
from importer.connector import ConfirmedItems, ConnectorWriter, open_confirmed_items
from importer.graph.client import GraphClient, TokenProvider
from importer.journal import open_journal
from importer.journal.backup import RunBackup
from importer.pipeline.delta import DeltaSetup, WithLeavers, open_delta
from importer.pipeline.resolving import ResolvedRows, directory_cache, resolve_for_run
from importer.pipeline.result import GraphWork, StateOptions
from importer.pipeline.signals import stop_on_signals
from importer.pipeline.spill import RowSpill, report_not_sent
from importer.progress import RESOLVING, RunProgress
from importer.records import RowOutcome
from importer.report.writer import ReportWriter
from importer.resolve import DirectoryCache
from importer.state import DeltaLedger
from importer.targets import open_graph
from importer.targets.identity import tenant_of
from importer.write.dispatcher import Dispatcher
from importer.write.groups import UserRows

__all__ = ["dispatch"]


async def dispatch(
    settings: Settings,
    token_provider: TokenProvider | None,
    users: RowSpill,
    writer: ReportWriter,
    *,
    dry_run: bool,
    allow_deletes: int | None,
    progress: RunProgress,
    state: StateOptions | None = None,
) -> GraphWork:
    """Resolve the users, then plan and write; returns what happened and the run's figures.

    ``token_provider``: the run signed in before reading (every Graph target needs one).
    ``state``: how the run uses the confirmed state (``run.delta``); None keeps none.
    """
    assert token_provider is not None
    async with open_graph(settings, token_provider) as client:
        work = GraphWork()
        tenants: list[str] = []

        async def find_cache() -> DirectoryCache | None:
            """Which tenant this is (asked once, inside the interruptible resolving step)."""
            if state is None:
                return None
            progress.start(RESOLVING, None, "users")
            progress.tell(RESOLVING, "finding which tenant the run writes to")
            tenants.append(await tenant_of(settings, client, token_provider))
            return directory_cache(
                settings, tenants[0], state.now, full=state.full, dry_run=dry_run
            )

        resolved = await _resolve_step(settings, client, users, writer, progress, work, find_cache)
        if resolved is not None:
            delta = DeltaSetup()
            if state is not None:
                delta = await open_delta(
                    settings,
                    client,
                    token_provider,
                    resolved,
                    full=state.full,
                    dry_run=dry_run,
                    now=state.now,
                    file_users=state.file_users,
                    tenant=tenants[0] if tenants else None,
                )
                work.state, work.warnings[:0] = delta.figures, delta.warnings
            items = None
            if settings.target.kind == "connector":
                now = state.now.timestamp() if state is not None else time.time()
                items, notes = await open_confirmed_items(
                    settings, client, token_provider, dry_run=dry_run, now=now
                )
                work.warnings.extend(notes)
            try:
                await _write_step(
                    settings,
                    client,
                    resolved,
                    writer,
                    progress,
                    work,
                    dry_run=dry_run,
                    allow_deletes=allow_deletes,
                    ledger=delta.ledger,
                    items=items,
                    full=state is None or state.full,
                    named=_named(users, state) if items is not None else set(),
                )
            finally:
                if delta.ledger is not None:
                    work.state.update(delta.ledger.figures)
                    delta.ledger.close()
                    if delta.ledger.failure:
                        work.warnings.append(delta.ledger.failure)
                if items is not None:
                    items.close()
        client.gate.log.finish()
        work.http = client.stats.as_dict()
        work.throttling = client.gate.log.totals()
        return work


async def _resolve_step(
    settings: Settings,
    client: GraphClient,
    users: RowSpill,
    writer: ReportWriter,
    progress: RunProgress,
    work: GraphWork,
    find_cache: Callable[[], Awaitable[DirectoryCache | None]],
) -> ResolvedRows | None:
    """Every user to an object id; None when the run stops here (``work`` then says why).

    ``find_cache``: the run's directory snapshot (``directory_cache``), None for none."""

    def emit(outcome: RowOutcome) -> None:
        progress.count(outcome.action)
        writer.add(outcome)

    async def resolve() -> ResolvedRows | str:
        cache = await find_cache()
        return await resolve_for_run(
            settings, client, users, emit, work.users, progress, cache=cache
        )

    resolving = asyncio.ensure_future(resolve())

    def stop() -> None:
        resolving.cancel()

    def interrupt() -> None:
        progress.interrupt()
        stop()

    # A report that cannot be written stops the sending: nothing goes out unrecorded.
    writer.on_failure(stop)
    with stop_on_signals(interrupt):
        await asyncio.wait({resolving})
    writer.on_failure(None)
    if resolving.cancelled():
        report_not_sent(users, emit, "interrupted while resolving users")
        work.interrupted = True
        return None
    resolved = resolving.result()
    if isinstance(resolved, str):
        work.aborted = resolved
        return None
    return resolved


async def _write_step(
    settings: Settings,
    client: GraphClient,
    resolved: ResolvedRows,
    writer: ReportWriter,
    progress: RunProgress,
    work: GraphWork,
    *,
    dry_run: bool,
    allow_deletes: int | None,
    ledger: DeltaLedger | None = None,
    items: ConfirmedItems | None = None,
    full: bool = False,
    named: set[str] | None = None,
) -> None:
    """Plan each chunk against Graph and send the changes; the outcome goes into ``work``.

    ``items``: the connector's confirmed items (``target.kind: connector``); ``full``: send
    every person's item whatever they say; ``named``: every user value of the file.

    The writer is chosen by ``target.kind``: profile skills, or a people-data connector's
    items. Every profile write Graph confirms goes to the report folder's journal as it is
    confirmed (a dry run writes none), so the run can be undone even if it is killed; with
    ``run.backup: auto`` the affected people's skills go to ``backup/`` before the writes.
    """
    users: UserRows = resolved
    if ledger is not None and ledger.leavers:
        users = WithLeavers(resolved, ledger.leavers)
    journal = None
    backup = None
    dispatcher: Dispatcher | ConnectorWriter
    if settings.target.kind == "connector":
        assert items is not None
        dispatcher = ConnectorWriter(
            client,
            settings=settings,
            ledger=items,
            fresh=full,
            file_users=named,
            dry_run=dry_run,
            allow_deletes=allow_deletes,
            on_outcome=writer.add,
            progress=progress,
        )
    else:
        journal = None if dry_run else open_journal(settings, writer.path, "run")
        if not dry_run and settings.run.backup == "auto":
            backup = RunBackup(writer.path, settings)
        dispatcher = Dispatcher(
            client,
            run=settings.run,
            dry_run=dry_run,
            allow_deletes=allow_deletes,
            on_outcome=writer.add,
            progress=progress,
            on_confirmed=journal.record if journal is not None else None,
            before_writes=backup,
            ledger=ledger,
            on_person_rows=writer.add_person_rows,
        )
    writer.on_failure(dispatcher.stop)
    try:

        def interrupt() -> None:
            progress.interrupt()
            dispatcher.stop()

        with stop_on_signals(interrupt):
            result = await dispatcher.run(users)
    finally:
        if journal is not None:
            journal.close()
        if backup is not None:
            backup.close()
    writer.on_failure(None)
    if journal is not None and journal.failure:
        work.warnings.append(journal.failure)
    if backup is not None and backup.people and not backup.failure:
        work.warnings.append(
            f"backup of {backup.people} people's skills before writing: {backup.path}"
        )
    work.aborted, work.interrupted = result.aborted, result.interrupted
    work.warnings.extend(result.warnings)
    work.sweep = result.sweep


def _named(users: RowSpill, state: StateOptions | None) -> set[str]:
    """Every user value of the file, case-folded: valid rows' (resolved or not) and the others'."""
    named = {value.casefold() for value in users.user_values()}
    return named | (state.file_users if state is not None else set())
