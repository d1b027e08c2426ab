"""``$batch`` as Graph documents it: limits, per-item answers, throttling per item."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient

from importer.sandbox import FaultConfig, SandboxConfig
from tests.conftest import (
    AUTH,
    BOB_UPN,
    GUEST_UPN,
    SANDBOX_USERS,
    FakeClock,
    SandboxClientFactory,
    SleepRecorder,
)

JSON = {"Content-Type": "application/json"}


def create_item(item_id: str, name: str, user: str = BOB_UPN) -> dict[str, Any]:
    return {
        "id": item_id,
        "method": "POST",
        "url": f"/users/{quote(user, safe='')}/profile/skills",
        "headers": JSON,
        "body": {"displayName": name},
    }


async def post_batch(
    client: TestClient[Any, Any], items: list[dict[str, Any]], version: str = "beta"
) -> tuple[int, dict[str, Any]]:
    response = await client.post(f"/{version}/$batch", json={"requests": items}, headers=AUTH)
    body: dict[str, Any] = await response.json()
    return response.status, body


async def skill_names(client: TestClient[Any, Any], user: str = BOB_UPN) -> list[str]:
    response = await client.get(f"/beta/users/{quote(user, safe='')}/profile/skills", headers=AUTH)
    return [item["displayName"] for item in (await response.json())["value"]]


async def test_twenty_creates_in_one_batch_are_all_stored_and_answered_by_id(
    sandbox_client: TestClient[Any, Any],
) -> None:
    items = [create_item(str(n), f"Skill {n}") for n in range(20)]

    status, body = await post_batch(sandbox_client, items)

    assert status == 200
    answers = {answer["id"]: answer for answer in body["responses"]}
    assert set(answers) == {str(n) for n in range(20)}
    assert all(answer["status"] == 201 for answer in answers.values())
    assert answers["7"]["body"]["displayName"] == "Skill 7"
    assert answers["7"]["headers"]["Content-Type"] == "application/json"
    assert sorted(await skill_names(sandbox_client)) == sorted(f"Skill {n}" for n in range(20))


async def test_answers_do_not_come_back_in_request_order(
    sandbox_client: TestClient[Any, Any],
) -> None:
    items = [create_item(str(n), f"Skill {n}") for n in range(5)]

    _, body = await post_batch(sandbox_client, items)

    assert [answer["id"] for answer in body["responses"]] != ["0", "1", "2", "3", "4"]


async def test_twenty_one_items_fail_the_whole_batch_with_400(
    sandbox_client: TestClient[Any, Any],
) -> None:
    items = [create_item(str(n), f"Skill {n}") for n in range(21)]

    status, body = await post_batch(sandbox_client, items)

    assert status == 400
    assert body["error"]["code"] == "BadRequest"
    assert await skill_names(sandbox_client) == []


async def test_ids_repeated_in_another_case_fail_the_whole_batch_with_400(
    sandbox_client: TestClient[Any, Any],
) -> None:
    items = [create_item("a", "One"), create_item("A", "Two")]

    status, body = await post_batch(sandbox_client, items)

    assert status == 400
    assert "unique" in body["error"]["message"]
    assert await skill_names(sandbox_client) == []


@pytest.mark.parametrize(
    "envelope",
    [b"not json", b"{}", b'{"requests": []}', b'{"requests": [{"id": "1", "method": "GET"}]}'],
)
async def test_malformed_envelope_is_400(
    sandbox_client: TestClient[Any, Any], envelope: bytes
) -> None:
    response = await sandbox_client.post("/beta/$batch", data=envelope, headers={**AUTH, **JSON})

    assert response.status == 400
    assert (await response.json())["error"]["innerError"]["request-id"]


async def test_absolute_url_fails_only_that_item(sandbox_client: TestClient[Any, Any]) -> None:
    absolute = create_item("abs", "Absolute")
    absolute["url"] = f"https://graph.microsoft.com/beta{absolute['url']}"

    status, body = await post_batch(sandbox_client, [absolute, create_item("ok", "Relative")])

    assert status == 200
    answers = {answer["id"]: answer for answer in body["responses"]}
    assert answers["abs"]["status"] == 400
    assert answers["abs"]["body"]["error"]["code"] == "BadRequest"
    assert answers["ok"]["status"] == 201
    assert await skill_names(sandbox_client) == ["Relative"]


async def test_url_carrying_the_version_again_fails_that_item(
    sandbox_client: TestClient[Any, Any],
) -> None:
    item = create_item("v", "Versioned")
    item["url"] = "/beta" + item["url"]

    _, body = await post_batch(sandbox_client, [item])

    assert body["responses"][0]["status"] == 400


async def test_body_without_content_type_fails_that_item(
    sandbox_client: TestClient[Any, Any],
) -> None:
    item = create_item("1", "No header")
    del item["headers"]

    _, body = await post_batch(sandbox_client, [item, create_item("2", "With header")])

    answers = {answer["id"]: answer["status"] for answer in body["responses"]}
    assert answers == {"1": 400, "2": 201}


async def test_items_run_every_route_and_answer_their_own_status(
    sandbox_client: TestClient[Any, Any],
) -> None:
    _, created = await post_batch(sandbox_client, [create_item("c", "Python")])
    skill_id = created["responses"][0]["body"]["id"]
    base = f"/users/{BOB_UPN}/profile/skills"
    items: list[dict[str, Any]] = [
        {"id": "get", "method": "GET", "url": f"{base}/{skill_id}"},
        {"id": "list", "method": "GET", "url": f"{base}?$top=1"},
        {
            "id": "patch",
            "method": "PATCH",
            "url": f"{base}/{skill_id}",
            "headers": JSON,
            "body": {"proficiency": "expert"},
        },
        {"id": "delete", "method": "DELETE", "url": f"{base}/{skill_id}"},
        {"id": "nouser", "method": "GET", "url": "/users/nobody@contoso.com/profile/skills"},
        {**create_item("x", "x"), "id": "bad", "body": {"displayName": "x", "level": 3}},
    ]

    _, body = await post_batch(sandbox_client, items, version="v1.0")

    answers = {answer["id"]: answer for answer in body["responses"]}
    assert {key: answer["status"] for key, answer in answers.items()} == {
        "get": 200,
        "list": 200,
        "patch": 200,
        "delete": 204,
        "nouser": 404,
        "bad": 400,
    }
    assert answers["patch"]["body"]["proficiency"] == "expert"
    assert "body" not in answers["delete"]
    assert answers["nouser"]["body"]["error"]["code"] == "Request_ResourceNotFound"


async def test_item_depending_on_a_failed_item_is_424(
    sandbox_client: TestClient[Any, Any],
) -> None:
    failing = create_item("1", "x", user="nobody@contoso.com")
    dependent = {**create_item("2", "Python"), "dependsOn": ["1"]}

    _, body = await post_batch(sandbox_client, [failing, dependent])

    answers = {answer["id"]: answer["status"] for answer in body["responses"]}
    assert answers == {"1": 404, "2": 424}
    assert await skill_names(sandbox_client) == []


async def test_dependency_on_a_later_item_fails_the_batch(
    sandbox_client: TestClient[Any, Any],
) -> None:
    first = {**create_item("1", "One"), "dependsOn": ["2"]}

    status, _ = await post_batch(sandbox_client, [first, create_item("2", "Two")])

    assert status == 400


async def test_throttled_items_get_429_with_their_own_retry_after_while_the_batch_is_200(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    faults = FaultConfig(throttle_rps=50)  # burst of 5 tokens
    client = await make_sandbox_client(SandboxConfig(users=SANDBOX_USERS, faults=faults))
    items = [create_item(str(n), f"Skill {n}") for n in range(8)]

    status, body = await post_batch(client, items)

    assert status == 200
    throttled = [answer for answer in body["responses"] if answer["status"] == 429]
    assert len(throttled) == 3
    for answer in throttled:
        assert int(answer["headers"]["Retry-After"]) >= 1
        assert answer["body"]["error"]["code"] == "TooManyRequests"
    stats = await (await client.get("/_sandbox/stats")).json()
    assert stats["skills_total"] == 5
    assert stats["throttled"] >= 3
    assert stats["premature_requests"] == 0


async def test_batch_sent_inside_an_announced_retry_after_window_counts_each_item_premature(
    make_sandbox_client: SandboxClientFactory, fake_clock: FakeClock
) -> None:
    faults = FaultConfig(throttle_rps=10)  # burst of 1 token
    client = await make_sandbox_client(SandboxConfig(users=SANDBOX_USERS, faults=faults))
    await post_batch(client, [create_item("1", "One"), create_item("2", "Two")])

    fake_clock.advance(0.1)  # well after the 429 could have reached the client
    _, early = await post_batch(client, [create_item("3", "Three"), create_item("4", "Four")])
    fake_clock.advance(1.01)  # the premature answer restarted the window
    _, later = await post_batch(client, [create_item("5", "Five")])

    assert [answer["status"] for answer in early["responses"]] == [429, 429]
    assert later["responses"][0]["status"] == 201
    stats = await (await client.get("/_sandbox/stats")).json()
    assert stats["premature_requests"] == 2
    assert stats["skills_total"] == 2


async def test_latency_is_applied_once_per_batch_not_per_item(
    make_sandbox_client: SandboxClientFactory, sleep_recorder: SleepRecorder
) -> None:
    faults = FaultConfig(latency_ms=50)
    client = await make_sandbox_client(SandboxConfig(users=SANDBOX_USERS, faults=faults))

    await post_batch(client, [create_item(str(n), f"S{n}", GUEST_UPN) for n in range(20)])

    assert sleep_recorder.calls == [0.05]


async def test_batch_without_a_token_is_401_as_a_whole(
    sandbox_client: TestClient[Any, Any],
) -> None:
    response = await sandbox_client.post("/beta/$batch", json={"requests": [create_item("1", "x")]})

    assert response.status == 401
    assert (await response.json())["error"]["code"] == "InvalidAuthenticationToken"


async def test_a_larger_throttle_burst_lets_a_full_batch_through_after_a_quiet_spell(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    faults = FaultConfig(throttle_rps=10, throttle_burst=20)
    client = await make_sandbox_client(SandboxConfig(users=SANDBOX_USERS, faults=faults))

    _, full = await post_batch(client, [create_item(str(n), f"S{n}") for n in range(20)])
    _, over = await post_batch(client, [create_item("21", "S21")])

    assert {answer["status"] for answer in full["responses"]} == {201}
    assert over["responses"][0]["status"] == 429
