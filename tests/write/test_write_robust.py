"""The write stage under failure: workers that never die, prompt stops, duplicates cleaned up.

The dispatcher runs against a real sandbox on 127.0.0.1 with the real client; only the token
provider is swapped where a test needs it to misbehave.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from importer.config import RunSettings, load_settings
from importer.graph.client import GraphClient
from importer.graph.retry import RetryAfterGate
from importer.records import RowOutcome, SkillRow, SourceRow, Table
from importer.sandbox import FIXED_TOKEN, RunningSandbox
from importer.write.dispatcher import Dispatcher
from tests.conftest import BOB_UPN, GUEST_UPN, ONEIL_UPN, ZOE_UPN
from tests.importing import import_file, post_skill, results, skills_of, write_csv

USERS = [BOB_UPN, GUEST_UPN, ONEIL_UPN, ZOE_UPN]
TABLE = Table("skills.csv", "", ("user", "skill"), {"user": 0, "displayName": 1})


def _users(per_user: int) -> dict[str, list[SkillRow]]:
    users: dict[str, list[SkillRow]] = {}
    line = 1
    for user in USERS:
        for n in range(per_user):
            line += 1
            name = f"Skill {n:02d}"
            source = SourceRow(TABLE, line, (user, name))
            users.setdefault(user.casefold(), []).append(
                SkillRow(source, user, name, proficiency="expert")
            )
    return users


def _run_settings(tmp_path: Path, **run: Any) -> RunSettings:
    config = tmp_path / "config.yaml"
    config.write_text("", encoding="utf-8")
    return load_settings(config, {"run": run} if run else {}, environ={}).run


async def _dispatch(
    sandbox: RunningSandbox,
    tmp_path: Path,
    token: Callable[[bool], Awaitable[str]],
    users: dict[str, list[SkillRow]],
    **run: Any,
) -> tuple[Dispatcher, list[RowOutcome]]:
    outcomes: list[RowOutcome] = []
    async with GraphClient(
        sandbox.base_url, "beta", token, concurrency=2, request_timeout_s=10
    ) as client:
        dispatcher = Dispatcher(
            client, run=_run_settings(tmp_path, **run), on_outcome=outcomes.append
        )
        await dispatcher.run(users)
    return dispatcher, outcomes


# --- no worker dies silently ----------------------------------------------------------------


async def test_a_token_no_header_can_carry_fails_every_row_and_the_run_ends(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    async def broken_token(force_refresh: bool) -> str:
        return "sandbox\r"  # what a credential reading a CRLF file would hand over

    users = _users(3)
    _, outcomes = await _dispatch(running_sandbox, tmp_path, broken_token, users)

    assert Counter((o.action.value, o.error_type) for o in outcomes) == {
        ("failed", "internal-error"): 12
    }
    assert "sandbox" not in " ".join(o.error for o in outcomes).replace("sandbox:", "")
    assert running_sandbox.stats.graph_requests == 0


async def test_a_sign_in_that_fails_mid_run_stops_it_with_a_clear_reason(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    calls = 0

    async def failing_later(force_refresh: bool) -> str:
        nonlocal calls
        calls += 1
        if calls > 3:
            raise ConnectionError("login.microsoftonline.com unreachable")
        return FIXED_TOKEN

    users = _users(10)
    dispatcher, outcomes = await _dispatch(
        running_sandbox, tmp_path, failing_later, users, batch_size=2
    )

    assert dispatcher.result.aborted.startswith("sign-in failed during the run")
    assert "ConnectionError" in dispatcher.result.aborted
    actions = Counter(o.action.value for o in outcomes)
    assert sum(actions.values()) == 40  # every row accounted for
    assert actions["created"] == running_sandbox.stats_view()["skills_total"]
    assert {o.error_type for o in outcomes if o.action.value == "failed"} <= {"sign-in-failed"}
    assert actions["not-sent"] > 0


# --- the write stage's own error types -----------------------------------------------------------


async def test_writes_refused_for_longer_than_the_cap_fail_as_throttled_too_long(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    running_sandbox.faults.batch_status = 429
    running_sandbox.faults.batch_retry_after = "3600"

    _, outcomes = await _dispatch(running_sandbox, tmp_path, lambda _: _fixed(), _users(3))

    assert Counter((o.action.value, o.error_type) for o in outcomes) == {
        ("failed", "throttled-too-long"): 12
    }
    assert running_sandbox.stats.batches == 1  # nothing else left inside the announced hour


async def test_a_redirect_fails_the_rows_as_redirect_refused(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    running_sandbox.faults.redirect_to = "https://elsewhere.example/beta/$batch"

    _, outcomes = await _dispatch(running_sandbox, tmp_path, lambda _: _fixed(), _users(1))

    assert Counter((o.action.value, o.error_type) for o in outcomes) == {
        ("failed", "redirect-refused"): 4
    }
    assert "elsewhere.example" in outcomes[0].error


# --- interrupts are prompt ---------------------------------------------------------------------


class _WatchedGate(RetryAfterGate):
    """The run's gate, telling the test when a 429 has closed it."""

    def __init__(self) -> None:
        super().__init__(max_wait_s=600)
        self.closed = asyncio.Event()

    def close_for(self, seconds: float) -> None:
        super().close_for(seconds)
        self.closed.set()


