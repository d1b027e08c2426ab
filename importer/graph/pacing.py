"""Client-side pacing that learns the rate a throttling server accepts.

After a 429 every request waits for ``Retry-After`` (the gate in ``retry``). That alone is not
enough to go fast under throttling: when the gate reopens, every waiting batch leaves at once,
most items are throttled again, and the run spends its time waiting out one-second windows.
The pacer keeps the send rate just under what the server accepts, so that 429s become rare.

It searches for that rate the way a person would:

- until the first 429 there is no limit at all (the usual case against a real tenant);
- ``good`` is the highest rate that ran for ``quiet_s`` without a 429, ``bad`` the lowest rate
  that drew one. The next rate to try is double ``good`` while no ``bad`` is known, then the
  geometric middle of the two; once they are within 3% the pacer settles at 99% of ``good``;
- a 429 at or below ``good`` means capacity shrank: ``good`` falls below it and the search
  resumes, unless it is a lone 429 after ``10 * quiet_s`` quiet seconds at the settled rate (a
  blip: the rate gives up 1%, no more); after ``reprobe_s`` quiet seconds at the settled rate,
  ``bad`` is raised a little so capacity that came back is found again. Each 429 costs a whole
  Retry-After window of nothing sent, so a probe that draws one doubles the wait before the
  next (up to ``16 * reprobe_s``); a probe that holds brings it back to ``reprobe_s``.

Every answer to the first burst counts: the floor the search starts from is what the server
admitted over that whole first episode, not only the answers read before the first 429 (they
come back in any order, and a floor taken from the first one alone can be near zero).

Paced traffic leaves in small steps: while a rate is set, a batch carries at most
``1 / STEPS_PER_S`` of a second's worth of it and the bucket holds no more than that, so the
jitter of a loaded machine or network never bunches a server's whole window into one instant
(against a server that admits a burst of 20, batches of 20 sent 2 ms too early each draw a 429).

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

__all__ = ["STEPS_PER_S", "AdaptivePacer"]

logger = logging.getLogger(__name__)

#: Paced sub-requests leave in steps of at most ``rate / STEPS_PER_S`` (50 ms of the rate).
STEPS_PER_S = 20

#: The search ends when the lowest rate that drew a 429 is within this factor of the highest
#: that did not; the pacer then holds ``_SETTLE_AT`` times the latter.
_PRECISION = 1.03
_SETTLE_AT = 0.99

#: The longest wait between probes for more capacity, as a multiple of ``reprobe_s``.
_MAX_REPROBE_FACTOR = 16


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
        self._burst_limit: int | None = None
        self._reprobe_wait_s = reprobe_s
        self._probing = False
        self._first_episode = True
        self._tokens = 0.0
        self._refilled_at = clock()
        self._changed_at = clock()
        self._paused_until = -math.inf
        self._last_throttle = -math.inf
        self._episode_started: float | None = None
        self._successes = 0
        self._lock = asyncio.Lock()

    @property
    def batch_limit(self) -> int | None:
        """The most sub-requests one batch may carry now (None: no limit of the pacer's)."""
        if self.rate is None:
            return self._burst_limit
        step = max(1, int(self.rate / STEPS_PER_S))
        return step if self._burst_limit is None else min(step, self._burst_limit)

    # -- the search ------------------------------------------------------------------------

    def _settled(self) -> bool:
        return self.bad <= self.good * _PRECISION

    def _next_rate(self) -> float:
        if math.isinf(self.bad):
            return max(self._min_rate, self.good * 2)
        if self._settled():
            return max(self._min_rate, self.good * _SETTLE_AT)
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
        settled = self._settled()
        # While no rate has failed yet, double quickly; near the limit, be sure first.
        needed = self._quiet_s / 4 if math.isinf(self.bad) else self._quiet_s
        if not settled and quiet >= needed:
            self.good = max(self.good, self.rate)
            self.bad = max(self.bad, self.good * 1.001)
            if self._probing:
                self._probing = False
                self._reprobe_wait_s = self._reprobe_s  # capacity came back: probe as usual
            self._set_rate(self._next_rate(), now)
        elif settled and quiet >= self._reprobe_wait_s:
            self.bad = self.good * 1.1
            self._probing = True
            self._set_rate(self._next_rate(), now)

    def _isolated(self, now: float) -> bool:
        settled = self._settled()
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
                capacity = max(1.0, rate / STEPS_PER_S)
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
        if self._first_episode and self.rate is not None:
            if self._clock() < self._paused_until:
                # An answer to the first burst read after its first 429: the floor counts it.
                self._raise_floor()
            else:
                self._first_episode = False

    def _raise_floor(self) -> None:
        started = self._episode_started if self._episode_started is not None else self._clock()
        floor = self._successes / max(1e-3, self._paused_until - started)
        if floor > self.good:
            self.good = floor
            self._set_rate(self._next_rate(), self._clock())

    def record_batch(self, sent: int, throttled: int) -> None:
        """Adapt the batch size to what the server admits at once."""
        if 0 < throttled < sent:
            # Partly admitted: the server's burst is about this size. (A batch refused whole
            # arrived while a window was open and says nothing about the burst.)
            admitted = sent - throttled
            self._burst_limit = min(self._burst_limit or admitted, admitted)
        elif self._burst_limit is not None and sent >= self._burst_limit:
            self._burst_limit += 1

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
        rate = self.rate
        first = rate is None
        if rate is None:
            # Never paced yet: what got through before the first 429 is a safe floor.
            started = self._episode_started if self._episode_started is not None else now
            self.good = max(self._min_rate, self._successes / (now - started + retry_after))
        elif self._isolated(now):
            # One 429 after a long quiet spell at the settled rate: no new search, but the rate
            # gives up 1% (a rate found a little over capacity, on a server's burst, draws one
            # such 429 a minute, each a whole Retry-After window lost, until it is lowered).
            self.good = rate
            self.bad = min(self.bad, rate * _PRECISION)
        else:
            self.bad = min(self.bad, rate)
            if self._probing:
                # The probe for more capacity found none: back to the settled rate at once (no
                # bisection above it: a rate a little over capacity can run for seconds on a
                # server's burst before its 429), and a longer wait before the next probe.
                limit = self._reprobe_s * _MAX_REPROBE_FACTOR
                self._reprobe_wait_s = min(limit, self._reprobe_wait_s * 2)
                self.bad = min(self.bad, self.good * _PRECISION)
            if self.good >= self.bad:
                self.good = self.bad * 0.9  # capacity shrank below what used to be fine
                self._reprobe_wait_s = self._reprobe_s
        self._probing = False
        self._last_throttle = now
        if not first:
            self._first_episode = False
            self._successes = 0
        self._set_rate(self._next_rate(), now)
