"""Retry policy for Graph: what to retry, how long to wait, and the run-wide gate.

Rules, in one place:

- ``with_retries`` retries what its ``retry_on`` rule allows; the default rule retries
  ``TransientGraphError`` only: 429, 503, 504, connection failures and timeouts. Other 4xx and
  500 are never retried by the default rule. One caller widens it: a create whose outcome is
  unknown (no answer, or any 5xx including 500) is tried again, but only after a fresh listing
  shows it did not land. That rule lives in ``importer.write.reconcile`` and reaches the loop
  here as its ``retry_on``; the budgets and waits below apply to it unchanged.
- A ``Retry-After`` (seconds, fractional seconds, an HTTP date, or the ``"30,120"`` form seen in
  the wild) wins over backoff.
- Every wait is capped: when Graph asks for more than ``max_retry_wait_s``, the request is given
  up at once with ``ThrottledTooLongError`` (the row fails ``throttled-too-long``, the next run
  tries again); nothing ever sleeps longer than the cap.
- Without ``Retry-After``: exponential backoff with jitter,
  ``min(cap, base * 2**(attempt - 1)) * uniform(0.5, 1.0)``. The jitter keeps at least half of
  the step so that retries never fire almost immediately (Graph warns that immediate retries
  keep accruing usage while throttled).
- Budgets: ``max_attempts`` failed attempts, the first included; 429s are counted apart and get
  ``THROTTLE_FACTOR`` times as many (a throttled request was refused before it was processed).
- One ``RetryAfterGate`` per run: a 429 closes it, and no request at all leaves before the
  announced time. While it is closed for longer than the cap, requests are refused at once
  rather than held (``ThrottledTooLongError``, nothing sent).

Sleeps and clocks are injectable so tests never really wait; the dispatcher passes a sleep that
ends early when the run stops.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from importer.errors import GraphError, ThrottledTooLongError, TransientGraphError
from importer.graph.throttle_log import ThrottleLog
from importer.graph.wire import RETRY_STATUSES, HttpStats, is_transient_status

__all__ = [
    "RETRY_STATUSES",
    "THROTTLE_FACTOR",
    "RetryAfterGate",
    "backoff_delay",
    "exceeds_wait_cap",
    "is_transient_status",
    "parse_retry_after",
    "retry_transient",
    "too_long",
    "with_retries",
]

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")

_LEADING_NUMBER = re.compile(r"\s*([+-]?\d+(?:\.\d+)?)\s*(?:,.*)?$")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header value as seconds to wait.

    Args:
        value: the header value: ``"5"``, ``"2.128"``, ``"30,120"`` (the first number is used)
            or an HTTP date such as ``"Wed, 21 Oct 2015 07:28:00 GMT"``.
        now: the current time for HTTP dates (default: now, UTC).

    Returns:
        Seconds (>= 0; a date in the past gives 0.0), or None when absent, negative or
        unreadable.
    """
    if value is None or not value.strip():
        return None
    match = _LEADING_NUMBER.match(value)
    if match:
        seconds = float(match.group(1))
        return seconds if seconds >= 0 and math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        # RFC 9110 dates are always GMT; a naive result means the zone was "-0000".
        when = when.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())


def exceeds_wait_cap(retry_after: float | None, cap: float) -> bool:
    """True when the server asked us to wait longer than we are willing to (we give up)."""
    return retry_after is not None and retry_after > cap


def backoff_delay(
    attempt: int, *, retry_after: float | None, cap: float, base: float = 0.5
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 = the first retry).

    Args:
        attempt: how many attempts have failed so far (>= 1).
        retry_after: the server's Retry-After in seconds, if it sent one; it wins.
        cap: the longest wait allowed (``run.max_retry_wait_s``). A Retry-After above the cap
            is clipped here, but callers give up instead (see ``exceeds_wait_cap``).
        base: the first backoff step in seconds.

    Returns:
        ``min(retry_after, cap)`` when a Retry-After was given, else
        ``min(cap, base * 2**(attempt - 1)) * uniform(0.5, 1.0)``.
    """
    if retry_after is not None:
        return min(max(retry_after, 0.0), cap)
    # Clamp the exponent so that a huge attempt number cannot overflow a float.
    step = base * 2.0 ** min(max(attempt - 1, 0), 62)
    return min(cap, step) * random.uniform(0.5, 1.0)


class RetryAfterGate:
    """A run-wide gate that holds every request back while Graph has asked us to wait.

    ``close_for(seconds)`` keeps it shut until ``now + seconds`` (extending, never shortening
    an earlier close); ``wait()`` returns once it is open, sleeping again if it was extended
    meanwhile.

    Args:
        sleep: the coroutine used to wait (injected in tests).
        clock: a monotonic clock in seconds (injected in tests).
        max_wait_s: the longest wait honoured (``run.max_retry_wait_s``). While the gate is
            closed for longer than that, ``wait()`` refuses at once with
            ``ThrottledTooLongError`` instead of holding every request back. None: no limit.
    """

    def __init__(
        self,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_wait_s: float | None = None,
    ) -> None:
        self._sleep = sleep
        self._clock = clock
        self._max_wait_s = max_wait_s
        self._closed_until = -math.inf
        self.throttled_events = 0
        #: Summarises the waits in the log (first one, then one line a minute) and totals.
        self.log = ThrottleLog(clock=clock)

    @property
    def closed_until(self) -> float:
        """The clock time before which no request may leave (``-inf`` if never closed)."""
        return self._closed_until

    @property
    def is_closed(self) -> bool:
        """True while requests are being held back."""
        return self._clock() < self._closed_until

    def close_for(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` from now (never shortens an earlier close)."""
        if not math.isfinite(seconds) or seconds <= 0:
            return
        self.throttled_events += 1
        now = self._clock()
        until = now + seconds
        if until > self._closed_until:
            beyond_cap = self._max_wait_s is not None and seconds > self._max_wait_s
            if beyond_cap and self._closed_until <= now:  # once per refusal, not per answer
                logger.warning(
                    "Graph asked to wait %.0f s, more than run.max_retry_wait_s (%g s): "
                    "requests are given up until then",
                    seconds,
                    self._max_wait_s,
                )
            elif not beyond_cap:
                self.log.note_wait(seconds, until - max(now, self._closed_until))
            self._closed_until = until

    async def wait(self) -> None:
        """Return as soon as the gate is open; never early.

        Raises:
            ThrottledTooLongError: the gate stays closed for longer than ``max_wait_s``
                (nothing was sent).
        """
        while True:
            remaining = self._closed_until - self._clock()
            if remaining <= 0:
                return
            if self._max_wait_s is not None and remaining > self._max_wait_s:
                raise ThrottledTooLongError(
                    f"not sent: Graph asked every request to wait {remaining:.0f} s, more than "
                    f"run.max_retry_wait_s ({self._max_wait_s:g} s); the next run tries again",
                    status=429,
                    retry_after=remaining,
                    sent=False,
                )
            await self._sleep(remaining)


