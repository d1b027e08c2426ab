"""Bearer tokens and the client-credentials token endpoint of the sandbox."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from importer.sandbox import FaultConfig, SandboxConfig
from tests.conftest import AUTH, BOB_UPN, SANDBOX_USERS, FakeClock, SandboxClientFactory

SKILLS = f"/beta/users/{BOB_UPN}/profile/skills"
TOKEN_URL = "/contoso.onmicrosoft.com/oauth2/v2.0/token"
GOOD_FORM = {
    "grant_type": "client_credentials",
    "client_id": "11111111-2222-3333-4444-555555555555",
    "client_secret": "sandbox",
    "scope": "https://graph.microsoft.com/.default",
}


async def app_token(client: TestClient[Any, Any]) -> str:
    response = await client.post(TOKEN_URL, data=GOOD_FORM)
    assert response.status == 200
    token: str = (await response.json())["access_token"]
    return token


async def test_token_endpoint_issues_a_bearer_token_for_client_credentials(
    sandbox_client: TestClient[Any, Any],
) -> None:
    response = await sandbox_client.post(TOKEN_URL, data=GOOD_FORM)

    body = await response.json()
    assert response.status == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"] not in (GOOD_FORM["client_secret"], "sandbox")


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"scope": "User.ReadWrite.All"}, 400, "invalid_scope"),
        ({"client_id": ""}, 400, "invalid_request"),
    ],
)
async def test_token_endpoint_errors_use_the_aadsts_body(
    sandbox_client: TestClient[Any, Any], change: dict[str, str], status: int, error: str
) -> None:
    response = await sandbox_client.post(TOKEN_URL, data={**GOOD_FORM, **change})

    body = await response.json()
    assert response.status == status
    assert body["error"] == error
    assert body["error_description"].startswith("AADSTS")
    assert body["error_codes"]
    assert body["trace_id"]
    assert body["correlation_id"]
    assert "wrong" not in str(body)


async def test_token_endpoint_accepts_http_basic_client_authentication(
    sandbox_client: TestClient[Any, Any],
) -> None:
    form = {key: GOOD_FORM[key] for key in ("grant_type", "scope")}
    response = await sandbox_client.post(
        TOKEN_URL,
        data=form,
        headers={
            "Authorization": "Basic MTExMTExMTEtMjIyMi0zMzMzLTQ0NDQtNTU1NTU1NTU1NTU1OnNhbmRib3g="
        },
    )

    assert response.status == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer "}, {"Authorization": "Bearer forged"}, {"Authorization": "x"}],
)
async def test_missing_or_unknown_token_is_401_invalid_authentication_token(
    sandbox_client: TestClient[Any, Any], headers: dict[str, str]
) -> None:
    response = await sandbox_client.get(SKILLS, headers=headers)

    assert response.status == 401
    body = await response.json()
    assert body["error"]["code"] == "InvalidAuthenticationToken"
    assert body["error"]["innerError"]["request-id"]


async def test_expired_app_token_is_401(
    make_sandbox_client: SandboxClientFactory, fake_clock: FakeClock
) -> None:
    client = await make_sandbox_client(SandboxConfig(users=SANDBOX_USERS, token_ttl_s=60))
    token = await app_token(client)
    fresh = await client.get(SKILLS, headers={"Authorization": f"Bearer {token}"})

    fake_clock.advance(60)
    expired = await client.get(SKILLS, headers={"Authorization": f"Bearer {token}"})

    assert fresh.status == 200
    assert expired.status == 401
    assert "expired" in (await expired.json())["error"]["message"]


async def test_app_token_reads_but_its_writes_are_403_access_denied_for_role(
    sandbox_client: TestClient[Any, Any],
) -> None:
    created = await sandbox_client.post(SKILLS, json={"displayName": "Python"}, headers=AUTH)
    skill_id = (await created.json())["id"]
    app = {"Authorization": f"Bearer {await app_token(sandbox_client)}"}

    read = await sandbox_client.get(SKILLS, headers=app)
    writes = [
        await sandbox_client.post(SKILLS, json={"displayName": "Go"}, headers=app),
        await sandbox_client.patch(f"{SKILLS}/{skill_id}", json={"proficiency": "4"}, headers=app),
        await sandbox_client.delete(f"{SKILLS}/{skill_id}", headers=app),
    ]

    assert read.status == 200
    for response in writes:
        assert response.status == 403
        assert (await response.json())["error"]["code"] == "ErrorAccessDeniedForRole"
    listed = await (await sandbox_client.get(SKILLS, headers=AUTH)).json()
    assert [(s["displayName"], s["proficiency"]) for s in listed["value"]] == [("Python", None)]


async def test_app_writes_allowed_when_configured_are_attributed_to_the_application(
    make_sandbox_client: SandboxClientFactory,
) -> None:
    faults = FaultConfig(deny_app_writes=False)
    client = await make_sandbox_client(SandboxConfig(users=SANDBOX_USERS, faults=faults))
    app = {"Authorization": f"Bearer {await app_token(client)}"}

    response = await client.post(SKILLS, json={"displayName": "Go"}, headers=app)

    assert response.status == 201
    created_by = (await response.json())["createdBy"]
    assert created_by["application"]["id"] == GOOD_FORM["client_id"]
    assert created_by["user"] is None


async def test_app_writes_in_a_batch_are_403_per_item(
    sandbox_client: TestClient[Any, Any],
) -> None:
    app = {"Authorization": f"Bearer {await app_token(sandbox_client)}"}
    item = {
        "id": "1",
        "method": "POST",
        "url": f"/users/{BOB_UPN}/profile/skills",
        "headers": {"Content-Type": "application/json"},
        "body": {"displayName": "Go"},
    }

    response = await sandbox_client.post("/beta/$batch", json={"requests": [item]}, headers=app)

    assert response.status == 200
    assert (await response.json())["responses"][0]["status"] == 403


async def test_tokens_never_reach_the_logs(
    sandbox_client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    token = await app_token(sandbox_client)
    await sandbox_client.get(SKILLS, headers={"Authorization": f"Bearer {token}"})
    await sandbox_client.get(SKILLS, headers={"Authorization": "Bearer forged-token-value"})

    assert "sandbox" in caplog.text  # the sandbox did log (the issuing of the token)
    assert token not in caplog.text
    assert "forged-token-value" not in caplog.text
