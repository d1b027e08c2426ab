"""The sandbox's profile-skills routes: statuses, bodies and errors, as a Graph client sees them."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import AUTH, BOB_ID, BOB_UPN, GUEST_UPN, ONEIL_UPN, ZOE_UPN

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def skills_url(user: str, skill_id: str = "", version: str = "beta") -> str:
    """The collection (or one skill) URL with the user percent-encoded as one segment."""
    url = f"/{version}/users/{quote(user, safe='')}/profile/skills"
    return f"{url}/{skill_id}" if skill_id else url


async def create(client: TestClient[Any, Any], user: str, **body: Any) -> dict[str, Any]:
    response = await client.post(skills_url(user), json=body, headers=AUTH)
    assert response.status == 201, await response.text()
    created: dict[str, Any] = await response.json()
    return created


def assert_graph_error(body: dict[str, Any], code: str) -> None:
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["error"]["innerError"]["request-id"]
    assert body["error"]["innerError"]["date"]


async def test_create_answers_201_with_the_full_object_and_defaults(
    sandbox_client: TestClient[Any, Any],
) -> None:
    skill = await create(
        sandbox_client, BOB_UPN, displayName="API Design", proficiency="expert", categories=["IT"]
    )

    assert GUID.match(skill["id"])
    assert skill["displayName"] == "API Design"
    assert skill["proficiency"] == "expert"
    assert skill["categories"] == ["IT"]
    assert skill["collaborationTags"] == []
    assert skill["allowedAudiences"] == "organization"
    assert skill["webUrl"] is None
    assert skill["source"] is None
    assert skill["inference"] is None
    assert skill["createdDateTime"] == skill["lastModifiedDateTime"]
    assert skill["createdDateTime"].endswith("Z")
    assert skill["createdBy"]["user"]["id"]
    assert skill["createdBy"]["application"] is None
    assert skill["lastModifiedBy"] == skill["createdBy"]


async def test_get_returns_the_created_skill(sandbox_client: TestClient[Any, Any]) -> None:
    skill = await create(sandbox_client, BOB_UPN, displayName="Python")

    response = await sandbox_client.get(skills_url(BOB_UPN, skill["id"]), headers=AUTH)

    assert response.status == 200
    assert await response.json() == skill


async def test_patch_changes_only_the_given_fields(sandbox_client: TestClient[Any, Any]) -> None:
    skill = await create(
        sandbox_client, BOB_UPN, displayName="Python", proficiency="elementary", categories=["IT"]
    )

    response = await sandbox_client.patch(
        skills_url(BOB_UPN, skill["id"]), json={"proficiency": "expert"}, headers=AUTH
    )

    assert response.status == 200
    updated = await response.json()
    assert updated["proficiency"] == "expert"
    assert updated["categories"] == ["IT"]
    assert updated["displayName"] == "Python"
    assert updated["createdDateTime"] == skill["createdDateTime"]
    assert updated["lastModifiedDateTime"] >= skill["lastModifiedDateTime"]
    again = await sandbox_client.get(skills_url(BOB_UPN, skill["id"]), headers=AUTH)
    assert await again.json() == updated


async def test_delete_answers_204_and_the_skill_is_gone(
    sandbox_client: TestClient[Any, Any],
) -> None:
    skill = await create(sandbox_client, BOB_UPN, displayName="Python")

    response = await sandbox_client.delete(skills_url(BOB_UPN, skill["id"]), headers=AUTH)

    assert response.status == 204
    assert await response.read() == b""
    gone = await sandbox_client.get(skills_url(BOB_UPN, skill["id"]), headers=AUTH)
    assert gone.status == 404
    assert_graph_error(await gone.json(), "itemNotFound")


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_unknown_skill_id_is_404_item_not_found(
    sandbox_client: TestClient[Any, Any], method: str
) -> None:
    url = skills_url(BOB_UPN, "00000000-0000-0000-0000-000000000000")
    body = {"proficiency": "expert"} if method == "PATCH" else None

    response = await sandbox_client.request(method, url, json=body, headers=AUTH)

    assert response.status == 404
    assert_graph_error(await response.json(), "itemNotFound")


async def test_unknown_user_is_404_request_resource_not_found(
    sandbox_client: TestClient[Any, Any],
) -> None:
    response = await sandbox_client.post(
        skills_url("nobody@contoso.com"), json={"displayName": "x"}, headers=AUTH
    )

    assert response.status == 404
    assert_graph_error(await response.json(), "Request_ResourceNotFound")


async def test_skill_of_another_user_is_not_found(sandbox_client: TestClient[Any, Any]) -> None:
    skill = await create(sandbox_client, BOB_UPN, displayName="Python")

    response = await sandbox_client.get(skills_url(ZOE_UPN, skill["id"]), headers=AUTH)

    assert response.status == 404


@pytest.mark.parametrize("user", [GUEST_UPN, ONEIL_UPN, ZOE_UPN])
async def test_awkward_upns_are_decoded_as_one_segment(
    sandbox_client: TestClient[Any, Any], user: str
) -> None:
    skill = await create(sandbox_client, user, displayName="Negotiation")

    response = await sandbox_client.get(skills_url(user), headers=AUTH)

    assert response.status == 200
    assert [item["id"] for item in (await response.json())["value"]] == [skill["id"]]


async def test_user_matches_by_object_id_or_upn_in_any_case(
    sandbox_client: TestClient[Any, Any],
) -> None:
    await create(sandbox_client, BOB_ID.upper(), displayName="Python")

    response = await sandbox_client.get(skills_url("BOB@Contoso.COM"), headers=AUTH)

    assert [item["displayName"] for item in (await response.json())["value"]] == ["Python"]


async def test_encoded_slash_in_user_is_part_of_the_id_not_a_path_separator(
    sandbox_client: TestClient[Any, Any],
) -> None:
    response = await sandbox_client.get(skills_url("bob@contoso.com/profile"), headers=AUTH)

    assert response.status == 404
    assert_graph_error(await response.json(), "Request_ResourceNotFound")


async def test_v1_0_serves_the_same_store(sandbox_client: TestClient[Any, Any]) -> None:
    await create(sandbox_client, BOB_UPN, displayName="Python")

    response = await sandbox_client.get(skills_url(BOB_UPN, version="v1.0"), headers=AUTH)

    assert [item["displayName"] for item in (await response.json())["value"]] == ["Python"]


async def test_numeric_proficiency_and_flag_audiences_are_accepted_and_stored_as_names(
    sandbox_client: TestClient[Any, Any],
) -> None:
    skill = await create(
        sandbox_client,
        BOB_UPN,
        displayName="Python",
        proficiency="4",
        allowedAudiences="everyone,organization",
        collaborationTags=["ableToMentor", "askMeAbout"],
    )

    assert skill["proficiency"] == "expert"
    assert skill["allowedAudiences"] == "organization,everyone"
    assert skill["collaborationTags"] == ["ableToMentor", "askMeAbout"]


@pytest.mark.parametrize("source", [{"type": "skills-import"}, {"type": ["skills-import"]}])
async def test_source_is_stored_as_sent_in_either_documented_shape(
    sandbox_client: TestClient[Any, Any], source: dict[str, Any]
) -> None:
    skill = await create(sandbox_client, BOB_UPN, displayName="Python", source=source)

    fetched = await sandbox_client.get(skills_url(BOB_UPN, skill["id"]), headers=AUTH)

    assert (await fetched.json())["source"] == source


async def test_duplicate_display_names_are_stored_like_the_real_api_does(
    sandbox_client: TestClient[Any, Any],
) -> None:
    first = await create(sandbox_client, BOB_UPN, displayName="Python")
    second = await create(sandbox_client, BOB_UPN, displayName="python")

    assert first["id"] != second["id"]
    stats = await (await sandbox_client.get("/_sandbox/stats")).json()
    assert stats["duplicates"] == {BOB_UPN: ["Python"]}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"displayName": "x", "proficiency": "Guru"}, "proficiency"),
        ({"displayName": "x", "proficiency": "6"}, "proficiency"),
        ({"displayName": "x", "allowedAudiences": "world"}, "allowedAudiences"),
        ({"displayName": "x", "allowedAudiences": "organization,world"}, "allowedAudiences"),
        ({"displayName": "x", "collaborationTags": ["mentor"]}, "collaborationTags"),
        ({"displayName": "x", "colour": "red"}, "colour"),
        ({"displayName": "x", "id": "0b0c3f3a-1c52-4c1e-9a55-7d0c5a2d0009"}, "read-only"),
        ({"displayName": "x", "createdDateTime": "2020-01-01T00:00:00Z"}, "read-only"),
        ({"displayName": "x", "lastModifiedBy": None}, "read-only"),
        ({"displayName": 42}, "displayName"),
        ({"displayName": "x", "categories": "IT"}, "categories"),
        ({"displayName": "x", "proficiency": 4}, "proficiency"),
        ({"displayName": "x", "source": {"type": 3}}, "source"),
        ({"proficiency": "expert"}, "displayName"),
        ({"displayName": "   "}, "displayName"),
        ([{"displayName": "x"}], "JSON object"),
    ],
)
async def test_bad_create_body_is_400_naming_the_problem_and_stores_nothing(
    sandbox_client: TestClient[Any, Any], body: Any, fragment: str
) -> None:
    response = await sandbox_client.post(skills_url(BOB_UPN), json=body, headers=AUTH)

    assert response.status == 400
    error = await response.json()
    assert_graph_error(error, "BadRequest")
    assert fragment in error["error"]["message"]
    listed = await sandbox_client.get(skills_url(BOB_UPN), headers=AUTH)
    assert (await listed.json())["value"] == []


async def test_invalid_json_is_400(sandbox_client: TestClient[Any, Any]) -> None:
    response = await sandbox_client.post(
        skills_url(BOB_UPN),
        data=b'{"displayName": ',
        headers={**AUTH, "Content-Type": "application/json"},
    )

    assert response.status == 400
    assert_graph_error(await response.json(), "BadRequest")


async def test_patch_with_read_only_property_is_400_and_changes_nothing(
    sandbox_client: TestClient[Any, Any],
) -> None:
    skill = await create(sandbox_client, BOB_UPN, displayName="Python")

    response = await sandbox_client.patch(
        skills_url(BOB_UPN, skill["id"]),
        json={"proficiency": "expert", "createdBy": None},
        headers=AUTH,
    )

    assert response.status == 400
    fetched = await sandbox_client.get(skills_url(BOB_UPN, skill["id"]), headers=AUTH)
    assert (await fetched.json())["proficiency"] is None


async def test_unsupported_method_is_405(sandbox_client: TestClient[Any, Any]) -> None:
    response = await sandbox_client.put(skills_url(BOB_UPN), json={}, headers=AUTH)

    assert response.status == 405
    assert_graph_error(await response.json(), "Request_BadRequest")


async def test_unknown_segment_is_400(sandbox_client: TestClient[Any, Any]) -> None:
    response = await sandbox_client.get(f"/beta/users/{BOB_UPN}/profile/languages", headers=AUTH)

    assert response.status == 400
    assert "languages" in (await response.json())["error"]["message"]


async def test_every_answer_carries_a_request_id_and_echoes_the_client_request_id(
    sandbox_client: TestClient[Any, Any],
) -> None:
    headers = {**AUTH, "client-request-id": "c0ffee00-0000-4000-8000-000000000001"}

    ok = await sandbox_client.get(skills_url(BOB_UPN), headers=headers)
    failed = await sandbox_client.get(skills_url("nobody@contoso.com"), headers=headers)

    assert ok.headers["request-id"]
    assert ok.headers["client-request-id"] == headers["client-request-id"]
    inner = (await failed.json())["error"]["innerError"]
    assert inner["request-id"] == failed.headers["request-id"]
    assert inner["client-request-id"] == headers["client-request-id"]