#: 429s allowed per request, as a multiple of ``max_attempts``. A 429 is not a failure: the
#: request was refused before it was processed and Graph said when to come back, so a nightly
#: run under heavy throttling finishes late rather than leaving failed rows.
THROTTLE_FACTOR = 10


def retry_transient(error: BaseException) -> bool:
    """The default retry rule: ``TransientGraphError`` only (429, 503, 504, transport)."""
    return isinstance(error, TransientGraphError)


def too_long(error: GraphError, max_wait_s: float) -> ThrottledTooLongError:
    """``error`` (whose Retry-After exceeds the cap) as the ``throttled-too-long`` failure."""
    if isinstance(error, ThrottledTooLongError):
        return error
    wait = error.retry_after or 0.0
    return ThrottledTooLongError(
        f"Graph asked to wait {wait:.0f} s, more than run.max_retry_wait_s ({max_wait_s:g} s): "
        f"given up; the next run tries again ({error.message})",
        status=error.status,
        code=error.code,
        request_id=error.request_id,
        retry_after=error.retry_after,
        sent=error.sent,
    )


class _Budget:
    """The stop and wait rules of one request's retries."""

    __slots__ = ("failures", "max_attempts", "max_wait_s", "throttles")

    def __init__(self, max_attempts: int, max_wait_s: float) -> None:
        self.max_attempts = max_attempts
        self.max_wait_s = max_wait_s
        self.failures = 0
        self.throttles = 0

    def after(self, error: Exception) -> float | None:
        """Count one failed attempt; the seconds to wait before the next, or None to stop.

        Raises:
            ThrottledTooLongError: Graph asked to wait longer than the cap.
        """
        graph_error = error if isinstance(error, GraphError) else None
        retry_after = graph_error.retry_after if graph_error is not None else None
        if graph_error is not None and exceeds_wait_cap(retry_after, self.max_wait_s):
            raise too_long(graph_error, self.max_wait_s) from None
        if graph_error is not None and graph_error.status == 429:
            self.throttles += 1
        else:
            self.failures += 1
        if (
            self.failures >= self.max_attempts
            or self.throttles >= self.max_attempts * THROTTLE_FACTOR
        ):
            return None
        return backoff_delay(max(1, self.failures), retry_after=retry_after, cap=self.max_wait_s)


async def with_retries(
    call: Callable[[], Awaitable[T]],
    max_attempts: int,
    max_wait_s: float,
    *,
    sleep: Sleep = asyncio.sleep,
    stats: HttpStats | None = None,
    retry_on: Callable[[BaseException], bool] = retry_transient,
) -> T:
    """Await ``call()``, retrying it under the policy above: the one retry loop of the importer.

    Usage::

        async def once() -> SubResponse:
            response = await client.send(request)
            if (error := response.error()) is not None:
                raise error
            return response

        answer = await with_retries(once, 8, 600)

    Args:
        call: makes one attempt; raises to fail it.
        max_attempts: failed attempts allowed, the first included (``run.max_attempts``).
            429s are counted apart and get ``THROTTLE_FACTOR`` times as many.
        max_wait_s: the longest wait (``run.max_retry_wait_s``).
        sleep: the coroutine used to wait (injected in tests; stoppable in a run).
        stats: counts each retry into ``stats.retries``.
        retry_on: which errors are worth another attempt (default ``retry_transient``).

    Raises:
        ThrottledTooLongError: Graph asked to wait longer than ``max_wait_s``.
        The last error, when it is not worth retrying or the budget is spent.
    """
    budget: _Budget | None = None  # built on the first failure: the happy path costs nothing
    while True:
        try:
            return await call()
        except Exception as error:
            if not retry_on(error):
                raise
            budget = budget or _Budget(max_attempts, max_wait_s)
            delay = budget.after(error)
            if delay is None:
                raise
            logger.debug("retrying after %s in %.2f s", error, delay)
        if stats is not None:
            stats.retries += 1
        await sleep(delay)
