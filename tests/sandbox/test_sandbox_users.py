"""The sandbox's ``GET /users``: paging, $select, $filter eq/in, the 15-value limit, the CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient

from importer.sandbox import SandboxConfig, load_directory_csv
from tests.conftest import AUTH, SandboxClientFactory

DIRECTORY = """id,userPrincipalName,displayName,mail,employeeId,accountEnabled
u1,jdoe@contoso.onmicrosoft.com,John Doe,John.Doe@contoso.com,00101,true
u2,sean@contoso.onmicrosoft.com,Sean O'Brien,Sean.O'Brien@contoso.com,00102,
u3,gone@contoso.com,Gone,gone@contoso.com,00103,false
u4,twin1@contoso.com,Twin,twin1@contoso.com,00200,yes
u5,twin2@contoso.com,Twin,twin2@contoso.com,00200,no
"""


@pytest.fixture
async def users_client(
    make_sandbox_client: SandboxClientFactory, tmp_path: Path
) -> TestClient[Any, Any]:
    path = tmp_path / "directory.csv"
    path.write_text(DIRECTORY, encoding="utf-8")
    return await make_sandbox_client(SandboxConfig(directory=path))


async def _get(client: TestClient[Any, Any], query: str) -> tuple[int, dict[str, Any]]:
    response = await client.get(f"/beta/users?{query}", headers=AUTH)
    return response.status, await response.json()


def _filter(text: str) -> str:
    return "$filter=" + quote(text, safe="")


def test_the_directory_csv_reads_the_optional_columns(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(DIRECTORY, encoding="utf-8")
    users = load_directory_csv(path)
    assert [(u.employee_id, u.account_enabled) for u in users] == [
        ("00101", True),
        ("00102", True),
        ("00103", False),
        ("00200", True),
        ("00200", False),
    ]
    assert users[1].mail == "Sean.O'Brien@contoso.com"


def test_a_directory_csv_with_only_id_and_upn_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("id,userPrincipalName\nabc,a@contoso.com\n", encoding="utf-8")
    [user] = load_directory_csv(path)
    assert (user.mail, user.employee_id, user.account_enabled) == ("", "", True)


def test_a_bad_account_enabled_value_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("id,userPrincipalName,accountEnabled\nabc,a@contoso.com,maybe\n", "utf-8")
    with pytest.raises(ValueError, match="line 2: accountEnabled"):
        load_directory_csv(path)


async def test_a_listing_pages_with_next_links_that_keep_select(
    users_client: TestClient[Any, Any],
) -> None:
    status, body = await _get(users_client, "$select=id,employeeId,accountEnabled&$top=2")
    assert status == 200
    seen = list(body["value"])
    assert seen[0] == {
        "id": "u1",
        "employeeId": "00101",
        "accountEnabled": True,
    }
    while "@odata.nextLink" in body:
        link = body["@odata.nextLink"]
        assert link.startswith(str(users_client.make_url("/beta/users?")))
        response = await users_client.get(
            link.split(str(users_client.make_url("")), 1)[1], headers=AUTH
        )
        body = await response.json()
        seen.extend(body["value"])
    assert [user["employeeId"] for user in seen] == ["00101", "00102", "00103", "00200", "00200"]
    assert all(set(user) == {"id", "employeeId", "accountEnabled"} for user in seen)


async def test_without_select_the_default_properties_come_back(
    users_client: TestClient[Any, Any],
) -> None:
    _, body = await _get(users_client, "$top=1")
    assert set(body["value"][0]) == {"id", "displayName", "mail", "userPrincipalName"}


async def test_filters_match_ignoring_case_with_quotes_doubled(
    users_client: TestClient[Any, Any],
) -> None:
    _, body = await _get(users_client, _filter("mail eq 'sean.o''brien@contoso.com'"))
    assert [u["userPrincipalName"] for u in body["value"]] == ["sean@contoso.onmicrosoft.com"]
    _, body = await _get(users_client, _filter("employeeId in ('00101','00200','nobody')"))
    assert [u["userPrincipalName"] for u in body["value"]] == [
        "jdoe@contoso.onmicrosoft.com",
        "twin1@contoso.com",
        "twin2@contoso.com",
    ]
    _, body = await _get(
        users_client, _filter("userPrincipalName eq 'JDOE@contoso.onmicrosoft.com'")
    )
    assert len(body["value"]) == 1


async def test_an_escaped_injection_is_one_literal_that_matches_nobody(
    users_client: TestClient[Any, Any],
) -> None:
    status, body = await _get(users_client, _filter("employeeId eq 'x'' or employeeId ne '''"))
    assert (status, body["value"]) == (200, [])


@pytest.mark.parametrize(
    "expression",
    [
        "employeeId eq 'x' or employeeId ne ''",
        "startswith(mail,'j')",
        "displayName eq 'John Doe'",
        "mail ne 'x'",
        "mail eq 'unterminated",
        "mail in ('a' 'b')",
    ],
)
async def test_anything_but_one_eq_or_in_is_an_unsupported_query(
    users_client: TestClient[Any, Any], expression: str
) -> None:
    status, body = await _get(users_client, _filter(expression))
    assert status == 400
    assert body["error"]["code"] == "Request_UnsupportedQuery"


async def test_sixteen_values_are_too_many_child_clauses(
    users_client: TestClient[Any, Any],
) -> None:
    values = ",".join(f"'{n:05d}'" for n in range(16))
    status, body = await _get(users_client, _filter(f"employeeId in ({values})"))
    assert status == 400
    assert "Too many child clauses" in body["error"]["message"]
    fifteen = ",".join(f"'{n:05d}'" for n in range(15))
    status, _ = await _get(users_client, _filter(f"employeeId in ({fifteen})"))
    assert status == 200


@pytest.mark.parametrize("query", ["$top=1000", "$count=true", "$orderby=mail", "$select=manager"])
async def test_other_options_are_refused(users_client: TestClient[Any, Any], query: str) -> None:
    status, body = await _get(users_client, query)
    assert status == 400
    assert body["error"]["code"] == "Request_UnsupportedQuery"


async def test_lookups_work_inside_a_batch_and_are_counted(
    users_client: TestClient[Any, Any],
) -> None:
    url = "/users?" + _filter("employeeId eq '00103'") + "&$select=id,accountEnabled"
    response = await users_client.post(
        "/beta/$batch",
        json={"requests": [{"id": "1", "method": "GET", "url": url}]},
        headers=AUTH,
    )
    [item] = (await response.json())["responses"]
    assert item["status"] == 200
    assert item["body"]["value"] == [{"id": "u3", "accountEnabled": False}]
    stats = await (await users_client.get("/_sandbox/stats")).json()
    assert stats["directory_reads"] == 1


async def test_a_denied_directory_answers_403(users_client: TestClient[Any, Any]) -> None:
    await users_client.put("/_sandbox/faults", json={"deny_directory_reads": True})
    status, body = await _get(users_client, "$top=1")
    assert (status, body["error"]["code"]) == (403, "Authorization_RequestDenied")