async def test_stop_during_a_long_retry_after_ends_the_run_at_once(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    faults = running_sandbox.faults
    faults.batch_status, faults.batch_retry_after = 429, "300"  # within the 600 s cap
    outcomes: list[RowOutcome] = []
    gate = _WatchedGate()
    async with GraphClient(
        running_sandbox.base_url,
        "beta",
        lambda _: _fixed(),
        concurrency=2,
        request_timeout_s=10,
        gate=gate,
    ) as client:
        dispatcher = Dispatcher(client, run=_run_settings(tmp_path), on_outcome=outcomes.append)
        run = asyncio.create_task(dispatcher.run(_users(2)))
        await gate.closed.wait()  # the first 429 has closed the gate for 300 s
        dispatcher.stop()
        result = await asyncio.wait_for(run, timeout=30)  # a backstop, far below 300 s

    assert result.interrupted
    assert Counter((o.action.value, o.error_type) for o in outcomes) == {
        ("not-sent", "not-sent"): 8
    }
    assert running_sandbox.stats.batches == 1


async def _fixed() -> str:
    return FIXED_TOKEN


# --- duplicates this tool made are always cleaned up -------------------------------------------


async def test_an_upsert_rerun_removes_tagged_copies_and_keeps_hand_entered_ones(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    tagged = {"source": {"type": "skills-import"}}
    oldest = await post_skill(running_sandbox, BOB_UPN, {"displayName": "Python", **tagged})
    await post_skill(running_sandbox, BOB_UPN, {"displayName": "Python", **tagged})
    by_hand = await post_skill(running_sandbox, BOB_UPN, {"displayName": "python"})
    await post_skill(running_sandbox, BOB_UPN, {"displayName": "Go"})
    await post_skill(running_sandbox, BOB_UPN, {"displayName": "Go"})  # both entered by Bob

    for mode in ("upsert", "create"):
        result = await import_file(
            running_sandbox,
            tmp_path,
            write_csv(tmp_path / "s.csv", [(BOB_UPN, "Python", "", ""), (BOB_UPN, "Go", "", "")]),
            mode=mode,
        )
        assert result.exit_code == 0, result.reason

    held = await skills_of(running_sandbox, BOB_UPN)
    assert sorted(s["id"] for s in held if s["displayName"].lower() == "python") == sorted(
        [oldest, by_hand]
    )
    assert [s["displayName"] for s in held].count("Go") == 2  # people's own are never touched


async def test_late_commits_and_lagging_listings_leave_no_duplicate(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    faults = running_sandbox.faults
    faults.seed = 11
    faults.late_commit_rate = 0.4
    faults.late_commit_ms = 300
    faults.listing_lag_ms = 600
    rows = [(user, f"Skill {n:02d}", "expert", "") for user in USERS for n in range(6)]

    result = await import_file(
        running_sandbox,
        tmp_path,
        write_csv(tmp_path / "s.csv", rows),
        max_retry_wait_s=3,
        max_attempts=20,
    )

    assert result.exit_code == 0, result.reason
    assert Counter(line["action"] for line in results(result)) == {"created": len(rows)}
    faults.late_commit_rate = 0  # let whatever is still pending land before looking
    faults.listing_lag_ms = 0
    await asyncio.sleep(0.4)
    assert running_sandbox.stats_view()["duplicates"] == {}
    for user in USERS:
        names = sorted(s["displayName"] for s in await skills_of(running_sandbox, user))
        assert names == sorted(name for u, name, _l, _c in rows if u == user)
    reported = {line["skillId"] for line in results(result)}
    held = {s["id"] for user in USERS for s in await skills_of(running_sandbox, user)}
    assert reported == held  # every row names the copy that stayed
