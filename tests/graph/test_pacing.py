"""The adaptive pacer against a simulated throttling server (fake clock, nothing waits)."""

from __future__ import annotations

import math

from importer.graph.pacing import AdaptivePacer


class SimulatedServer:
    """A token bucket like Graph's throttling: ``rate`` per second, ``burst`` at once."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.last = burst, 0.0
        self.closed_until = -math.inf

    def admit(self, now: float) -> bool:
        if now < self.closed_until:
            return False
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.closed_until = now + 1.0  # Retry-After: 1
        return False


async def _simulate(rate: float, burst: float, seconds: float) -> tuple[int, int, AdaptivePacer]:
    clock = [0.0]

    async def sleep(delay: float) -> None:
        clock[0] += delay

    pacer = AdaptivePacer(clock=lambda: clock[0], sleep=sleep)
    server = SimulatedServer(rate, burst)
    admitted = throttled = 0
    while clock[0] < seconds:
        size = min(20, pacer.batch_limit or 20)
        await pacer.acquire(size)
        answers = [server.admit(clock[0]) for _ in range(size)]
        ok = sum(answers)
        admitted += ok
        throttled += size - ok
        pacer.record_success(ok)
        pacer.record_batch(size, size - ok)
        if ok < size:
            pacer.record_throttled(1.0)
            clock[0] = max(clock[0], server.closed_until)  # the gate holds everything back
        clock[0] += 0.002  # a little work per batch
    return admitted, throttled, pacer


async def test_under_throttling_the_pacer_sustains_at_least_90_percent_of_the_servers_rate() -> (
    None
):
    admitted, _throttled, pacer = await _simulate(rate=200, burst=20, seconds=300)
    assert admitted / 300 >= 0.9 * 200
    assert pacer.rate is not None
    assert pacer.rate <= 1.05 * 200


async def test_after_settling_429s_are_rare() -> None:
    _admitted, throttled_all, _ = await _simulate(rate=50, burst=5, seconds=60)
    _admitted, throttled_long, _ = await _simulate(rate=50, burst=5, seconds=300)
    # Almost all throttling happens while the rate is being found.
    assert throttled_long - throttled_all < throttled_all


async def test_without_throttling_there_is_no_limit_at_all() -> None:
    clock = [0.0]

    async def sleep(delay: float) -> None:
        clock[0] += delay

    pacer = AdaptivePacer(clock=lambda: clock[0], sleep=sleep)
    for _ in range(1000):
        await pacer.acquire(20)
        pacer.record_success(20)
    assert clock[0] == 0.0
    assert pacer.rate is None


async def test_nothing_accrues_while_the_server_has_asked_to_wait() -> None:
    clock = [0.0]
    sleeps: list[float] = []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)
        clock[0] += delay

    pacer = AdaptivePacer(clock=lambda: clock[0], sleep=sleep)
    await pacer.acquire(20)
    pacer.record_success(20)
    clock[0] = 0.5
    pacer.record_throttled(3.0)
    await pacer.acquire(1)
    assert clock[0] >= 3.5  # held for the whole Retry-After
    assert pacer.rate is not None
    sent_at = clock[0]
    for _ in range(5):
        await pacer.acquire(5)
    # After the pause, batches leave at the paced rate, not all at once.
    assert clock[0] - sent_at >= 20 / pacer.rate * 0.9


async def test_a_lone_429_after_a_long_quiet_spell_keeps_the_rate_but_two_lower_it() -> None:
    clock = [0.0]

    async def sleep(delay: float) -> None:
        clock[0] += delay

    pacer = AdaptivePacer(clock=lambda: clock[0], sleep=sleep)
    await pacer.acquire(20)
    pacer.record_success(200)
    clock[0] = 1.0
    pacer.record_throttled(1.0)  # first 429: pacing starts
    pacer.good, pacer.bad = 100.0, 104.0  # as if the search had settled
    pacer.rate = 98.0
    clock[0] = 60.0
    pacer.record_throttled(1.0)  # a blip after a minute of quiet
    assert pacer.rate == 98.0
    clock[0] = 63.0
    pacer.record_throttled(1.0)  # another one soon after: capacity really shrank
    assert pacer.rate < 98.0


async def test_no_pacer_sleep_is_longer_than_the_wait_cap() -> None:
    clock = [0.0]
    sleeps: list[float] = []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)
        clock[0] += delay

    pacer = AdaptivePacer(clock=lambda: clock[0], sleep=sleep, max_wait_s=5)
    pacer.record_success(10)
    pacer.record_throttled(3600)  # beyond the cap: given up by the gate, never waited here
    await pacer.acquire(20)
    assert sleeps == []

    pacer.record_throttled(4)  # within the cap: honoured
    await pacer.acquire(20)
    await pacer.acquire(20)
    assert sleeps
    assert max(sleeps) <= 5
