"""Carry out one planned operation: send it, retry it, reconcile it, and report what happened.

The dispatcher decides *what* to write and when to stop; this module writes one operation and
turns whatever happens into exactly one outcome:

- success: ``created`` / ``updated`` / ``deleted`` with the skill id Graph gave (a create that
  Graph may have carried out more than once is reported after the final sweep);
- a refusal or an exhausted retry budget: ``failed`` with the error type of the last answer;
- held back because the run is stopping: ``not-sent`` if Graph never acted on it (nothing left,
  or every answer was a 429/503 and the retry was waiting), ``no-answer`` if an attempt left
  without a clear answer (it may have been carried out);
- an unforeseen exception: ``failed`` ``internal-error``; it never escapes to end the run.

Retries follow ``importer.graph.retry``; ambiguous creates follow ``importer.write.reconcile``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from importer.config import RunSettings
from importer.errors import GraphError, NotSentError, UnexpectedSendError
from importer.graph.batcher import Batcher
from importer.graph.client import SubResponse, skills_path
from importer.graph.retry import with_retries
from importer.graph.stopping import Sleep, StopSignal
from importer.graph.wire import HttpStats, describe_unexpected
from importer.records import Action, ConfirmedWrite, Operation, OpKind, RowOutcome
from importer.write.outcomes import held_back_outcome, outcome_for
from importer.write.reconcile import Reconciler, WriteAttempts

__all__ = ["OperationWriter", "WriteContext", "as_graph_error", "confirmed_write"]

logger = logging.getLogger(__name__)

_WRITE_METHOD = {OpKind.CREATE: "POST", OpKind.UPDATE: "PATCH", OpKind.DELETE: "DELETE"}
#: Unchanged rows reported between two turns of the event loop (answers keep flowing).
_UNCHANGED_PER_TURN = 500


def as_graph_error(error: Exception) -> GraphError:
    """A GraphError as is; anything unforeseen as ``UnexpectedSendError`` (never re-raised)."""
    if isinstance(error, GraphError):
        return error
    where = describe_unexpected(error)
    logger.error("unexpected %s while writing; the row fails and the run goes on", where)
    return UnexpectedSendError(f"unexpected {where}")


@dataclass(frozen=True, slots=True)
class WriteContext:
    """What every write of one run shares, built once by the dispatcher.

    Attributes:
        batcher: the run's batcher; every write travels in its ``$batch``es.
        reconciler: the run's memory of ambiguous creates.
        run: the run settings (retry budget and wait cap).
        stats: the client's HTTP figures (retries are counted there).
        sleep: the run's stoppable sleep.
        stop: the run's stop signal: once set nothing more is sent, and writes held back
            are reported with its ``not_sent()`` error.
        record: reports one row outcome.
        note_write: tells the dispatcher's guards how a write of a user went (None: success).
        on_confirmed: told of every write Graph confirmed, with the values before and after
            (the run's journal, and anything else that records what was really written).
    """

    batcher: Batcher
    reconciler: Reconciler
    run: RunSettings
    stats: HttpStats
    sleep: Sleep
    stop: StopSignal
    record: Callable[[RowOutcome], None]
    note_write: Callable[[str, GraphError | None], None]
    on_confirmed: Callable[[ConfirmedWrite], None] | None = None


class OperationWriter:
    """Writes single operations for the dispatcher.

    Every write Graph confirms (created, updated, deleted, or a create found landed after an
    unknown outcome) is reported in one place, ``_confirmed``, with the skill id and Graph's
    answer: the hook for anything that must know what was really written.

    Args:
        context: what the run's writes share (``WriteContext``).
    """

    def __init__(self, context: WriteContext) -> None:
        self._ctx = context

    async def write_all(self, operations: Iterable[Operation], window: int) -> None:
        """Write every operation, in order, at most ``window`` ahead of the answers; return when
        each has its outcome. No task per operation on the happy path (see ``start``)."""
        slots = asyncio.Semaphore(max(1, window))
        outstanding = 0
        all_done = asyncio.Event()
        all_done.set()

        def finished(_: asyncio.Future[None]) -> None:
            nonlocal outstanding
            slots.release()
            outstanding -= 1
            if outstanding == 0:
                all_done.set()

        reported = 0
        for op in operations:
            if op.kind is OpKind.UNCHANGED:
                # Nothing to send, nothing to wait for: reported here, no future, no slot
                # (most rows of a re-verified person); the loop gets a turn now and then.
                self._unchanged(op)
                reported += 1
                if reported % _UNCHANGED_PER_TURN == 0:
                    await asyncio.sleep(0)
                continue
            await slots.acquire()
            outstanding += 1
            all_done.clear()
            self.start(op).add_done_callback(finished)
        await all_done.wait()

    def start(self, op: Operation) -> asyncio.Future[None]:
        """Write ``op`` (an operation with something to send: ``write_all`` reports unchanged
        ones itself); the returned future is done once its one outcome is recorded.

        The happy path costs no task: the first attempt is queued in the batcher and its
        answer handled in a callback. Anything but a success (an error, a refusal, the run
        stopping) continues in ``execute`` as a task, with that first answer, so retries and
        reconciliation follow exactly the same rules.
        """
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        if self._ctx.stop.is_set:
            loop.create_task(self.execute(op)).add_done_callback(lambda _: done.set_result(None))
            return done
        try:
            sent = self._ctx.batcher.enqueue(_WRITE_METHOD[op.kind], _url_of(op), _body_of(op))
        except NotSentError:
            loop.create_task(self.execute(op)).add_done_callback(lambda _: done.set_result(None))
            return done

        def answered(future: asyncio.Future[SubResponse]) -> None:
            try:
                if not future.cancelled() and future.exception() is None:
                    answer = future.result()
                    if answer.status < 300:
                        self._succeeded(op, answer, None)
                        done.set_result(None)
                        return
            except Exception:  # noqa: S110 - the task below reports whatever this was
                pass
            task = loop.create_task(self.execute(op, first=future))
            task.add_done_callback(lambda _: done.set_result(None))

        sent.add_done_callback(answered)
        return done

    def _unchanged(self, op: Operation) -> None:
        self._ctx.reconciler.note_reported(op.user, op.skill_id or "")
        self._ctx.record(outcome_for(op, Action.UNCHANGED, skill_id=op.skill_id or ""))

    async def execute(
        self, op: Operation, *, first: asyncio.Future[SubResponse] | None = None
    ) -> None:
        """Write ``op`` (or report it unchanged / held back); exactly one outcome.

        ``first``: the answer to a first attempt already sent by ``start``.
        """
        reconciler = self._ctx.reconciler
        if op.kind is OpKind.UNCHANGED:
            self._unchanged(op)
            return
        if first is None and self._ctx.stop.is_set:
            # A delete the run stopped before is listed as what it would have done, so the
            # admin can judge the guard's verdict; rows are reported not sent.
            action = Action.WOULD_DELETE if op.kind is OpKind.DELETE else Action.NOT_SENT
            self._ctx.record(
                outcome_for(op, action, error=self._ctx.stop.not_sent(), skill_id=op.skill_id or "")
            )
            return
        attempts = WriteAttempts()

        async def once() -> None:
            nonlocal first
            if attempts.ambiguous and op.kind is OpKind.CREATE:
                skill_id = await reconciler.landed(op, attempts)
                if skill_id is not None:
                    self._confirmed(op, skill_id, None, attempts)
                    return
            sent, first = first, None
            await self._attempt(op, attempts, sent)

        try:
            await with_retries(
                once,
                self._ctx.run.max_attempts,
                self._ctx.run.max_retry_wait_s,
                sleep=self._ctx.sleep,
                stats=self._ctx.stats,
                retry_on=lambda error: reconciler.worth_retrying(op, attempts, error),
            )
        except NotSentError as held:
            self._report(
                op,
                held_back_outcome(
                    op,
                    held,
                    attempts.last_error,
                    unanswered=attempts.unanswered,
                    sent=attempts.sent,
                ),
                attempts,
            )
        except Exception as exc:
            failure = as_graph_error(exc)
            self._report(
                op, outcome_for(op, Action.FAILED, error=failure, attempts=attempts.sent), attempts
            )

    async def _attempt(
        self,
        op: Operation,
        attempts: WriteAttempts,
        sent: asyncio.Future[SubResponse] | None = None,
    ) -> None:
        """Send the write once (or take the answer to ``sent``); record success, or note the
        failure and raise it."""
        try:
            if sent is not None:
                answer = await sent
            else:
                answer = await self._ctx.batcher.submit(
                    _WRITE_METHOD[op.kind], _url_of(op), _body_of(op)
                )
        except NotSentError:
            raise
        except GraphError as error:
            attempts.sent += 1
            self._note_failure(op, error, attempts)
            raise
        attempts.sent += 1
        gone = op.kind is OpKind.DELETE and answer.status == 404 and attempts.ambiguous
        if answer.status < 300 or gone:
            self._succeeded(op, answer, attempts)
            return
        refused = answer.error()
        assert refused is not None
        self._note_failure(op, refused, attempts)
        raise refused

    def _succeeded(
        self, op: Operation, answer: SubResponse, attempts: WriteAttempts | None
    ) -> None:
        self._ctx.note_write(op.user, None)
        self._confirmed(op, op.skill_id or _id_of(answer.body), answer, attempts)

    def _confirmed(
        self,
        op: Operation,
        skill_id: str,
        answer: SubResponse | None,
        attempts: WriteAttempts | None,
    ) -> None:
        """The one place a write Graph confirmed is reported.

        Args:
            op: the create, update or delete.
            skill_id: the skill written (for a create, the id Graph gave).
            answer: Graph's answer; None for a create found in a listing after its own answer
                was lost (a 404 to a retried delete counts as that delete's answer).
            attempts: what the write went through (None: confirmed at the first attempt).
        """
        if op.kind is not OpKind.DELETE:
            self._ctx.reconciler.note_reported(op.user, skill_id)
        done = {OpKind.CREATE: Action.CREATED, OpKind.UPDATE: Action.UPDATED}.get(
            op.kind, Action.DELETED
        )
        if self._ctx.on_confirmed is not None:
            self._ctx.on_confirmed(confirmed_write(op, skill_id, answer))
        sent = attempts.sent if attempts is not None else 1
        outcome = outcome_for(op, done, answer=answer, skill_id=skill_id, attempts=sent)
        self._report(op, outcome, attempts)

    def _report(self, op: Operation, outcome: RowOutcome, attempts: WriteAttempts | None) -> None:
        """Record the row's outcome; that of a create Graph may have carried out more than
        once waits for the final sweep (``importer.write.sweep``)."""
        reconciler = self._ctx.reconciler
        if attempts is not None and reconciler.holds(op, attempts):
            reconciler.hold(op, attempts, outcome)
        else:
            self._ctx.record(outcome)

    def _note_failure(self, op: Operation, error: GraphError, attempts: WriteAttempts) -> None:
        self._ctx.note_write(op.user, error)
        self._ctx.reconciler.note_failure(op, error, attempts)


def confirmed_write(op: Operation, skill_id: str, answer: SubResponse | None) -> ConfirmedWrite:
    """What a confirmed write changed: the skill before (from the plan) and after.

    After a create, the skill is Graph's answer when it has one (else the body sent, with the
    new id); after an update, the skill before with the PATCH body applied.
    """
    before = op.before
    after: dict[str, Any] | None = None
    if op.kind is OpKind.CREATE:
        body = answer.body if answer is not None else None
        after = dict(body) if isinstance(body, dict) and body.get("id") else {**op.body}
        after["id"] = skill_id
    elif op.kind is OpKind.UPDATE:
        after = {**(before or {}), **op.body}
    return ConfirmedWrite(
        op.kind,
        op.user,
        op.row.user if op.row is not None else op.user,
        skill_id,
        op.display_name,
        None if op.kind is OpKind.CREATE else before,
        after,
        tuple(op.body) if op.kind is OpKind.UPDATE else (),
    )


def _url_of(op: Operation) -> str:
    return skills_path(op.user, op.skill_id if op.kind is not OpKind.CREATE else None)


def _body_of(op: Operation) -> dict[str, Any] | None:
    return op.body if op.kind is not OpKind.DELETE else None


def _id_of(body: Any) -> str:
    return str(body.get("id", "")) if isinstance(body, dict) else ""
