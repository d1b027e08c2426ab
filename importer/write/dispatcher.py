"""Write every user's planned changes to Graph: concurrently, batched, retried, never twice.

Two phases, so that nothing is written before every guard has had its say:

1. *Plan*: list each user's skills (batched GETs, ``@odata.nextLink`` followed) and plan the
   user's operations. Dry runs stop here and report ``would-*`` actions.
2. *Write*: send creates, PATCHes and deletes through the shared ``Batcher``.

Safety rules:

- transient failures (429, 503, 504, timeouts, resets) are retried with the announced
  ``Retry-After`` or a jittered backoff, up to ``max_attempts`` (``importer.graph.retry``);
  no wait is longer than ``max_retry_wait_s``;
- a create whose outcome is unknown (timeout, reset, any 5xx) is never re-posted blindly, and
  copies Graph made anyway are swept at the end (``importer.write.reconcile``);
- extra copies of a wanted skill that carry the source tag are deleted in every mode (planner);
- if every one of the first users' requests is refused with 401/403, the run stops (exit
  ``SAFETY_ABORT``) with a message that names the cause; a fixed token refused with 401 stops
  it at once, as does a sign-in that fails mid-run;
- ``stop()`` (Ctrl-C, SIGTERM, a guard) ends every wait at once: rows never sent are reported
  ``not-sent``, rows Graph answered are reported as answered (``importer.write.execute``);
- nothing unforeseen escapes: such a row fails ``internal-error`` and the run goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from importer.config import RunSettings
from importer.errors import GraphError, NotSentError
from importer.graph.batcher import Batcher
from importer.graph.client import GraphClient
from importer.graph.pacing import AdaptivePacer
from importer.progress import LISTING, WRITING, RunProgress
from importer.records import Action, ConfirmedWrite, OpKind, RowOutcome, SkillRow
from importer.write.delta import StateHooks
from importer.write.execute import OperationWriter, WriteContext, as_graph_error
from importer.write.groups import RowsInMemory, UserRows
from importer.write.guards import SystemicRefusalGuard, delete_guard
from importer.write.listing import SkillLister
from importer.write.outcomes import INTERRUPTED, DispatchResult, ProgressState, outcome_for
from importer.write.planner import Planned, UserPlan, deletes_in, plan_user_changes
from importer.write.reconcile import Reconciler
from importer.write.stopping import StopSwitch

if TYPE_CHECKING:
    from importer.state import DeltaLedger

__all__ = [
    "LISTING_BATCHES_PER_SLOT",
    "SETTLE_S",
    "SWEEP_PATIENCE_S",
    "WRITE_BATCHES_PER_SLOT",
    "BeforeWrites",
    "DispatchResult",
    "Dispatcher",
    "PlanUser",
    "ProgressState",
]

logger = logging.getLogger(__name__)

#: Told of a chunk's plans before its first write: (plans, user -> skills listed, chunked).
#: It returns why the run must not write (the run then stops, exit 3), or None.
BeforeWrites = Callable[[list[Planned], Callable[[str], list[dict[str, Any]]], bool], "str | None"]

#: Plans one user's operations: (user, their rows, the skills Graph holds) -> the plan.
PlanUser = Callable[[str, Sequence[SkillRow], Sequence[Mapping[str, Any]]], UserPlan]

#: How long after a user's last create with an unknown outcome a late copy may still land: the
#: final sweep trusts only listings that started later (never more than ``run.max_retry_wait_s``).
SETTLE_S = 10.0

#: How long after that the final sweep keeps trying to get a listing it can trust, through
#: timeouts and retries, before it reports the user unverified (never more than
#: ``run.max_retry_wait_s``): several timed-out listings with the retry policy's backoff fit in
#: it, and a Graph that stays unreachable ends the run with those rows flagged, not hanging.
SWEEP_PATIENCE_S = 120.0

#: Listings in progress at once, in full batches per HTTP slot: one batch on the wire and one
#: queued behind it keep every slot busy without holding every user's listing in memory.
LISTING_BATCHES_PER_SLOT = 2

#: Writes sent ahead of their answers, in full batches per HTTP slot: enough that a slot never
#: waits for the writer to refill its batch, few enough that a stop leaves little on the wire.
WRITE_BATCHES_PER_SLOT = 4


class Dispatcher(StopSwitch):
    """Plans and writes the desired skills of every user.

    Args:
        client: an open ``GraphClient``.
        run: the ``run:`` settings (mode, source tag, batch size, concurrency, retries, the
            delete ratio guard).
        dry_run: plan only; send no write.
        allow_deletes: sync may delete up to this many skills whatever the ratio says
            (``--allow-deletes N``).
        on_outcome: called once for every row (and every sync delete).
        sleep: injectable for tests.
        progress: the run's live counters (listing and writing phases); one is made if None.
        settle_s: see ``SETTLE_S``.
        patience_s: see ``SWEEP_PATIENCE_S``.
        on_confirmed: told of every write Graph confirmed (the run's journal).
        plan: plans one user's operations from their rows and Graph's skills; default the
            import's ``plan_user_changes`` (``undo`` plans from a journal instead).
        before_writes: called with each chunk's plans, how to get a planned user's skills as
            listed for the plan, and whether the run is chunked, just before the chunk's first
            write (the automatic backup); a reason it returns stops the run (exit 3).
        ledger: the run's use of the confirmed state (``run.delta``): people it lets the run
            skip are reported unchanged without a request; None lists everyone.
        on_person_rows: reports one skipped person's rows at once, each with the same action
            and ``changes`` (the report's block path: the same lines as ``on_outcome`` of each
            row's outcome, without building them); None sends each through ``on_outcome``.
    """

    def __init__(
        self,
        client: GraphClient,
        *,
        run: RunSettings,
        dry_run: bool = False,
        allow_deletes: int | None = None,
        on_outcome: Callable[[RowOutcome], None],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        progress: RunProgress | None = None,
        settle_s: float = SETTLE_S,
        patience_s: float = SWEEP_PATIENCE_S,
        on_confirmed: Callable[[ConfirmedWrite], None] | None = None,
        plan: PlanUser | None = None,
        before_writes: BeforeWrites | None = None,
        ledger: DeltaLedger | None = None,
        on_person_rows: Callable[[Sequence[SkillRow], Action, str], None] | None = None,
    ) -> None:
        self._before_writes = before_writes
        self._emit_rows = on_person_rows
        # Listings started while the first chunk was chosen: request user -> its listing.
        self._prefetched: dict[str, asyncio.Task[list[dict[str, Any]]]] = {}
        self._prefetch_limit = asyncio.Semaphore(
            max(1, run.concurrency * run.batch_size * LISTING_BATCHES_PER_SLOT)
        )
        self._chunked = False
        self._client = client
        self._on_confirmed = on_confirmed
        self._plan_user = plan
        self._run = run
        self._dry_run = dry_run
        self._allow_deletes = allow_deletes
        self._emit = on_outcome
        # Every wait of the run ends at once when it stops.
        self._sleep = client.stopping.sleeper(sleep)
        self._settle_s = min(settle_s, run.max_retry_wait_s)
        self._patience_s = min(patience_s, run.max_retry_wait_s)
        self._lister: SkillLister | None = None
        self._reconciler: Reconciler | None = None
        self._writer: OperationWriter | None = None
        # Object id -> the user as the file wrote it, for rows that have no input row (deletes).
        self._written_as: dict[str, str] = {}
        self._refusals: SystemicRefusalGuard | None = None
        self._batcher: Batcher | None = None
        self._stop_reason = ""
        self.result = DispatchResult()
        self.progress = progress if progress is not None else RunProgress()
        self.progress.throttled = lambda: client.gate.is_closed
        self._delta = StateHooks(ledger, self._record_rows, self.progress) if ledger else None

    # ------------------------------------------------------------------ entry point

    async def run(self, users: UserRows | Mapping[str, Sequence[SkillRow]]) -> DispatchResult:
        """Plan and write every user's rows; every row gets exactly one outcome.

        Users come a chunk at a time (``UserRows``). One chunk is planned whole, then written,
        as always. With several, the next chunk is planned while the current one is written,
        so memory holds two chunks at most; in sync mode every chunk is planned once first,
        to count deletes for the guard before anything is written (its listings are read
        again when its turn comes, rather than held).
        """
        source = RowsInMemory(users) if isinstance(users, Mapping) else users
        self.progress.start(LISTING, source.users, "users")
        self.progress.start(WRITING, source.rows, "rows")
        self._refusals = SystemicRefusalGuard(
            source.users, can_refresh_token=self._client.can_refresh_token
        )
        pacer = AdaptivePacer(sleep=self._sleep, max_wait_s=self._run.max_retry_wait_s)
        self.progress.accepted_rate = lambda: pacer.rate
        self._client.gate.log.accepted_rate = lambda: pacer.rate
        async with Batcher(
            self._client,
            batch_size=self._run.batch_size,
            concurrency=self._run.concurrency,
            pacer=pacer,
        ) as batcher:
            self._batcher = batcher
            self._lister = SkillLister(
                self._client,
                batcher,
                max_attempts=self._run.max_attempts,
                max_wait_s=self._run.max_retry_wait_s,
                sleep=self._sleep,
            )
            self._reconciler = Reconciler(
                self._lister,
                source_tag=self._run.source_tag,
                settle_s=self._settle_s,
                patience_s=self._patience_s,
                sleep=self._sleep,
            )
            self._writer = OperationWriter(
                WriteContext(
                    batcher=batcher,
                    reconciler=self._reconciler,
                    run=self._run,
                    stats=self._client.stats,
                    sleep=self._sleep,
                    stop=self._client.stopping,
                    record=self._record,
                    note_write=functools.partial(self._note_auth, "write"),
                    on_confirmed=self._confirmed if self._on_confirmed is not None else None,
                )
            )
            if self._delta is not None:
                self._delta.ledger.uncertain = self._reconciler.is_pending
            if self._stop_reason:
                batcher.stop()
            try:
                await self._dispatch(source)
            finally:
                await _cancelled(*self._prefetched.values())  # left by a run that ended early
                self._prefetched.clear()
        return self.result

    async def _dispatch(self, source: UserRows) -> None:
        """Plan and write every chunk, then sweep: the body of ``run``."""
        chunks = self._selected(source.chunks(), record=True)
        first = await anext(chunks, None)
        # The first chunk's listings go out while the next chunk is chosen, except in a sync
        # run, which counts every chunk's deletes before it plans one for real.
        planning = None
        if first is not None and self._run.mode != "sync":
            planning = asyncio.create_task(self._plan_all(first))
        try:
            second = await anext(chunks, None) if first is not None else None
        except BaseException:
            await _cancelled(planning)
            raise
        if second is None:
            plans = await planning if planning else await self._plan_all(first or {})
            if self._dry_run:
                # A dry run tells what the real one would do, the guard's verdict included.
                self._check_delete_guard(plans)
                self._report_dry_run(plans)
                return
            self._check_delete_guard(plans)
            await self._write_all(plans)
        else:
            assert first is not None
            self._chunked = True
            taken = (second,) if planning else (first, second)
            await self._run_chunks(source, _chained(taken, chunks), planning)
            if self._dry_run:
                return
        try:
            await self._sweep()
        finally:
            self._release_held()  # every row gets its outcome, whatever ended the sweep

    async def _selected(
        self, chunks: Iterator[Mapping[str, Sequence[SkillRow]]], *, record: bool
    ) -> AsyncIterator[Mapping[str, Sequence[SkillRow]]]:
        """With the confirmed state, the people of each chunk to list (``StateHooks.
        listed_chunks``: those skipped are reported as the chunks go by). Without, the chunks.

        The listings of each chunk's people start as they are chosen (``_prefetch``), unless
        a sync run must first count its deletes over every chunk.
        """
        if self._delta is None:
            for chunk in chunks:
                yield chunk
            return

        def owned(skills: int) -> None:
            self.result.owned_skills += skills

        early = record and not (self._run.mode == "sync" and not self._dry_run)
        async for chunk in self._delta.listed_chunks(
            chunks,
            record=record,
            rows_per_chunk=self._run.rows_per_chunk,
            owned=owned,
            early=self._prefetch if early else None,
        ):
            yield chunk

    def _prefetch(self, users: Mapping[str, Sequence[SkillRow]]) -> None:
        """Start listing these people's skills now, for the plan of their chunk to come."""
        assert self._lister is not None
        lister = self._lister
        limit = self._prefetch_limit

        async def list_early(user: str) -> list[dict[str, Any]]:
            async with limit:
                return await lister.list_skills(user)

        for rows in users.values():
            if rows:
                user = rows[0].user_id or rows[0].user
                self._prefetched[user] = asyncio.create_task(list_early(user))

    async def _run_chunks(
        self,
        source: UserRows,
        chunks: AsyncIterator[Mapping[str, Sequence[SkillRow]]],
        planning: asyncio.Task[list[Planned]] | None = None,
    ) -> None:
        """Plan each chunk while the one before is written. ``planning``: the first chunk's,
        already under way (not in a sync run, which first counts every chunk's deletes)."""
        if self._run.mode == "sync" and not self._dry_run:
            assert planning is None
            deletes = 0
            async for chunk in self._selected(source.chunks(), record=False):
                counted = await self._plan_all(chunk, record=False)
                deletes += deletes_in(counted)
                self._release(counted, counted=True)
            self._guard_deletes(deletes)
            self.result.owned_skills = 0  # counted again as the chunks are planned for real
            self.result.warnings.clear()
        deletes = 0
        try:
            async for chunk in chunks:
                if self._stop_reason and self.result.aborted:
                    self._hold_back(chunk)
                    continue
                if planning is None:
                    planning = asyncio.create_task(self._plan_all(chunk))
                    continue
                plans = await planning
                planning = asyncio.create_task(self._plan_all(chunk))
                deletes += await self._use_plans(plans)
            if planning is not None:
                deletes += await self._use_plans(await planning)
                planning = None
        finally:
            await _cancelled(planning)
        if self._dry_run and self._run.mode == "sync":
            self._guard_deletes(deletes, dry_run=True)

    async def _use_plans(self, plans: list[Planned]) -> int:
        if self._dry_run:
            self._report_dry_run(plans)
        else:
            await self._write_all(plans)
        self._release(plans)
        return deletes_in(plans)

    def _release(self, plans: list[Planned], *, counted: bool = False) -> None:
        """Forget what a finished chunk's users needed: listings, reported ids, names as written.

        Only users with a create whose outcome was unknown are kept, for the final sweep; so
        a run's memory grows with one chunk, not with everybody's skills. ``counted``: plans of
        the sync guard's count, whose people the confirmed state goes on following (the first
        chunks are already chosen for real by then).
        """
        assert self._lister is not None
        assert self._reconciler is not None
        if self._delta is not None and not counted:
            self._delta.release(plans)
        for user, _rows, _plan in plans:
            if not self._reconciler.is_pending(user):
                self._lister.forget(user)
                self._reconciler.forget(user)
                self._written_as.pop(user, None)

    def _hold_back(self, chunk: Mapping[str, Sequence[SkillRow]]) -> None:
        """Rows of a chunk the run will not plan any more: each one is reported not sent."""
        for rows in chunk.values():
            for row in rows:
                self._record(outcome_for(row, Action.NOT_SENT, error=self._not_sent()))

    # ------------------------------------------------------------------ phase 1: plan

    async def _plan_all(
        self, users: Mapping[str, Sequence[SkillRow]], *, record: bool = True
    ) -> list[Planned]:
        """List and plan every user of one chunk. ``record=False`` only counts (sync guard)."""
        limit = asyncio.Semaphore(max(1, self._batches_of(LISTING_BATCHES_PER_SLOT)))

        async def plan_one(user: str, rows: Sequence[SkillRow]) -> UserPlan | None:
            async with limit:
                existing = await self._list_for_plan(user, rows, record=record)
            if record:
                self.progress.advance(phase=LISTING)
            if existing is None:
                return None
            try:
                if self._plan_user is not None:
                    plan = self._plan_user(user, rows, existing)
                else:
                    plan = plan_user_changes(
                        user, rows, existing, mode=self._run.mode, source_tag=self._run.source_tag
                    )
            except Exception as exc:  # a listing no one foresaw: this user fails, not the run
                self._report_rows(rows, Action.FAILED, as_graph_error(exc), record=record)
                return None
            self.result.warnings.extend(plan.warnings)
            self.result.owned_skills += plan.owned
            if record and self._delta is not None:
                self._delta.planned(user, plan)
            return plan

        # Requests go by the object id the resolve stage found (the user as written when
        # there is none); reports keep the user as written. A person with no rows is one
        # who left the file (sync with the confirmed state): their owned skills go.
        groups = [
            (rows[0].user_id or rows[0].user if rows else key, rows)
            for key, rows in users.items()
            if rows or self._delta is not None
        ]
        self._written_as.update(
            (user, rows[0].user if rows else self._left_as(user)) for user, rows in groups
        )
        plans = await asyncio.gather(*(plan_one(user, rows) for user, rows in groups))
        return [(user, rows, plan) for (user, rows), plan in zip(groups, plans, strict=True)]

    async def _list_for_plan(
        self, user: str, rows: Sequence[SkillRow], *, record: bool = True
    ) -> list[dict[str, Any]] | None:
        """List the user's skills, or report all their rows and return None."""
        assert self._lister is not None
        early = self._prefetched.pop(user, None)
        try:
            skills = await (early if early is not None else self._lister.list_skills(user))
        except NotSentError as exc:
            self._report_rows(rows, Action.NOT_SENT, exc, record=record)
            return None
        except Exception as exc:
            error = as_graph_error(exc)
            self._note_auth("read", user, error)
            self._report_rows(rows, Action.FAILED, error, record=record, attempts=1)
            if record and self._delta is not None:
                warning = self._delta.listing_failed(user, rows, error)
                self.result.warnings.extend([warning] if warning else [])
            return None
        self._note_auth("read", user, None)
        return skills

    def _report_rows(
        self,
        rows: Sequence[SkillRow],
        action: Action,
        error: GraphError,
        *,
        record: bool,
        attempts: int = 0,
    ) -> None:
        if record:
            for row in rows:
                self._record(outcome_for(row, action, error=error, attempts=attempts))

    def _report_dry_run(self, plans: list[Planned]) -> None:
        would = {
            OpKind.CREATE: Action.WOULD_CREATE,
            OpKind.UPDATE: Action.WOULD_UPDATE,
            OpKind.DELETE: Action.WOULD_DELETE,
            OpKind.UNCHANGED: Action.UNCHANGED,
        }
        for _user, _rows, plan in plans:
            if plan is None:
                continue
            for op in plan.operations:
                self._record(outcome_for(op, would[op.kind], skill_id=op.skill_id or ""))

    def _check_delete_guard(self, plans: list[Planned]) -> None:
        self._guard_deletes(deletes_in(plans))

    def _guard_deletes(self, deletes: int, *, dry_run: bool = False) -> None:
        reason = delete_guard(
            deletes, self.result.owned_skills, self._run.max_delete_ratio, self._allow_deletes
        )
        if reason and (dry_run or self._dry_run):
            self.result.aborted = self.result.aborted or reason  # nothing to stop: the exit only
        elif reason:
            self._abort(reason)

    # ------------------------------------------------------------------ phase 2: write

    async def _write_all(self, plans: list[Planned]) -> None:
        """Write every operation of a chunk's plans; return when each has its outcome.

        Operations go to the batcher in plan order, at most a window ahead of the answers,
        without a task each (``OperationWriter.start``).
        """
        assert self._writer is not None
        if self._before_writes is not None and not self._stop_reason:
            assert self._lister is not None
            refusal = self._before_writes(plans, self._lister.listed, self._chunked)
            if refusal:
                self._abort(refusal)
        if self._delta is not None:
            self._delta.before_writes(plans)
        operations = (op for _u, _r, plan in plans if plan is not None for op in plan.operations)
        await self._writer.write_all(operations, self._batches_of(WRITE_BATCHES_PER_SLOT))

    async def _sweep(self) -> None:
        """After the writes, remove extra copies left by creates whose outcome was unknown,
        then report those rows as the sweep found them (``importer.write.sweep``)."""
        assert self._reconciler is not None
        if not self._reconciler.pending:
            return
        if self._stop_reason:
            self._release_held()
            return
        swept = await self._reconciler.sweep(lambda user: self._written_as.get(user, user))
        self.result.warnings.extend(swept.warnings)
        self.result.sweep = swept.figures.as_dict()
        for outcome in swept.outcomes:
            self._record(outcome)

    def _release_held(self) -> None:
        """Rows whose create may have left copies, when the run ends before the sweep."""
        if self._reconciler is None or not self._reconciler.pending:
            return
        left = self._reconciler.release_unchecked(
            "the run stopped before the final check", lambda user: self._written_as.get(user, user)
        )
        self.result.warnings.extend(left.warnings)
        self.result.sweep = left.figures.as_dict()
        for outcome in left.outcomes:
            self._record(outcome)

    # ------------------------------------------------------------------ bookkeeping

    def _batches_of(self, per_slot: int) -> int:
        """Sub-requests that fill ``per_slot`` batches on every HTTP slot."""
        return self._run.concurrency * self._run.batch_size * per_slot

    def _not_sent(self) -> NotSentError:
        code = INTERRUPTED if self.result.interrupted else ""
        reason = self._stop_reason or "the run was stopping"
        return NotSentError(f"not sent: {reason}", code=code, sent=False)

    def _left_as(self, user: str) -> str:
        return self._delta.ledger.written_as(user.casefold()) if self._delta else user

    def _record(self, outcome: RowOutcome) -> None:
        if self._delta is not None:
            self._delta.settled(outcome)
        self.progress.count(outcome.action)
        if not outcome.source and outcome.user in self._written_as:
            outcome = replace(outcome, user=self._written_as[outcome.user])
        self._emit(outcome)

    def _record_rows(self, rows: Sequence[SkillRow], action: Action, changes: str) -> None:
        """The rows of a person the state skipped: one outcome each, as a block. They need
        none of ``_record``'s care: the ledger does not follow a skipped person, and rows
        from the file keep the user as written."""
        if self._emit_rows is None:
            for row in rows:
                self._record(RowOutcome.for_row(row, action, changes=changes))
            return
        self.progress.count(action, len(rows))
        self._emit_rows(rows, action, changes)

    def _confirmed(self, write: ConfirmedWrite) -> None:
        assert self._on_confirmed is not None
        if write.user_as_written == write.user and write.user in self._written_as:
            write = replace(write, user_as_written=self._written_as[write.user])
        self._on_confirmed(write)

    def _note_auth(self, kind: str, user: str, error: GraphError | None) -> None:
        assert self._refusals is not None
        reason = self._refusals.note(kind, user, error)
        if reason:
            self._abort(reason)


async def _chained(
    first: Iterable[Mapping[str, Sequence[SkillRow]]],
    rest: AsyncIterator[Mapping[str, Sequence[SkillRow]]],
) -> AsyncIterator[Mapping[str, Sequence[SkillRow]]]:
    """The chunks already taken, then the rest."""
    for chunk in first:
        yield chunk
    async for chunk in rest:
        yield chunk


async def _cancelled(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel work that will not be used (a chunk's planning, early listings); wait for it."""
    for task in tasks:
        if task is not None and not task.done():
            task.cancel()
    for task in tasks:
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
