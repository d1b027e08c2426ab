"""Client-side pacing that learns the rate a throttling server accepts.

After a 429 every request waits for ``Retry-After`` (the gate in ``retry``). That alone is not
enough to go fast under throttling: when the gate reopens, a full set of concurrent batches leaves
at once, most items are throttled again, and the run spends its time waiting. The pacer keeps the
send rate just under what the server accepts, so that 429s become rare:

- no 429 yet: no limit at all (the usual case against a real tenant);
- on a 429 (counted once per throttling episode): the rate becomes 90% of the lower of the current
  rate and the success rate measured since the previous episode;
- after ``probe_after_s`` without a 429: the rate creeps up by ``probe_step`` per second, to find
  capacity that has come back.

Batch size adapts the same way: a server evaluates every item of a ``$batch`` on its own, so
when it admits only a burst of N at once, batches of 20 lose 20 - N items to 429 every time.
After a partly throttled batch the next batches carry at most as many items as got through;
each clean batch lets one more item in again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["AdaptivePacer"]


class AdaptivePacer:
    """A token bucket over sub-requests whose rate adapts to throttling.

    Args:
        clock: monotonic seconds (injectable for tests).
        sleep: the sleep used while waiting for tokens (injectable for tests).
        decrease: factor applied to the measured rate on a 429.
        probe_after_s: quiet seconds before the rate starts creeping up again.
        probe_step: relative increase per quiet second while probing.
        min_rate: the rate never falls below this many sub-requests per second.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        decrease: float = 0.9,
        probe_after_s: float = 5.0,
        probe_step: float = 0.003,
        min_rate: float = 1.0,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._decrease = decrease
        self._probe_after_s = probe_after_s
        self._probe_step = probe_step
        self._min_rate = min_rate
        self.rate: float | None = None
        self._tokens = 0.0
        self._refilled_at = clock()
        self._episode_started = clock()
        self._successes_in_episode = 0
        self._last_throttle = float("-inf")
        self._paused_s = 0.0
        self._lock = asyncio.Lock()
        self._started = False
        self.batch_limit: int | None = None

    def _refill(self, now: float) -> None:
        assert self.rate is not None
        quiet = now - self._last_throttle
        if quiet > self._probe_after_s:
            step = min(now - self._refilled_at, quiet - self._probe_after_s)
            self.rate *= 1 + self._probe_step * step
        capacity = max(1.0, self.rate / 10)
        self._tokens = min(capacity, self._tokens + (now - self._refilled_at) * self.rate)
        self._refilled_at = now

    async def acquire(self, count: int) -> None:
        """Wait until ``count`` sub-requests may leave at the current rate."""
        if not self._started:
            self._started = True
            self._episode_started = self._clock()
        if self.rate is None:
            return
        async with self._lock:
            while True:
                now = self._clock()
                self._refill(now)
                # A batch bigger than the bucket waits for a full bucket, then goes into debt.
                need = min(float(count), max(1.0, self.rate / 10))
                if self._tokens >= need:
                    self._tokens -= count
                    return
                await self._sleep((need - self._tokens) / self.rate)

    def record_success(self, count: int) -> None:
        """Count sub-requests the server accepted (any answer but 429)."""
        self._successes_in_episode += count

    def record_batch(self, sent: int, throttled: int) -> None:
        """Adapt the batch size to what the server admits at once."""
        if throttled:
            admitted = sent - throttled
            limit = admitted if admitted > 0 else max(1, sent // 2)
            self.batch_limit = min(self.batch_limit or limit, limit)
        elif self.batch_limit is not None and sent >= self.batch_limit:
            self.batch_limit += 1

    def record_throttled(self, retry_after: float) -> None:
        """Lower the rate after a 429; one call per throttling episode counts.

        Args:
            retry_after: the wait the server announced; the time spent waiting is not
                counted as sending time when the success rate is measured.
        """
        now = self._clock()
        if now < self._last_throttle + self._paused_s:
            return  # the same episode: answers that were already in flight
        sending_time = max(1e-3, now - self._episode_started - self._paused_s)
        measured = self._successes_in_episode / sending_time
        current = self.rate if self.rate is not None else measured
        base = min(current, measured) if measured > 0 else current / 2
        self.rate = max(self._min_rate, base * self._decrease)
        self._tokens = 0.0
        self._refilled_at = now
        self._last_throttle = now
        self._episode_started = now
        self._paused_s = retry_after
        self._successes_in_episode = 0
