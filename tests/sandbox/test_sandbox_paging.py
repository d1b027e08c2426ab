"""Listing skills page by page, the way Graph clients follow ``@odata.nextLink``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import ClientSession
from aiohttp.test_utils import TestClient

from importer.sandbox import RunningSandbox, SandboxConfig
from tests.conftest import AUTH, BOB_UPN, GUEST_UPN, SANDBOX_USERS, SandboxClientFactory


async def fill(client: TestClient[Any, Any], user: str, count: int) -> list[str]:
    ids = []
    for number in range(count):
        response = await client.post(
            f"/beta/users/{quote(user, safe='')}/profile/skills",
            json={"displayName": f"Skill {number:03d}"},
            headers=AUTH,
        )
        ids.append((await response.json())["id"])
    return ids


async def follow(session: ClientSession, url: str) -> tuple[list[str], int]:
    """Every id on every page, following nextLink verbatim; and the number of pages."""
    ids: list[str] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        async with session.get(next_url, headers=AUTH) as response:
            assert response.status == 200
            body = await response.json()
        ids.extend(item["id"] for item in body["value"])
        pages += 1
        next_url = body.get("@odata.nextLink")
    return ids, pages


async def test_next_link_followed_verbatim_returns_every_skill_once_in_creation_order(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    client = await make_sandbox_client(SandboxConfig(users=SANDBOX_USERS, page_size=7))
    created = await fill(client, GUEST_UPN, 23)

    url = str(client.make_url(f"/beta/users/{quote(GUEST_UPN, safe='')}/profile/skills"))
    listed, pages = await follow(client.session, url)

    assert listed == created
    assert pages == 4


async def test_next_link_is_absolute_and_keeps_top(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    client = await make_sandbox_client(SandboxConfig(users=SANDBOX_USERS))
    await fill(client, BOB_UPN, 5)

    response = await client.get(f"/beta/users/{BOB_UPN}/profile/skills?$top=2", headers=AUTH)
    body = await response.json()

    assert len(body["value"]) == 2
    link = body["@odata.nextLink"]
    assert link.startswith(str(client.make_url("/beta/users/")))
    assert "$top=2" in link
    assert "$skiptoken=" in link


async def test_top_above_the_page_size_is_capped(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    client = await make_sandbox_client(SandboxConfig(users=SANDBOX_USERS, page_size=3))
    await fill(client, BOB_UPN, 5)

    response = await client.get(f"/beta/users/{BOB_UPN}/profile/skills?$top=50", headers=AUTH)

    assert len((await response.json())["value"]) == 3


async def test_last_page_has_no_next_link(sandbox_client: TestClient[Any, Any]) -> None:
    await fill(sandbox_client, BOB_UPN, 2)

    response = await sandbox_client.get(f"/beta/users/{BOB_UPN}/profile/skills", headers=AUTH)

    assert "@odata.nextLink" not in await response.json()


async def test_skills_deleted_while_paging_are_not_skipped_or_repeated(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    client = await make_sandbox_client(SandboxConfig(users=SANDBOX_USERS, page_size=2))
    created = await fill(client, BOB_UPN, 6)
    first = await (await client.get(f"/beta/users/{BOB_UPN}/profile/skills", headers=AUTH)).json()
    await client.delete(f"/beta/users/{BOB_UPN}/profile/skills/{created[0]}", headers=AUTH)

    rest, _ = await follow(client.session, first["@odata.nextLink"])

    assert [item["id"] for item in first["value"]] + rest == created


async def test_invalid_top_or_skiptoken_or_unsupported_option_is_400(
    sandbox_client: TestClient[Any, Any],
) -> None:
    base = f"/beta/users/{BOB_UPN}/profile/skills"
    for query in ("$top=0", "$top=ten", "$skiptoken=garbage!", "$orderby=displayName"):
        response = await sandbox_client.get(f"{base}?{query}", headers=AUTH)
        assert response.status == 400, query
        assert (await response.json())["error"]["code"] == "BadRequest"


async def test_select_returns_only_the_chosen_properties_and_the_id(
    sandbox_client: TestClient[Any, Any],
) -> None:
    await fill(sandbox_client, BOB_UPN, 1)

    response = await sandbox_client.get(
        f"/beta/users/{BOB_UPN}/profile/skills?$select=displayName,proficiency", headers=AUTH
    )

    [item] = (await response.json())["value"]
    assert set(item) == {"id", "displayName", "proficiency"}


async def test_paging_works_over_real_tcp_with_a_plain_client_session(
    running_sandbox: RunningSandbox,
) -> None:
    base = f"{running_sandbox.base_url}/beta/users/{quote(GUEST_UPN, safe='')}/profile/skills"
    async with ClientSession() as session:
        for number in range(3):
            async with session.post(base, json={"displayName": f"s{number}"}, headers=AUTH) as r:
                assert r.status == 201
        listed, _ = await follow(session, f"{base}?$top=1")

    assert len(listed) == len(set(listed)) == 3
