"""Write every user's planned changes to Graph: concurrently, batched, retried, never twice.

Two phases, so that nothing is written before every guard has had its say:

1. *Plan*: list each user's skills (batched GETs, ``@odata.nextLink`` followed) and plan the
   user's operations. Dry runs stop here and report ``would-*`` actions.
2. *Write*: send creates, PATCHes and deletes through the shared ``Batcher``.

Safety rules:

- transient failures (429, 503, 504, timeouts, resets) are retried with the announced
  ``Retry-After`` or a jittered backoff, up to ``max_attempts``;
- a create whose outcome is unknown (timeout, reset, any 5xx) is never re-posted blindly: the
  user's skills are listed again and the create is retried only if the skill is not there;
- if every one of the first users' requests is refused with 401/403, the run stops (exit
  ``SAFETY_ABORT``) with a message that names the permission needed;
- ``stop()`` (Ctrl-C, SIGTERM) sends nothing more: rows not yet written are reported ``failed``
  with ``not-sent``, so every row is still accounted for.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from importer.config import RunSettings
from importer.errors import GraphError, NotSentError, TransientGraphError
from importer.graph.batcher import Batcher
from importer.graph.client import GraphClient, SubResponse, skills_path
from importer.graph.pacing import AdaptivePacer
from importer.graph.retry import with_retries
from importer.progress import LISTING, WRITING, RunProgress
from importer.records import Action, Operation, OpKind, RowOutcome, SkillRow, skill_key
from importer.write.groups import RowsInMemory, UserRows
from importer.write.guards import SystemicRefusalGuard, delete_guard
from importer.write.listing import SkillLister, find_skill
from importer.write.outcomes import ProgressState, outcome_for
from importer.write.planner import UserPlan, plan_user_changes

__all__ = ["DispatchResult", "Dispatcher", "ProgressState"]

logger = logging.getLogger(__name__)

_WRITE_METHOD = {OpKind.CREATE: "POST", OpKind.UPDATE: "PATCH", OpKind.DELETE: "DELETE"}


@dataclass(slots=True)
class DispatchResult:
    """How the dispatch ended.

    Attributes:
        aborted: why a safety guard stopped the run ("" when none did).
        interrupted: True when ``stop()`` was called from outside (Ctrl-C, SIGTERM).
        warnings: things the planner noticed, for the run log and summary.
        owned_skills: skills carrying the source tag among the listed users (sync guard).
    """

    aborted: str = ""
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)
    owned_skills: int = 0


class Dispatcher:
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
    ) -> None:
        self._client = client
        self._run = run
        self._dry_run = dry_run
        self._allow_deletes = allow_deletes
        self._emit = on_outcome
        self._sleep = sleep
        self._lister: SkillLister | None = None
        # Users whose creates had an unknown outcome: names, and the ids the report gives.
        self._ambiguous: dict[str, set[str]] = {}
        self._reported_ids: dict[str, set[str]] = {}
        # Object id -> the user as the file wrote it, for rows that have no input row (deletes).
        self._written_as: dict[str, str] = {}
        self._refusals: SystemicRefusalGuard | None = None
        self._batcher: Batcher | None = None
        self._stop_reason = ""
        self.result = DispatchResult()
        self.progress = progress if progress is not None else RunProgress()
        self.progress.throttled = lambda: client.gate.is_closed

    # ------------------------------------------------------------------ control

    def stop(self, reason: str = "interrupted") -> None:
        """Stop sending: what is in flight finishes, the rest is reported not sent."""
        if not self._stop_reason:
            self._stop_reason = reason
            if reason == "interrupted":
                self.result.interrupted = True
            logger.warning("stopping: %s", reason)
        if self._batcher is not None:
            self._batcher.stop()

    def _abort(self, reason: str) -> None:
        if not self.result.aborted:
            self.result.aborted = reason
        self.stop(reason)

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
        self._refusals = SystemicRefusalGuard(source.users)
        pacer = AdaptivePacer(sleep=self._sleep)
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
            if self._stop_reason:
                batcher.stop()
            chunks = source.chunks()
            first = next(chunks, None)
            second = next(chunks, None) if first is not None else None
            if second is None:
                plans = await self._plan_all(first or {})
                if self._dry_run:
                    self._report_dry_run(plans)
                    return self.result
                self._check_delete_guard(plans)
                await self._write_all(plans)
            else:
                assert first is not None
                await self._run_chunks(source, itertools.chain((first, second), chunks))
                if self._dry_run:
                    return self.result
            await self._sweep_duplicates()
        return self.result

    async def _run_chunks(
        self, source: UserRows, chunks: Iterator[Mapping[str, Sequence[SkillRow]]]
    ) -> None:
        if self._run.mode == "sync" and not self._dry_run:
            deletes = 0
            for chunk in source.chunks():
                counted = await self._plan_all(chunk, record=False)
                deletes += _deletes_in(counted)
            self._guard_deletes(deletes)
            self.result.owned_skills = 0  # counted again as the chunks are planned for real
            self.result.warnings.clear()
        planning: asyncio.Task[list[_Planned]] | None = None
        deletes = 0
        try:
            for chunk in chunks:
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
            if planning is not None:
                planning.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await planning
        if self._dry_run and self._run.mode == "sync":
            self._guard_deletes(deletes, dry_run=True)

    async def _use_plans(self, plans: list[_Planned]) -> int:
        if self._dry_run:
            self._report_dry_run(plans)
        else:
            await self._write_all(plans)
        return _deletes_in(plans)

    def _hold_back(self, chunk: Mapping[str, Sequence[SkillRow]]) -> None:
        """Rows of a chunk the run will not plan any more: each one is reported not sent."""
        for rows in chunk.values():
            for row in rows:
                self._record(outcome_for(row, Action.FAILED, error=self._not_sent()))

    # ------------------------------------------------------------------ phase 1: plan

    async def _plan_all(
        self, users: Mapping[str, Sequence[SkillRow]], *, record: bool = True
    ) -> list[_Planned]:
        """List and plan every user of one chunk. ``record=False`` only counts (sync guard)."""
        limit = asyncio.Semaphore(max(1, self._run.concurrency * self._run.batch_size * 2))

        async def plan_one(user: str, rows: Sequence[SkillRow]) -> UserPlan | None:
            async with limit:
                existing = await self._list_for_plan(user, rows, record=record)
            if record:
                self.progress.advance(phase=LISTING)
            if existing is None:
                return None
            plan = plan_user_changes(
                user,
                rows,
                existing,
                mode=self._run.mode,
                source_tag=self._run.source_tag,
            )
            self.result.warnings.extend(plan.warnings)
            self.result.owned_skills += plan.owned
            return plan

        # Requests go by the object id the resolve stage found (the user as written when
        # there is none); reports keep the user as written.
        groups = [(rows[0].user_id or rows[0].user, rows) for rows in users.values() if rows]
        self._written_as.update((user, rows[0].user) for user, rows in groups)
        plans = await asyncio.gather(*(plan_one(user, rows) for user, rows in groups))
        return [(user, rows, plan) for (user, rows), plan in zip(groups, plans, strict=True)]

    async def _list_for_plan(
        self, user: str, rows: Sequence[SkillRow], *, record: bool = True
    ) -> list[dict[str, Any]] | None:
        """List the user's skills, or report all their rows failed and return None."""
        try:
            assert self._lister is not None
            skills = await self._lister.list_skills(user)
        except GraphError as exc:
            self._note_auth("read", user, exc)
            if record:
                for row in rows:
                    self._record(outcome_for(row, Action.FAILED, error=exc, attempts=1))
            return None
        self._note_auth("read", user, None)
        return skills

    def _report_dry_run(self, plans: list[_Planned]) -> None:
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

    def _check_delete_guard(self, plans: list[_Planned]) -> None:
        self._guard_deletes(_deletes_in(plans))

    def _guard_deletes(self, deletes: int, *, dry_run: bool = False) -> None:
        reason = delete_guard(
            deletes, self.result.owned_skills, self._run.max_delete_ratio, self._allow_deletes
        )
        if reason:
            self._abort(reason)

    # ------------------------------------------------------------------ phase 2: write

    async def _write_all(self, plans: list[_Planned]) -> None:
        limit = asyncio.Semaphore(max(1, self._run.concurrency * self._run.batch_size * 2))

        async def write_user(plan: UserPlan) -> None:
            async with limit:
                await asyncio.gather(*(self._execute(op) for op in plan.operations))

        await asyncio.gather(*(write_user(plan) for _u, _r, plan in plans if plan is not None))

    async def _execute(self, op: Operation) -> None:
        if op.kind is OpKind.UNCHANGED:
            self._record(outcome_for(op, Action.UNCHANGED, skill_id=op.skill_id or ""))
            return
        if self._stop_reason:
            # A delete the run stopped before is listed as what it would have done, so the
            # admin can judge the guard's verdict; rows are failed, not sent.
            action = Action.WOULD_DELETE if op.kind is OpKind.DELETE else Action.FAILED
            self._record(
                outcome_for(op, action, error=self._not_sent(), skill_id=op.skill_id or "")
            )
            return
        state = _Attempts()

        def worth_retrying(error: BaseException) -> bool:
            if isinstance(error, NotSentError):
                return False
            if isinstance(error, TransientGraphError):
                return True
            # A create that may have landed is retried even after a 500: the user's skills
            # are listed first, so it is never posted twice.
            return (
                state.ambiguous
                and op.kind is OpKind.CREATE
                and isinstance(error, GraphError)
                and _is_server_error(error)
            )

        async def once() -> None:
            if state.ambiguous and op.kind is OpKind.CREATE and await self._landed(op, state):
                return
            await self._attempt(op, state)

        try:
            await with_retries(
                once,
                self._run.max_attempts,
                self._run.max_retry_wait_s,
                sleep=self._sleep,
                stats=self._client.stats,
                retry_on=worth_retrying,
            )
        except NotSentError:
            self._record(
                outcome_for(op, Action.FAILED, error=self._not_sent(), attempts=state.sent)
            )
        except GraphError as error:
            self._record(outcome_for(op, Action.FAILED, error=error, attempts=state.sent))

    async def _attempt(self, op: Operation, state: _Attempts) -> None:
        """Send the write once; record success, or note the failure and raise it."""
        url = skills_path(op.user, op.skill_id if op.kind is not OpKind.CREATE else None)
        body = op.body if op.kind is not OpKind.DELETE else None
        try:
            answer = await self._submit(_WRITE_METHOD[op.kind], url, body)
        except NotSentError:
            raise
        except GraphError as error:
            state.sent += 1
            self._note_failure(op, error, state)
            raise
        state.sent += 1
        gone = op.kind is OpKind.DELETE and answer.status == 404 and state.ambiguous
        if answer.status < 300 or gone:
            self._note_auth("write", op.user, None)
            skill_id = op.skill_id or _id_of(answer.body)
            self._reported_ids.setdefault(op.user, set()).add(skill_id)
            done = {OpKind.CREATE: Action.CREATED, OpKind.UPDATE: Action.UPDATED}.get(
                op.kind, Action.DELETED
            )
            self._record(
                outcome_for(op, done, answer=answer, skill_id=skill_id, attempts=state.sent)
            )
            return
        refused = answer.error()
        assert refused is not None
        self._note_failure(op, refused, state)
        raise refused

    def _note_failure(self, op: Operation, error: GraphError, state: _Attempts) -> None:
        state.failed_at = time.monotonic()
        self._note_auth("write", op.user, error)
        state.ambiguous = state.ambiguous or _is_ambiguous(error)
        if state.ambiguous and op.kind is OpKind.CREATE:
            self._ambiguous.setdefault(op.user, set()).add(skill_key(op.display_name))

    async def _landed(self, op: Operation, state: _Attempts) -> bool:
        """After an ambiguous create: True (and recorded) when the skill is there after all."""
        assert self._lister is not None
        existing = await self._lister.relist(op.user, state.failed_at)
        match = find_skill(existing, op.display_name)
        if match is None:
            return False
        skill_id = str(match.get("id", ""))
        self._reported_ids.setdefault(op.user, set()).add(skill_id)
        logger.info("create of %r for %s had landed; not re-posted", op.display_name, op.user)
        self._record(outcome_for(op, Action.CREATED, skill_id=skill_id, attempts=state.sent))
        return True

    async def _submit(
        self, method: str, url: str, body: dict[str, Any] | None = None
    ) -> SubResponse:
        assert self._batcher is not None
        return await self._batcher.submit(method, url, body)

    async def _sweep_duplicates(self) -> None:
        """After the writes, remove extra copies left by creates whose outcome was unknown.

        Reconciliation lists the user before re-posting, but Graph may still carry out a
        request after the client stopped waiting for it. For every user with such a create,
        the skills are listed once more and any extra copy this tool made is deleted.
        """
        if self._stop_reason or not self._ambiguous:
            return
        assert self._lister is not None
        for user, names in self._ambiguous.items():
            try:
                removed = await self._lister.sweep_duplicates(
                    user, names, self._reported_ids.get(user, set()), self._run.source_tag
                )
            except GraphError as exc:
                self.result.warnings.append(f"{user}: could not check for duplicates ({exc})")
                continue
            if removed:
                message = f"{user}: removed {len(removed)} duplicate(s) left by a timed-out create"
                logger.warning(message)
                self.result.warnings.append(message)

    # ------------------------------------------------------------------ bookkeeping

    def _not_sent(self) -> GraphError:
        return NotSentError(f"not sent: {self._stop_reason or 'the run was stopping'}", sent=False)

    def _record(self, outcome: RowOutcome) -> None:
        self.progress.count(outcome.action)
        if not outcome.source and outcome.user in self._written_as:
            outcome = replace(outcome, user=self._written_as[outcome.user])
        self._emit(outcome)

    def _note_auth(self, kind: str, user: str, error: GraphError | None) -> None:
        assert self._refusals is not None
        reason = self._refusals.note(kind, user, error)
        if reason:
            self._abort(reason)


#: One user of a chunk: the user as written, their rows, and the plan (None: listing failed).
_Planned = tuple[str, Sequence[SkillRow], UserPlan | None]


def _deletes_in(plans: list[_Planned]) -> int:
    return sum(
        1
        for _u, _r, plan in plans
        if plan is not None
        for op in plan.operations
        if op.kind is OpKind.DELETE
    )


class _Attempts:
    """What one write has been through so far."""

    __slots__ = ("ambiguous", "failed_at", "sent")

    def __init__(self) -> None:
        self.sent = 0  # requests that left (a NotSentError is not one)
        self.ambiguous = False  # Graph may have carried out a failed attempt
        self.failed_at = 0.0  # when the last failure was seen (monotonic)


def _is_server_error(error: GraphError) -> bool:
    return error.status is None or error.status >= 500


def _is_ambiguous(error: GraphError) -> bool:
    """True when the server may have acted although we got no success answer."""
    if isinstance(error, NotSentError) or not error.sent:
        return False
    return error.status is None or error.status >= 500


def _id_of(body: Any) -> str:
    return str(body.get("id", "")) if isinstance(body, dict) else ""
