"""Stopping promptly: one signal per run that wakes every wait (Ctrl-C, SIGTERM, a guard).

A run waits in many places: the Retry-After gate, the pacer, retry backoffs, the final sweep's
catch-up, and answers still on the wire. Each of those waits goes through ``StopSignal.race``
(or a sleep made by ``StopSignal.sleeper``), so once the signal is set:

- a wait that has not sent anything ends at once with ``NotSentError``;
- an answer already on the wire gets ``grace_s`` more seconds (so the report can say what
  really happened to it), then ``NoAnswerError``: sent, outcome unknown.

That keeps the end of an interrupted run within a few seconds whatever it was waiting for.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

from importer.errors import NoAnswerError, NotSentError

__all__ = ["STOP_GRACE_S", "Sleep", "StopSignal"]

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

#: How long an answer already on the wire may still take once the run is stopping.
STOP_GRACE_S = 2.0


class StopSignal:
    """Set once when the run must stop; every wait raced against it ends early.

    Args:
        grace_s: how long ``answer_or_give_up`` still waits for an answer after the signal.
    """

    def __init__(self, grace_s: float = STOP_GRACE_S) -> None:
        self._event = asyncio.Event()
        self.grace_s = grace_s
        self.reason = ""
        self.code = ""

    @property
    def is_set(self) -> bool:
        """True once the run is stopping."""
        return self._event.is_set()

    def set(self, reason: str = "the run was stopping", code: str = "") -> None:
        """Stop: wake every wait (idempotent; the first reason is kept).

        Args:
            reason: why, for the report ("not sent: <reason>").
            code: the ``code`` of every ``NotSentError`` from now on (``Interrupted`` for
                Ctrl-C and SIGTERM).
        """
        if not self._event.is_set():
            self.reason, self.code = reason, code
            self._event.set()

    def not_sent(self) -> NotSentError:
        """A fresh error for one request held back by this stop."""
        reason = self.reason or "the run was stopping"
        return NotSentError(f"not sent: {reason}", code=self.code, sent=False)

    async def race(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` unless the run stops first.

        Raises:
            NotSentError: the run stopped first (``awaitable`` is cancelled).
        """
        if self.is_set:
            if inspect.iscoroutine(awaitable):
                awaitable.close()
            raise self.not_sent()
        task = asyncio.ensure_future(awaitable)
        waiter = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            if not task.done():
                task.cancel()
        if not task.done() or task.cancelled():
            raise self.not_sent()  # the stop came first
        return task.result()

    def sleeper(self, sleep: Sleep) -> Sleep:
        """A sleep that ends early, with ``NotSentError``, when the run stops."""

        async def stoppable(seconds: float) -> None:
            await self.race(sleep(seconds))

        return stoppable

    async def answer_or_give_up(self, awaitable: Awaitable[T]) -> T:
        """Await an exchange already under way; once the run stops, wait ``grace_s`` more.

        Raises:
            NoAnswerError: the grace ran out before the answer came (the request may have
                been carried out).
        """
        task = asyncio.ensure_future(awaitable)
        waiter = asyncio.ensure_future(self._event.wait())
        gave_up = False
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                await asyncio.wait({task}, timeout=self.grace_s)
                gave_up = not task.done()
        finally:
            waiter.cancel()
            if not task.done():
                task.cancel()
        if gave_up:
            raise NoAnswerError(
                "sent, but the run stopped before Graph answered; the next run checks "
                "whether it was carried out",
                sent=True,
            )
        return task.result()
