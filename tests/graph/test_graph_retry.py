"""The retry policy: Retry-After parsing, backoff, the shared gate and the retry loop."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from importer.errors import PermanentGraphError, ThrottledTooLongError, TransientGraphError
from importer.graph.retry import (
    RetryAfterGate,
    backoff_delay,
    exceeds_wait_cap,
    parse_retry_after,
    with_retries,
)
from importer.graph.wire import HttpStats, is_transient_status
from tests.conftest import FakeTime

NOW = datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("5", 5.0),
        (" 120 ", 120.0),
        ("2.128", 2.128),
        ("0", 0.0),
        ("30,120", 30.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),
    ],
)
def test_retry_after_is_read_as_seconds(value: str, seconds: float) -> None:
    assert parse_retry_after(value, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "5s", "nan", "Wed, 99 Foo 2015"])
def test_unreadable_or_negative_retry_after_is_none(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_retry_after_wins_over_backoff_and_is_capped() -> None:
    assert backoff_delay(7, retry_after=2.5, cap=600) == 2.5
    assert backoff_delay(1, retry_after=900, cap=600) == 600
    assert exceeds_wait_cap(900, 600)
    assert not exceeds_wait_cap(600, 600)
    assert not exceeds_wait_cap(None, 600)


def test_backoff_grows_exponentially_with_jitter_and_stops_at_the_cap() -> None:
    for attempt, step in [(1, 0.5), (2, 1.0), (3, 2.0), (5, 8.0)]:
        delays = [backoff_delay(attempt, retry_after=None, cap=600) for _ in range(200)]
        assert all(step * 0.5 <= d <= step for d in delays)
        assert len(set(delays)) > 1
    assert all(15 <= backoff_delay(60, retry_after=None, cap=30) <= 30 for _ in range(50))
    assert backoff_delay(10_000, retry_after=None, cap=30) <= 30


def test_transient_statuses_are_429_503_504_only() -> None:
    assert {s for s in range(100, 600) if is_transient_status(s)} == {429, 503, 504}


async def test_gate_holds_a_request_until_the_announced_time() -> None:
    t = FakeTime()
    gate = RetryAfterGate(sleep=t.sleep, clock=t.clock)
    await gate.wait()
    assert t.sleeps == []
    gate.close_for(5.0)
    assert gate.is_closed
    await gate.wait()
    assert t.now >= 1005.0
    assert gate.closed_until <= t.now
    assert gate.throttled_events == 1


async def test_gate_is_extended_by_a_later_429_but_never_shortened() -> None:
    t = FakeTime()
    gate = RetryAfterGate(sleep=t.sleep, clock=t.clock)
    gate.close_for(10.0)
    gate.close_for(2.0)
    assert gate.closed_until == 1010.0

    async def sleep_while_another_429_arrives(seconds: float) -> None:
        await t.sleep(seconds)
        if len(t.sleeps) == 1:
            gate.close_for(7.0)

    gate._sleep = sleep_while_another_429_arrives
    await gate.wait()
    assert t.now >= 1017.0
    assert gate.throttled_events == 3


async def test_gate_closed_beyond_the_wait_cap_refuses_at_once_instead_of_holding() -> None:
    t = FakeTime()
    gate = RetryAfterGate(sleep=t.sleep, clock=t.clock, max_wait_s=60)
    gate.close_for(3600)
    with pytest.raises(ThrottledTooLongError) as caught:
        await gate.wait()
    assert t.sleeps == []  # nothing waited
    assert caught.value.sent is False
    assert "3600 s" in str(caught.value)

    t.now += 3600  # once the announced time has passed, requests flow again
    await gate.wait()
    assert t.sleeps == []


async def _run_with_failures(
    failures: list[Exception],
    *,
    max_attempts: int = 8,
    max_wait_s: float = 600,
    t: FakeTime | None = None,
) -> tuple[int, FakeTime, HttpStats]:
    t = t or FakeTime()
    stats = HttpStats()
    calls = 0

    async def call() -> None:
        nonlocal calls
        calls += 1
        if calls <= len(failures):
            raise failures[calls - 1]

    await with_retries(call, max_attempts, max_wait_s, sleep=t.sleep, stats=stats)
    return calls, t, stats


@pytest.mark.parametrize("status", [429, 503, 504])
async def test_throttling_and_unavailable_are_retried_until_success(status: int) -> None:
    errors: list[Exception] = [TransientGraphError("busy", status=status) for _ in range(3)]
    calls, t, stats = await _run_with_failures(errors)
    assert calls == 4
    assert stats.retries == 3
    assert len(t.sleeps) == 3


async def test_transport_failures_are_retried() -> None:
    errors: list[Exception] = [
        TransientGraphError("GET /x: cannot connect", sent=False),
        TransientGraphError("GET /x: no answer within 60 s"),
    ]
    calls, _, stats = await _run_with_failures(errors)
    assert calls == 3
    assert stats.retries == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 500])
async def test_other_errors_are_never_retried(status: int) -> None:
    with pytest.raises(PermanentGraphError) as caught:
        await _run_with_failures([PermanentGraphError("no", status=status)])
    assert caught.value.status == status


async def test_retry_after_is_honoured_over_backoff() -> None:
    errors: list[Exception] = [
        TransientGraphError("slow down", status=429, retry_after=7.5),
        TransientGraphError("slow down", status=429, retry_after=0.25),
    ]
    _, t, _ = await _run_with_failures(errors)
    assert t.sleeps == [7.5, 0.25]


async def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    errors: list[Exception] = [TransientGraphError(f"try {i}", status=503) for i in range(10)]
    with pytest.raises(TransientGraphError, match="try 2"):
        await _run_with_failures(errors, max_attempts=3)


@pytest.mark.parametrize("status", [429, 503])
async def test_gives_up_at_once_when_asked_to_wait_longer_than_the_cap(status: int) -> None:
    error = TransientGraphError("throttled", status=status, retry_after=3600, request_id="r-1")
    t = FakeTime()
    with pytest.raises(ThrottledTooLongError) as caught:
        await _run_with_failures([error], max_wait_s=600, t=t)
    assert caught.value.retry_after == 3600
    assert (caught.value.status, caught.value.request_id) == (status, "r-1")
    assert "3600 s, more than run.max_retry_wait_s (600 s)" in str(caught.value)
    assert t.sleeps == []


async def test_no_wait_is_ever_longer_than_the_cap() -> None:
    errors: list[Exception] = [TransientGraphError("busy", status=503) for _ in range(7)]
    _, t, _ = await _run_with_failures(errors, max_attempts=8, max_wait_s=2)
    assert len(t.sleeps) == 7
    assert max(t.sleeps) <= 2


async def test_throttling_has_a_budget_of_its_own_so_a_throttled_run_finishes() -> None:
    throttled: list[Exception] = [
        TransientGraphError("slow down", status=429, retry_after=1) for _ in range(12)
    ]
    calls, _, _ = await _run_with_failures(throttled, max_attempts=3)
    assert calls == 13  # twelve 429s did not use up the three attempts for failures

    with pytest.raises(TransientGraphError, match="slow down"):
        await _run_with_failures(throttled * 3, max_attempts=3)  # 30 is the 429 budget


async def test_a_custom_rule_decides_what_is_worth_another_attempt() -> None:
    t = FakeTime()
    calls = 0

    async def call() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise PermanentGraphError("server error, maybe carried out", status=500)

    await with_retries(
        call, 3, 600, sleep=t.sleep, retry_on=lambda error: isinstance(error, PermanentGraphError)
    )
    assert calls == 2


async def test_with_retries_sends_once_and_waits_for_nothing_when_all_is_well() -> None:
    calls, t, stats = await _run_with_failures([])
    assert (calls, t.sleeps, stats.retries) == (1, [], 0)


async def test_with_retries_follows_the_same_policy_as_the_loop() -> None:
    errors: list[Exception] = [
        TransientGraphError("slow down", status=429, retry_after=7.5),
        TransientGraphError("busy", status=503, retry_after=0.25),
    ]
    calls, t, stats = await _run_with_failures(errors)
    assert calls == 3
    assert t.sleeps == [7.5, 0.25]
    assert stats.retries == 2

    failing: list[Exception] = [TransientGraphError(f"try {i}", status=503) for i in range(10)]
    with pytest.raises(TransientGraphError, match="try 2"):
        await _run_with_failures(failing, max_attempts=3)  # the first attempt counts too

    with pytest.raises(PermanentGraphError):
        await _run_with_failures([PermanentGraphError("no", status=404)])

    too_long = TransientGraphError("throttled", status=429, retry_after=3600)
    with pytest.raises(TransientGraphError):
        await _run_with_failures([too_long], max_wait_s=600)
