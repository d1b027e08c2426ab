"""External connections, schema provisioning, items and profile sources, as Graph documents them."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient

from importer.sandbox import FaultConfig, SandboxConfig
from tests.conftest import AUTH, SANDBOX_USERS, FakeClock, SandboxClientFactory

BASE = "/v1.0/external/connections"
PEOPLE_SCHEMA: dict[str, Any] = {
    "baseType": "microsoft.graph.externalItem",
    "properties": [
        {"name": "account", "type": "string", "labels": ["personAccount"]},
        {"name": "skills", "type": "stringCollection", "labels": ["personSkills"]},
    ],
}
ITEM: dict[str, Any] = {
    "acl": [{"type": "everyone", "value": "everyone", "accessType": "grant"}],
    "properties": {
        "account": json.dumps({"externalDirectoryObjectId": SANDBOX_USERS[3][0]}),
        "skills@odata.type": "Collection(String)",
        "skills": [json.dumps({"displayName": "Python", "proficiency": "expert"})],
    },
}


async def create_people_connection(client: TestClient[Any, Any], cid: str = "hrskills") -> None:
    body = {"id": cid, "name": "HR skills", "description": "d", "contentCategory": "people"}
    response = await client.post(BASE, json=body, headers=AUTH)
    assert response.status == 201, await response.text()


async def register_schema(client: TestClient[Any, Any], cid: str = "hrskills") -> str:
    response = await client.patch(f"{BASE}/{cid}/schema", json=PEOPLE_SCHEMA, headers=AUTH)
    assert response.status == 202, await response.text()
    return response.headers["Location"]


async def state_of(client: TestClient[Any, Any], cid: str = "hrskills") -> str:
    response = await client.get(f"{BASE}/{cid}", headers=AUTH)
    state: str = (await response.json())["state"]
    return state


async def test_a_connection_is_created_once_and_its_id_follows_the_documented_rules(
    sandbox_client: TestClient[Any, Any],
) -> None:
    await create_people_connection(sandbox_client)

    again = await sandbox_client.post(
        BASE, json={"id": "HRSkills", "name": "x", "description": "d"}, headers=AUTH
    )
    bad = await sandbox_client.post(
        BASE, json={"id": "hr-skills", "name": "x", "description": "d"}, headers=AUTH
    )
    reserved = await sandbox_client.post(
        BASE, json={"id": "MicrosoftHR", "name": "x", "description": "d"}, headers=AUTH
    )

    assert again.status == 409
    assert (await again.json())["error"]["code"] == "Conflict"
    assert bad.status == 400
    assert reserved.status == 400
    assert "reserved" in (await reserved.json())["error"]["message"]


async def test_a_schema_provisions_until_its_delay_passes_and_items_wait_for_it(
    make_sandbox_client: SandboxClientFactory, fake_clock: FakeClock
) -> None:
    client = await make_sandbox_client(SandboxConfig(users=SANDBOX_USERS, schema_ready_s=30))
    await create_people_connection(client)
    location = await register_schema(client)
    operation = "/" + location.split("/", 3)[3]

    early = await client.get(operation, headers=AUTH)
    refused = await client.put(f"{BASE}/hrskills/items/bob", json=ITEM, headers=AUTH)
    draft = await state_of(client)
    fake_clock.advance(31)
    later = await client.get(operation, headers=AUTH)

    assert (await early.json())["status"] == "inprogress"
    assert draft == "draft"
    assert refused.status == 400
    assert (await later.json())["status"] == "completed"
    assert await state_of(client) == "ready"


async def test_a_schema_that_never_gets_ready_stays_in_progress(
    make_sandbox_client: SandboxClientFactory, fake_clock: FakeClock
) -> None:
    config = SandboxConfig(users=SANDBOX_USERS, schema_ready_s=0, schema_never_ready=True)
    client = await make_sandbox_client(config)
    await create_people_connection(client)
    location = await register_schema(client)
    fake_clock.advance(3600)

    answer = await client.get("/" + location.split("/", 3)[3], headers=AUTH)

    assert (await answer.json())["status"] == "inprogress"
    assert await state_of(client) == "draft"


async def test_a_people_schema_needs_a_string_personaccount_property(
    sandbox_client: TestClient[Any, Any],
) -> None:
    await create_people_connection(sandbox_client)
    schema = {**PEOPLE_SCHEMA, "properties": PEOPLE_SCHEMA["properties"][1:]}

    response = await sandbox_client.patch(f"{BASE}/hrskills/schema", json=schema, headers=AUTH)

    assert response.status == 400
    assert "personAccount" in (await response.json())["error"]["message"]


async def test_an_item_is_put_read_replaced_and_deleted(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    client = await make_sandbox_client(SandboxConfig(users=SANDBOX_USERS, schema_ready_s=0))
    await create_people_connection(client)
    await register_schema(client)
    url = f"{BASE}/hrskills/items/0b0c3f3a1c524c1e9a557d0c5a2d0004"

    first = await client.put(url, json=ITEM, headers=AUTH)
    second = await client.put(url, json=ITEM, headers=AUTH)
    read = await client.get(url, headers=AUTH)
    listed = await client.get("/_sandbox/external/hrskills/items")
    deleted = await client.delete(url, headers=AUTH)
    gone = await client.get(url, headers=AUTH)

    assert (first.status, second.status) == (200, 200)
    item = await read.json()
    assert item["properties"] == ITEM["properties"]
    assert item["acl"] == ITEM["acl"]
    assert len((await listed.json())["value"]) == 1
    assert deleted.status == 204
    assert gone.status == 404
    assert (await gone.json())["error"]["code"] == "itemNotFound"


async def test_items_that_break_the_schema_or_the_id_rules_are_refused(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    client = await make_sandbox_client(SandboxConfig(users=SANDBOX_USERS, schema_ready_s=0))
    await create_people_connection(client)
    await register_schema(client)
    unknown = {**ITEM, "properties": {**ITEM["properties"], "salary": "1"}}
    untyped = {**ITEM, "properties": {"account": "{}", "skills": ["{}"]}}

    answers = [
        await client.put(f"{BASE}/hrskills/items/bob", json=unknown, headers=AUTH),
        await client.put(f"{BASE}/hrskills/items/bob", json=untyped, headers=AUTH),
        await client.put(f"{BASE}/hrskills/items/bob", json={**ITEM, "acl": []}, headers=AUTH),
        await client.put(f"{BASE}/hrskills/items/b-o-b", json=ITEM, headers=AUTH),
    ]

    assert [answer.status for answer in answers] == [400, 400, 400, 400]


async def test_items_travel_in_batch_and_each_is_throttled_on_its_own(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    config = SandboxConfig(
        users=SANDBOX_USERS, schema_ready_s=0, faults=FaultConfig(throttle_rps=1, throttle_burst=4)
    )
    client = await make_sandbox_client(config)
    await create_people_connection(client)
    await register_schema(client)  # the connection and the schema took two of the four tokens
    requests = [
        {
            "id": str(n),
            "method": "PUT",
            "url": f"/external/connections/hrskills/items/item{n}",
            "headers": {"Content-Type": "application/json"},
            "body": ITEM,
        }
        for n in range(4)
    ]

    response = await client.post("/v1.0/$batch", json={"requests": requests}, headers=AUTH)

    statuses = sorted(answer["status"] for answer in (await response.json())["responses"])
    assert statuses == [200, 200, 429, 429]


async def test_a_profile_source_is_registered_once_and_read_by_its_source_id(
    sandbox_client: TestClient[Any, Any],
) -> None:
    body = {"sourceId": "hrskills", "displayName": "HR skills", "webUrl": "https://hr.example"}

    created = await sandbox_client.post(
        "/v1.0/admin/people/profileSources", json=body, headers=AUTH
    )
    again = await sandbox_client.post("/v1.0/admin/people/profileSources", json=body, headers=AUTH)
    read = await sandbox_client.get(
        "/v1.0/admin/people/profileSources(sourceId='hrskills')", headers=AUTH
    )
    unknown = await sandbox_client.get(
        "/v1.0/admin/people/profileSources(sourceId='other')", headers=AUTH
    )

    assert created.status == 201
    assert again.status == 409
    assert (await read.json())["sourceId"] == "hrskills"
    assert unknown.status == 404
