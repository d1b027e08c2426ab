"""Retry policy for Graph: what to retry, how long to wait, and the gate.

Rules, in one place:

- Only ``TransientGraphError`` is retried: 429, 503, 504, connection failures and timeouts.
  Other 4xx and 500 are never retried.
- A ``Retry-After`` (seconds, fractional seconds, an HTTP date, or the ``"30,120"`` form seen in
  the wild) wins over backoff. If the server asks for more than ``max_retry_wait_s``, we give
  up on that request rather than wait (``exceeds_wait_cap``).
- Without ``Retry-After``: exponential backoff with jitter,
  ``min(cap, base * 2**(attempt - 1)) * uniform(0.5, 1.0)``. The jitter keeps at least half of
  the step so that retries never fire almost immediately (Graph warns that immediate retries
  keep accruing usage while throttled).
- One ``RetryAfterGate`` per run: a 429 closes it, and no request at all leaves before the
  announced time.

Sleeps and clocks are injectable so tests never really wait.
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

import tenacity

from importer.errors import GraphError, TransientGraphError
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
    "retrying",
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
        max_wait_s: the longest single close honoured (``run.max_retry_wait_s``); a request
            asked to wait longer gives up instead, so the gate must not hold every other
            request back for that long. None: no limit.
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
        if self._max_wait_s is not None:
            seconds = min(seconds, self._max_wait_s)
        self.throttled_events += 1
        now = self._clock()
        until = now + seconds
        if until > self._closed_until:
            self.log.note_wait(seconds, until - max(now, self._closed_until))
            self._closed_until = until

    async def wait(self) -> None:
        """Return as soon as the gate is open; never early."""
        while True:
            remaining = self._closed_until - self._clock()
            if remaining <= 0:
                return
            await self._sleep(remaining)


#: 429s allowed per request, as a multiple of ``max_attempts``. A 429 is not a failure: the
#: request was refused before it was processed and Graph said when to come back, so a nightly
#: run under heavy throttling finishes late rather than leaving failed rows.
THROTTLE_FACTOR = 10


def retry_transient(error: BaseException) -> bool:
    """The default retry rule: ``TransientGraphError`` only (429, 503, 504, transport)."""
    return isinstance(error, TransientGraphError)


def retrying(
    max_attempts: int,
    max_wait_s: float,
    *,
    sleep: Sleep = asyncio.sleep,
    stats: HttpStats | None = None,
    retry_on: Callable[[BaseException], bool] = retry_transient,
    failed_once: GraphError | None = None,
) -> tenacity.AsyncRetrying:
    """Build the retry loop of one request: the one retry policy of the importer.

    Usage::

        async for attempt in retrying(8, 600):
            with attempt:
                response = await client.send(request)
                if (error := response.error()) is not None:
                    raise error

    Args:
        max_attempts: failed attempts allowed, the first included (``run.max_attempts``).
            429s are counted apart and get ``THROTTLE_FACTOR`` times as many.
        max_wait_s: the longest wait (``run.max_retry_wait_s``); a Retry-After above it stops
            the loop and the error is raised as is.
        sleep: the coroutine used to wait (injected in tests).
        stats: counts each retry into ``stats.retries``.
        retry_on: which errors are worth another attempt (default ``retry_transient``).
        failed_once: a first attempt already failed with this error (see ``with_retries``);
            it counts against the budget.

    Returns:
        A ``tenacity.AsyncRetrying`` that re-raises the last error when it gives up.
    """
    failures = throttles = 0

    def count(error: BaseException | None) -> bool:
        """Count one failed attempt; True when the budget or the wait cap says stop."""
        nonlocal failures, throttles
        if isinstance(error, GraphError) and error.status == 429:
            throttles += 1
        else:
            failures += 1
        if failures >= max_attempts or throttles >= max_attempts * THROTTLE_FACTOR:
            return True
        return isinstance(error, GraphError) and exceeds_wait_cap(error.retry_after, max_wait_s)

    if failed_once is not None:
        count(failed_once)

    def stop(state: tenacity.RetryCallState) -> bool:
        return count(state.outcome.exception() if state.outcome else None)

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = error.retry_after if isinstance(error, GraphError) else None
        return backoff_delay(max(1, failures), retry_after=retry_after, cap=max_wait_s)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if stats is not None:
            stats.retries += 1
        error = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        logger.debug("retrying after %s in %.2f s (attempt %d)", error, delay, state.attempt_number)

    return tenacity.AsyncRetrying(
        sleep=sleep,
        stop=stop,
        wait=wait,
        retry=tenacity.retry_if_exception(retry_on),
        before_sleep=before_sleep,
        reraise=True,
    )


async def with_retries(
    call: Callable[[], Awaitable[T]],
    max_attempts: int,
    max_wait_s: float,
    *,
    sleep: Sleep = asyncio.sleep,
    stats: HttpStats | None = None,
    retry_on: Callable[[BaseException], bool] = retry_transient,
) -> T:
    """Await ``call()``, retrying it under the ``retrying`` policy when it fails.

    The first attempt runs outside tenacity: almost every request succeeds at once, and a
    retry loop built per request would cost more than the request itself on a 50,000-row run.
    Only a failure hands over to the loop, with that failure already counted.

    Raises:
        The last error, when it is not worth retrying or the budget is spent.
    """
    try:
        return await call()
    except Exception as error:
        if not retry_on(error):
            raise
        first = error
    loop = retrying(
        max_attempts,
        max_wait_s,
        sleep=sleep,
        stats=stats,
        retry_on=retry_on,
        failed_once=first if isinstance(first, GraphError) else None,
    )
    throttled = isinstance(first, GraphError) and first.status == 429
    if (not throttled and max_attempts <= 1) or (
        isinstance(first, GraphError) and exceeds_wait_cap(first.retry_after, max_wait_s)
    ):
        raise first  # the same verdict the loop's stop rule would give
    retry_after = first.retry_after if isinstance(first, GraphError) else None
    if stats is not None:
        stats.retries += 1
    await sleep(backoff_delay(1, retry_after=retry_after, cap=max_wait_s))
    async for attempt in loop:
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover
