"""The sandbox's ``GET /users/delta``: sync from now, changes since a link, @removed, paging,
links that expire or belong to another database, and every way the sandbox changes users."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp.test_utils import TestClient

from importer.sandbox import SandboxConfig
from tests.conftest import AUTH, SandboxClientFactory

DIRECTORY = """id,userPrincipalName,displayName,mail,employeeId,accountEnabled
u1,ann@contoso.com,Ann,ann@contoso.com,001,true
u2,bob@contoso.com,Bob,,002,true
u3,cy@contoso.com,Cy,cy@contoso.com,003,true
"""
SELECT = "$select=id,userPrincipalName,mail,employeeId,accountEnabled"


def _relative(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


async def _get(client: TestClient[Any, Any], url: str) -> tuple[int, dict[str, Any]]:
    response = await client.get(url, headers=AUTH)
    return response.status, await response.json()


async def _latest(client: TestClient[Any, Any]) -> str:
    status, body = await _get(client, f"/v1.0/users/delta?{SELECT}&$deltaToken=latest")
    assert status == 200, body
    assert body["value"] == []
    assert "@odata.nextLink" not in body
    return _relative(body["@odata.deltaLink"])


async def _round(client: TestClient[Any, Any], link: str) -> tuple[list[dict[str, Any]], str, int]:
    """Follow a link to the end: the users it answered, the new deltaLink, the pages read."""
    users: list[dict[str, Any]] = []
    pages = 0
    while True:
        status, body = await _get(client, link)
        assert status == 200, body
        pages += 1
        users.extend(body["value"])
        if "@odata.nextLink" in body:
            link = _relative(body["@odata.nextLink"])
            continue
        return users, _relative(body["@odata.deltaLink"]), pages


async def _client(
    make: SandboxClientFactory, tmp_path: Path, *, db: str = ":memory:", page: int = 999
) -> TestClient[Any, Any]:
    path = tmp_path / "directory.csv"
    if not path.exists():
        path.write_text(DIRECTORY, encoding="utf-8")
    return await make(SandboxConfig(directory=path, db_path=db, delta_page_size=page))


async def test_sync_from_now_then_changes_made_through_the_admin_view(
    make_sandbox_client: SandboxClientFactory, tmp_path: Path
) -> None:
    client = await _client(make_sandbox_client, tmp_path)
    link = await _latest(client)
    assert (await _round(client, link))[0] == []
    added = await client.put(
        "/_sandbox/directory/users/u9", json={"userPrincipalName": "new@x.com"}
    )
    assert added.status == 200
    await client.put("/_sandbox/directory/users/u2", json={"accountEnabled": False})
    await client.put("/_sandbox/directory/users/u1", json={"mail": None})
    assert (await client.delete("/_sandbox/directory/users/u3")).status == 200
    users, link, _ = await _round(client, link)
    assert users == [
        {"id": "u9", "userPrincipalName": "new@x.com", "accountEnabled": True},
        {"id": "u2", "userPrincipalName": "bob@contoso.com", "employeeId": "002",
         "accountEnabled": False},
        {"id": "u1", "userPrincipalName": "ann@contoso.com", "mail": None, "employeeId": "001",
         "accountEnabled": True},
        {"id": "u3", "@removed": {"reason": "deleted"}},
    ]  # fmt: skip
    assert (await _round(client, link))[0] == []
    # The listing agrees with what the changes said.
    _, body = await _get(client, f"/v1.0/users?{SELECT}")
    assert sorted(user["id"] for user in body["value"]) == ["u1", "u2", "u9"]


async def test_a_first_round_pages_through_every_user_and_keeps_the_select(
    make_sandbox_client: SandboxClientFactory, tmp_path: Path
) -> None:
    client = await _client(make_sandbox_client, tmp_path, page=2)
    users, link, pages = await _round(client, "/v1.0/users/delta?$select=id,mail")
    assert pages == 2
    assert users == [
        {"id": "u1", "mail": "ann@contoso.com"},
        {"id": "u2"},
        {"id": "u3", "mail": "cy@contoso.com"},
    ]
    await client.put("/_sandbox/directory/users/u2", json={"mail": "bob@contoso.com"})
    assert (await _round(client, link))[0] == [{"id": "u2", "mail": "bob@contoso.com"}]


async def test_an_expired_or_foreign_or_garbled_link_answers_sync_state_not_found(
    make_sandbox_client: SandboxClientFactory, tmp_path: Path
) -> None:
    client = await _client(make_sandbox_client, tmp_path)
    other = await _client(make_sandbox_client, tmp_path)  # another database
    link = await _latest(client)
    for url in (link, "/v1.0/users/delta?$deltatoken=not-a-token"):
        status, body = await _get(other, url)
        assert (status, body["error"]["code"]) == (400, "syncStateNotFound")
        assert "expired" in body["error"]["message"]
    assert (await _get(client, link))[0] == 200
    expired = await client.post("/_sandbox/directory/expire-delta-links")
    assert expired.status == 200
    status, body = await _get(client, link)
    assert (status, body["error"]["code"]) == (400, "syncStateNotFound")
    assert (await _round(client, await _latest(client)))[0] == []


async def test_a_restart_with_another_directory_csv_is_a_change(
    make_sandbox_client: SandboxClientFactory, tmp_path: Path
) -> None:
    db = str(tmp_path / "graph.sqlite")
    first = await _client(make_sandbox_client, tmp_path, db=db)
    link = await _latest(first)
    (tmp_path / "directory.csv").write_text(
        DIRECTORY.replace("u2,bob@contoso.com", "u2,robert@contoso.com").replace(
            "u3,cy@contoso.com,Cy,cy@contoso.com,003,true\n", ""
        ),
        encoding="utf-8",
    )
    second = await _client(make_sandbox_client, tmp_path, db=db)
    users, _, _ = await _round(second, link)
    assert [(u["id"], u.get("userPrincipalName"), "@removed" in u) for u in users] == [
        ("u2", "robert@contoso.com", False),
        ("u3", None, True),
    ]


async def test_delta_works_inside_a_batch_and_under_the_directory_faults(
    make_sandbox_client: SandboxClientFactory, tmp_path: Path
) -> None:
    client = await _client(make_sandbox_client, tmp_path)
    url = f"/users/delta?{SELECT}&$deltaToken=latest"
    response = await client.post(
        "/beta/$batch", json={"requests": [{"id": "1", "method": "GET", "url": url}]}, headers=AUTH
    )
    [item] = (await response.json())["responses"]
    assert item["status"] == 200
    assert "@odata.deltaLink" in item["body"]
    stats = await (await client.get("/_sandbox/stats")).json()
    assert stats["directory_reads"] == 1
    await client.put("/_sandbox/faults", json={"deny_directory_reads": True})
    status, body = await _get(client, "/v1.0" + url)
    assert (status, body["error"]["code"]) == (403, "Authorization_RequestDenied")


async def test_admin_changes_that_make_no_sense_are_refused(
    make_sandbox_client: SandboxClientFactory, tmp_path: Path
) -> None:
    client = await _client(make_sandbox_client, tmp_path)
    assert (await client.put("/_sandbox/directory/users/u7", json={"mail": "a@b"})).status == 400
    assert (await client.put("/_sandbox/directory/users/u1", json={"shoe": "9"})).status == 400
    bad = await client.put("/_sandbox/directory/users/u1", json={"accountEnabled": "no"})
    assert bad.status == 400
    assert (await client.delete("/_sandbox/directory/users/nobody")).status == 404
