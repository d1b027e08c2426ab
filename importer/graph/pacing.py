"""Client-side pacing that learns the rate a throttling server accepts.

After a 429 every request waits for ``Retry-After`` (the gate in ``retry``). That alone is not
enough to go fast under throttling: when the gate reopens, every waiting batch leaves at once,
most items are throttled again, and the run spends its time waiting out one-second windows.
The pacer keeps the send rate just under what the server accepts, so that 429s become rare.

It searches for that rate the way a person would:

- until the first 429 there is no limit at all (the usual case against a real tenant);
- ``good`` is the highest rate that ran for ``quiet_s`` without a 429, ``bad`` the lowest rate
  that drew one. The next rate to try is double ``good`` while no ``bad`` is known, then the
  geometric middle of the two; once they are within 5% the pacer settles just under ``good``;
- a 429 at or below ``good`` means capacity shrank: ``good`` falls below it and the search
  resumes, unless it is a lone 429 after ``10 * quiet_s`` quiet seconds at the settled rate (a
  blip: the rate stays); after ``reprobe_s`` quiet seconds at the settled rate, ``bad`` is raised
  a little so capacity that came back is found again.

Batch size adapts too: a server evaluates every item of a ``$batch`` on its own, so when it
admits only a burst of N at once, batches of 20 lose 20 - N items to 429 every time. After a
partly throttled batch the next batches carry at most as many items as got through; each clean
batch lets one more item in again.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable

__all__ = ["AdaptivePacer"]

logger = logging.getLogger(__name__)


class AdaptivePacer:
    """A token bucket over sub-requests whose rate adapts to throttling.

    Args:
        clock: monotonic seconds (injectable for tests).
        sleep: the sleep used while waiting for tokens (injectable for tests).
        quiet_s: seconds at a rate without a 429 before that rate counts as good.
        reprobe_s: quiet seconds at the settled rate before probing above it again.
        min_rate: the rate never falls below this many sub-requests per second.
        max_wait_s: no sleep here is longer (``run.max_retry_wait_s``). A Retry-After beyond
            it does not pause the pacer: the gate refuses those requests at once instead.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        quiet_s: float = 2.0,
        reprobe_s: float = 60.0,
        min_rate: float = 1.0,
        max_wait_s: float = math.inf,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._quiet_s = quiet_s
        self._reprobe_s = reprobe_s
        self._min_rate = min_rate
        self._max_wait_s = max_wait_s
        self.rate: float | None = None
        self.good = 0.0
        self.bad = math.inf
        self.batch_limit: int | None = None
        self._tokens = 0.0
        self._refilled_at = clock()
        self._changed_at = clock()
        self._paused_until = -math.inf
        self._last_throttle = -math.inf
        self._episode_started: float | None = None
        self._successes = 0
        self._lock = asyncio.Lock()

    # -- the search ------------------------------------------------------------------------

    def _next_rate(self) -> float:
        if math.isinf(self.bad):
            return max(self._min_rate, self.good * 2)
        if self.bad <= self.good * 1.05:
            return max(self._min_rate, self.good * 0.98)
        return max(self._min_rate, math.sqrt(self.good * self.bad))

    def _set_rate(self, rate: float, now: float) -> None:
        # Rate changes are frequent under throttling; the gate's throttle log summarises them.
        logger.debug("throttled: pacing at %.0f sub-requests/s", rate)
        self.rate = rate
        self._changed_at = max(now, self._paused_until)
        self._tokens = 0.0
        self._refilled_at = now

    def _maybe_step_up(self, now: float) -> None:
        assert self.rate is not None
        quiet = now - self._changed_at
        settled = self.bad <= self.good * 1.05
        # While no rate has failed yet, double quickly; near the limit, be sure first.
        needed = self._quiet_s / 4 if math.isinf(self.bad) else self._quiet_s
        if not settled and quiet >= needed:
            self.good = max(self.good, self.rate)
            self.bad = max(self.bad, self.good * 1.001)
            self._set_rate(self._next_rate(), now)
        elif settled and quiet >= self._reprobe_s:
            self.bad = self.good * 1.1
            self._set_rate(self._next_rate(), now)

    def _isolated(self, now: float) -> bool:
        settled = self.bad <= self.good * 1.05
        return settled and now - self._last_throttle >= self._quiet_s * 10

    # -- the bucket ------------------------------------------------------------------------

    async def acquire(self, count: int) -> None:
        """Wait until ``count`` sub-requests may leave at the current rate."""
        if self._episode_started is None:
            self._episode_started = self._clock()
        if self.rate is None:
            return
        async with self._lock:
            while True:
                now = self._clock()
                if now < self._paused_until:
                    # Nothing accrues while Graph has asked us to wait: otherwise every batch
                    # that queued up during the pause would leave together when it ends.
                    await self._sleep(min(self._paused_until - now, self._max_wait_s))
                    continue
                self._maybe_step_up(now)
                rate = self.rate
                capacity = max(1.0, rate / 10)
                since = max(self._refilled_at, self._paused_until)
                self._tokens = min(capacity, self._tokens + max(0.0, now - since) * rate)
                self._refilled_at = now
                # A batch bigger than the bucket waits for a full bucket, then goes into debt.
                need = min(float(count), capacity)
                if self._tokens >= need - 1e-6:  # full up to float rounding
                    self._tokens -= count
                    return
                await self._sleep(min(max(1e-3, (need - self._tokens) / rate), self._max_wait_s))

    # -- what the server said ----------------------------------------------------------------

    def record_success(self, count: int) -> None:
        """Count sub-requests the server accepted (any answer but 429)."""
        self._successes += count

    def record_batch(self, sent: int, throttled: int) -> None:
        """Adapt the batch size to what the server admits at once."""
        if 0 < throttled < sent:
            # Partly admitted: the server's burst is about this size. (A batch refused whole
            # arrived while a window was open and says nothing about the burst.)
            admitted = sent - throttled
            self.batch_limit = min(self.batch_limit or admitted, admitted)
        elif self.batch_limit is not None and sent >= self.batch_limit:
            self.batch_limit += 1

    def record_throttled(self, retry_after: float) -> None:
        """Lower the rate after a 429; one call per throttling episode counts.

        Args:
            retry_after: the wait the server announced (the gate holds requests that long).
        """
        if retry_after > self._max_wait_s:
            return  # given up, not waited for: the gate refuses requests until then
        now = self._clock()
        if now < self._paused_until:
            return  # the same episode: answers that were already in flight
        self._paused_until = now + retry_after
        if self.rate is None:
            # Never paced yet: what got through before the first 429 is a safe floor.
            started = self._episode_started if self._episode_started is not None else now
            self.good = max(self._min_rate, self._successes / (now - started + retry_after))
        elif self._isolated(now):
            pass  # one 429 after a long quiet spell at the settled rate: a blip, keep the rate
        else:
            self.bad = min(self.bad, self.rate)
            if self.good >= self.bad:
                self.good = self.bad * 0.9  # capacity shrank below what used to be fine
        self._last_throttle = now
        self._successes = 0
        self._set_rate(self._next_rate(), now)
