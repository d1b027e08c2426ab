"""Injected faults: throttling with Retry-After, 503, commit-then-504, late commits, resets, numeric
enums."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from importer.sandbox import FaultConfig, RunningSandbox, SandboxConfig
from importer.sandbox.faults import FaultDice
from tests.conftest import (
    AUTH,
    BOB_UPN,
    SANDBOX_USERS,
    FakeClock,
    SandboxClientFactory,
    SleepRecorder,
)
from tests.importing import skills_of

SKILLS = f"/beta/users/{BOB_UPN}/profile/skills"


async def sandbox_with(factory: SandboxClientFactory, **faults: Any) -> TestClient[Any, Any]:
    return await factory(SandboxConfig(users=SANDBOX_USERS, faults=FaultConfig(**faults)))


async def stats_of(client: TestClient[Any, Any]) -> dict[str, Any]:
    body: dict[str, Any] = await (await client.get("/_sandbox/stats")).json()
    return body


async def test_request_over_the_rate_is_429_with_integer_retry_after(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    client = await sandbox_with(make_sandbox_client, throttle_rps=2)

    first = await client.get(SKILLS, headers=AUTH)
    second = await client.get(SKILLS, headers=AUTH)

    assert first.status == 200
    assert second.status == 429
    assert second.headers["Retry-After"].isdigit()
    assert int(second.headers["Retry-After"]) >= 1
    body = await second.json()
    assert body["error"]["code"] == "TooManyRequests"
    assert body["error"]["innerError"]["request-id"] == second.headers["request-id"]


async def test_requests_inside_the_retry_after_window_are_429_and_counted_premature(
    make_sandbox_client: SandboxClientFactory, fake_clock: FakeClock
) -> None:
    client = await sandbox_with(make_sandbox_client, throttle_rps=2)
    await client.get(SKILLS, headers=AUTH)
    throttled = await client.get(SKILLS, headers=AUTH)
    wait = int(throttled.headers["Retry-After"])

    fake_clock.advance(wait - 0.5)
    early = await client.get(SKILLS, headers=AUTH)
    # A premature request is told to wait again, and the window restarts from that answer.
    fake_clock.advance(int(early.headers["Retry-After"]))
    on_time = await client.get(SKILLS, headers=AUTH)

    assert early.status == 429
    assert on_time.status == 200
    stats = await stats_of(client)
    assert stats["premature_requests"] == 1
    assert stats["throttled"] == 2


async def test_an_immediate_retry_on_the_same_connection_is_premature(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    client = await sandbox_with(make_sandbox_client, throttle_rps=2)
    await client.get(SKILLS, headers=AUTH)
    throttled = await client.get(SKILLS, headers=AUTH)

    retried = await client.get(SKILLS, headers=AUTH)  # same keep-alive connection, no wait

    assert (throttled.status, retried.status) == (429, 429)
    assert (await stats_of(client))["premature_requests"] == 1


async def test_a_request_already_in_transit_on_another_connection_is_not_premature(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    client = await sandbox_with(make_sandbox_client, throttle_rps=2)
    await client.get(SKILLS, headers=AUTH)
    await client.get(SKILLS, headers=AUTH)  # 429: the window opens

    async with (
        aiohttp.ClientSession() as other,
        other.get(client.make_url(SKILLS), headers=AUTH) as response,
    ):
        status = response.status

    assert status == 429
    assert (await stats_of(client))["premature_requests"] == 0


async def test_a_client_that_honours_retry_after_has_no_premature_requests(
    make_sandbox_client: SandboxClientFactory, fake_clock: FakeClock
) -> None:
    client = await sandbox_with(make_sandbox_client, throttle_rps=10)
    statuses = []
    for _ in range(30):
        response = await client.post(SKILLS, json={"displayName": "x"}, headers=AUTH)
        statuses.append(response.status)
        if response.status == 429:
            fake_clock.advance(int(response.headers["Retry-After"]))
        else:
            fake_clock.advance(0.05)

    assert 429 in statuses
    stats = await stats_of(client)
    assert stats["premature_requests"] == 0
    assert stats["skills_total"] == statuses.count(201)


async def test_throttling_turned_on_at_runtime_applies_immediately(
    sandbox_client: TestClient[Any, Any],
) -> None:
    changed = await sandbox_client.put("/_sandbox/faults", json={"throttle_rps": 1})
    await sandbox_client.get(SKILLS, headers=AUTH)
    response = await sandbox_client.get(SKILLS, headers=AUTH)

    assert changed.status == 200
    assert (await changed.json())["throttle_rps"] == 1
    assert response.status == 429


@pytest.mark.parametrize("change", [{"nope": 1}, {"error_503_rate": 2}, {"seed": "x"}, [1]])
async def test_bad_fault_update_is_400_and_changes_nothing(
    sandbox_client: TestClient[Any, Any], change: Any
) -> None:
    response = await sandbox_client.put("/_sandbox/faults", json=change)

    assert response.status == 400
    faults = await (await sandbox_client.get("/_sandbox/faults")).json()
    assert faults == {**FaultConfig().__dict__}


async def test_503_stores_nothing(make_sandbox_client: SandboxClientFactory) -> None:
    client = await sandbox_with(make_sandbox_client, error_503_rate=1)

    response = await client.post(SKILLS, json={"displayName": "Python"}, headers=AUTH)

    assert response.status == 503
    assert (await response.json())["error"]["innerError"]["request-id"]
    assert (await stats_of(client))["skills_total"] == 0


async def test_commit_then_504_stores_the_write_but_reports_failure(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    client = await sandbox_with(make_sandbox_client, commit_then_504_rate=1)

    response = await client.post(SKILLS, json={"displayName": "Python"}, headers=AUTH)
    listed = await client.get(SKILLS, headers=AUTH)

    assert response.status == 504
    assert listed.status == 200
    assert [skill["displayName"] for skill in (await listed.json())["value"]] == ["Python"]
    assert (await stats_of(client))["writes"] == 1


async def test_random_faults_follow_the_rate_and_are_reproducible_with_a_seed(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    runs = []
    for _ in range(2):
        client = await sandbox_with(make_sandbox_client, error_503_rate=0.3, seed=7)
        runs.append([(await client.get(SKILLS, headers=AUTH)).status for _ in range(60)])

    assert runs[0] == runs[1]
    assert 5 <= runs[0].count(503) <= 35
    assert set(runs[0]) == {200, 503}


async def test_reset_drops_the_connection_without_an_answer(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    client = await sandbox_with(make_sandbox_client, reset_rate=1)

    with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        await client.post(SKILLS, json={"displayName": "Python"}, headers=AUTH)

    stats = await stats_of(client)
    assert stats["resets"] == 1
    assert stats["skills_total"] == 0


async def test_enums_can_be_answered_as_numbers_like_the_real_service_did(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    client = await sandbox_with(make_sandbox_client, enums_as_numbers=True)

    response = await client.post(
        SKILLS,
        json={"displayName": "Python", "proficiency": "expert", "allowedAudiences": "organization"},
        headers=AUTH,
    )
    created = await response.json()
    listed = (await (await client.get(SKILLS, headers=AUTH)).json())["value"]
    dumped = (await (await client.get(f"/_sandbox/users/{BOB_UPN}/skills")).json())["value"]

    assert (created["proficiency"], created["allowedAudiences"]) == ("4", "8")
    assert (listed[0]["proficiency"], listed[0]["allowedAudiences"]) == ("4", "8")
    assert dumped[0]["proficiency"] == "expert"


async def test_latency_with_jitter_delays_graph_requests_but_not_admin_ones(
    make_sandbox_client: SandboxClientFactory, sleep_recorder: SleepRecorder
) -> None:
    client = await sandbox_with(make_sandbox_client, latency_ms=100, jitter_ms=20, seed=1)

    for _ in range(10):
        await client.get(SKILLS, headers=AUTH)
    await client.get("/_sandbox/stats")

    assert len(sleep_recorder.calls) == 10
    assert all(0.08 <= delay <= 0.12 for delay in sleep_recorder.calls)
    assert len(set(sleep_recorder.calls)) > 1


async def test_stats_count_requests_by_method_and_status(
    sandbox_client: TestClient[Any, Any],
) -> None:
    await sandbox_client.post(SKILLS, json={"displayName": "Python"}, headers=AUTH)
    await sandbox_client.post(SKILLS, json={"displayName": "Go"}, headers=AUTH)
    await sandbox_client.get(SKILLS)
    item = {"id": "1", "method": "GET", "url": f"/users/{BOB_UPN}/profile/skills"}
    await sandbox_client.post("/beta/$batch", json={"requests": [item]}, headers=AUTH)

    stats = await stats_of(sandbox_client)

    assert stats["requests_by_method_status"] == {
        "$batch 200": 1,
        "GET 200": 1,
        "GET 401": 1,
        "POST 201": 2,
    }
    assert stats["graph_requests"] == 4
    assert stats["batches"] == 1
    assert stats["writes"] == 2
    assert stats["skills_total"] == 2
    assert stats["duplicates"] == {}


async def test_admin_reset_drops_skills_and_zeroes_counters(
    sandbox_client: TestClient[Any, Any],
) -> None:
    await sandbox_client.post(SKILLS, json={"displayName": "Python"}, headers=AUTH)

    response = await sandbox_client.post("/_sandbox/reset")

    assert response.status == 200
    stats = await stats_of(sandbox_client)
    assert stats["skills_total"] == 0
    assert stats["graph_requests"] == 0
    assert stats["requests_by_method_status"] == {}


async def test_admin_dump_lists_one_users_skills_and_404s_unknown_users(
    sandbox_client: TestClient[Any, Any],
) -> None:
    await sandbox_client.post(SKILLS, json={"displayName": "Python"}, headers=AUTH)

    known = await sandbox_client.get("/_sandbox/users/BOB%40contoso.com/skills")
    unknown = await sandbox_client.get("/_sandbox/users/nobody%40contoso.com/skills")

    assert [skill["displayName"] for skill in (await known.json())["value"]] == ["Python"]
    assert unknown.status == 404


# --- creates that commit late ------------------------------------------------------------------


def test_late_commits_vary_within_the_jitter() -> None:
    dice = FaultDice(FaultConfig(late_commit_ms=2200, late_commit_jitter_ms=1000, seed=3))

    delays = [dice.late_commit_s() for _ in range(200)]

    assert all(1.2 <= delay <= 3.2 for delay in delays)
    assert max(delays) - min(delays) > 1.5  # spread over the range, not one fixed delay


async def test_a_create_committed_after_the_clients_timeout_lands_once_it_gave_up(
    running_sandbox: RunningSandbox,
) -> None:
    running_sandbox.faults.late_commit_rate = 1
    running_sandbox.faults.late_commit_ms = 400
    running_sandbox.faults.late_commit_answer = "with-commit"
    url = f"{running_sandbox.base_url}{SKILLS}"

    async with aiohttp.ClientSession(headers=AUTH) as session:
        with pytest.raises(TimeoutError):
            async with session.post(
                url, json={"displayName": "Python"}, timeout=aiohttp.ClientTimeout(total=0.1)
            ):
                pass
        async with session.get(url) as listed:
            assert (await listed.json())["value"] == []  # not stored yet
        await running_sandbox.wait_until(lambda stats: stats.late_commits_pending == 0)
        async with session.get(url) as listed:
            assert [s["displayName"] for s in (await listed.json())["value"]] == ["Python"]


async def test_a_batch_is_answered_only_once_its_late_creates_are_stored(
    running_sandbox: RunningSandbox,
) -> None:
    running_sandbox.faults.late_commit_rate = 1
    running_sandbox.faults.late_commit_ms = 200
    running_sandbox.faults.late_commit_jitter_ms = 100
    running_sandbox.faults.late_commit_answer = "with-commit"
    envelope = {
        "requests": [
            {
                "id": str(n),
                "method": "POST",
                "url": f"/users/{BOB_UPN}/profile/skills",
                "headers": {"Content-Type": "application/json"},
                "body": {"displayName": name},
            }
            for n, name in enumerate(["Python", "Go"], start=1)
        ]
    }

    async with (
        aiohttp.ClientSession(headers=AUTH) as session,
        session.post(f"{running_sandbox.base_url}/beta/$batch", json=envelope) as answer,
    ):
        statuses = [item["status"] for item in (await answer.json())["responses"]]
        held = await skills_of(running_sandbox, BOB_UPN)

    assert statuses == [201, 201]
    assert sorted(skill["displayName"] for skill in held) == ["Go", "Python"]


async def test_late_commits_answered_at_once_are_504(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    client = await sandbox_with(make_sandbox_client, late_commit_rate=1, late_commit_ms=50)

    response = await client.post(SKILLS, json={"displayName": "Python"}, headers=AUTH)

    assert response.status == 504
    assert (await stats_of(client))["late_commits_pending"] == 1


async def test_an_unknown_late_commit_answer_is_refused(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    client = await sandbox_with(make_sandbox_client)

    response = await client.put("/_sandbox/faults", json={"late_commit_answer": "never"})

    assert response.status == 400
    assert "late_commit_answer" in (await response.json())["error"]


async def test_a_delete_of_a_removed_skill_is_told_from_a_wrong_id(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    client = await sandbox_with(make_sandbox_client)
    created = await (await client.post(SKILLS, json={"displayName": "Go"}, headers=AUTH)).json()

    for skill_id in (created["id"], created["id"], "no-such-skill"):
        await client.delete(f"{SKILLS}/{skill_id}", headers=AUTH)

    stats = await stats_of(client)
    assert (stats["deletes_of_removed"], stats["deletes_of_unknown"]) == (1, 1)
