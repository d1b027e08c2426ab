"""Sign-in: which credential each auth.method builds, token caching, and safe token display."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azure.identity.aio import ClientSecretCredential

from importer.config import Settings, load_settings
from importer.errors import AuthError
from importer.graph.auth import (
    CredentialTokenProvider,
    close_token_provider,
    describe_token,
    login,
    make_token_provider,
)


def settings_for(
    tmp_path: Path, environ: dict[str, str] | None = None, **sections: dict[str, Any]
) -> Settings:
    config = tmp_path / "config.yaml"
    config.write_text("{}\n", encoding="utf-8")
    return load_settings(config, overrides=sections, environ=environ or {})


REAL = {"graph": "https://graph.microsoft.com"}


async def test_sandbox_target_always_uses_the_sandbox_token(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, auth={"method": "client-secret"})
    provider = make_token_provider(settings)
    assert await provider(False) == "sandbox"
    assert await provider(True) == "sandbox"
    await close_token_provider(provider)


async def test_token_method_uses_the_token_from_the_environment(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path,
        {"SKILLS_IMPORT_ACCESS_TOKEN": "eyJ.token.from-env"},
        target=REAL,
        auth={"method": "token"},
    )
    provider = make_token_provider(settings)
    assert await provider(False) == "eyJ.token.from-env"
    assert await provider(True) == "eyJ.token.from-env"
    await close_token_provider(provider)


@pytest.mark.parametrize("variable", ["SKILLS_IMPORT_CLIENT_SECRET", "SKILLS_IMPORT_ACCESS_TOKEN"])
def test_a_secret_with_a_control_character_inside_is_refused_without_showing_it(
    tmp_path: Path, variable: str
) -> None:
    method = "client-secret" if "SECRET" in variable else "token"
    settings = settings_for(
        tmp_path,
        {variable: "abc\x1bdef"},
        target=REAL,
        auth={"method": method, "tenant_id": "contoso.onmicrosoft.com", "client_id": "app"},
    )
    with pytest.raises(AuthError) as caught:
        make_token_provider(settings)
    assert variable in str(caught.value)
    assert "U+001B at position 4" in str(caught.value)
    assert "abc" not in str(caught.value)
    assert caught.value.exit_code == 2


def test_token_method_without_a_token_says_which_variable_to_set(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, target=REAL, auth={"method": "token"})
    with pytest.raises(AuthError, match="SKILLS_IMPORT_ACCESS_TOKEN") as caught:
        make_token_provider(settings)
    assert caught.value.exit_code == 2


async def test_client_secret_signs_in_at_the_national_cloud_of_the_target(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path,
        {"SKILLS_IMPORT_CLIENT_SECRET": "s3cr3t-value"},
        target={"graph": "https://graph.microsoft.us"},
        auth={"method": "client-secret", "tenant_id": "contoso.us", "client_id": "app-1"},
    )
    provider = make_token_provider(settings)
    assert isinstance(provider, CredentialTokenProvider)
    assert provider.scope == "https://graph.microsoft.us/.default"
    assert provider.authority == "https://login.microsoftonline.us"
    assert isinstance(provider.credential, ClientSecretCredential)
    # azure-identity keeps the authority privately; reading it proves the credential got ours.
    assert provider.credential._client._authority == "https://login.microsoftonline.us"
    await close_token_provider(provider)


@pytest.mark.parametrize(
    ("auth", "environ", "named"),
    [
        (
            {"method": "client-secret", "client_id": "app"},
            {"SKILLS_IMPORT_CLIENT_SECRET": "x"},
            "auth.tenant_id",
        ),
        (
            {"method": "client-secret", "tenant_id": "t"},
            {"SKILLS_IMPORT_CLIENT_SECRET": "x"},
            "auth.client_id",
        ),
        (
            {"method": "client-secret", "tenant_id": "t", "client_id": "app"},
            {},
            "SKILLS_IMPORT_CLIENT_SECRET",
        ),
        (
            {"method": "certificate", "tenant_id": "t", "client_id": "app"},
            {},
            "auth.certificate_path",
        ),
        ({"method": "device-code", "tenant_id": "t"}, {}, "auth.client_id"),
    ],
)
def test_missing_sign_in_settings_are_named(
    tmp_path: Path, auth: dict[str, Any], environ: dict[str, str], named: str
) -> None:
    settings = settings_for(tmp_path, environ, target=REAL, auth=auth)
    with pytest.raises(AuthError, match=named.replace(".", r"\.")):
        make_token_provider(settings, record_dir=tmp_path)


def test_unreadable_certificate_is_reported_without_its_content(tmp_path: Path) -> None:
    certificate = tmp_path / "app.pem"
    certificate.write_text("-----BEGIN PRIVATE KEY-----\nnot-really-a-key\n", encoding="utf-8")
    settings = settings_for(
        tmp_path,
        target=REAL,
        auth={
            "method": "certificate",
            "tenant_id": "t",
            "client_id": "app",
            "certificate_path": str(certificate),
        },
    )
    with pytest.raises(AuthError, match=r"auth\.certificate_path") as caught:
        make_token_provider(settings)
    assert "not-really-a-key" not in str(caught.value)


def test_unattended_device_code_run_without_login_asks_to_log_in(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path, target=REAL, auth={"method": "device-code", "tenant_id": "t", "client_id": "app"}
    )
    with pytest.raises(AuthError, match="run `skills-import login` first") as caught:
        make_token_provider(settings, record_dir=tmp_path / "accounts")
    assert caught.value.exit_code == 2


def test_login_is_refused_for_the_sandbox_and_other_methods(tmp_path: Path) -> None:
    with pytest.raises(AuthError, match="sandbox"):
        login(settings_for(tmp_path), print, record_dir=tmp_path)
    settings = settings_for(tmp_path, target=REAL, auth={"method": "token"})
    with pytest.raises(AuthError, match="device-code"):
        login(settings, print, record_dir=tmp_path)


@dataclass
class FakeAccessToken:
    token: str
    expires_on: int


class FakeCredential:
    """Stands in for an azure-identity credential: hands out numbered tokens."""

    def __init__(self) -> None:
        self.issued = 0
        self.closed = False

    async def get_token(self, scope: str) -> FakeAccessToken:
        await asyncio.sleep(0)
        self.issued += 1
        return FakeAccessToken(f"token-{self.issued}-for-{scope}", expires_on=10_000)

    async def close(self) -> None:
        self.closed = True


async def test_token_is_reused_until_five_minutes_before_expiry() -> None:
    now = [1_000.0]
    credential = FakeCredential()
    provider = CredentialTokenProvider(
        credential.get_token, "s", authority="a", credential=credential, clock=lambda: now[0]
    )
    first = await asyncio.gather(*(provider(False) for _ in range(10)))
    assert set(first) == {"token-1-for-s"}
    now[0] = 10_000 - 301
    assert await provider(False) == "token-1-for-s"
    now[0] = 10_000 - 299
    assert await provider(False) == "token-2-for-s"
    assert credential.issued == 2
    await close_token_provider(provider)
    assert credential.closed


async def test_forced_refresh_fetches_a_new_token() -> None:
    credential = FakeCredential()
    provider = CredentialTokenProvider(
        credential.get_token, "s", authority="a", credential=credential, clock=lambda: 0.0
    )
    assert await provider(False) == "token-1-for-s"
    assert await provider(True) == "token-2-for-s"
    assert await provider(False) == "token-2-for-s"
    await close_token_provider(provider)


def _jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        raw = json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def test_describe_token_shows_only_safe_claims() -> None:
    token = _jwt(
        {
            "upn": "admin@contoso.com",
            "appid": "app-1",
            "app_displayname": "Skills import",
            "tid": "tenant-1",
            "scp": "User.ReadWrite.All",
            "exp": 1_900_000_000,
            "idtyp": "user",
            "nonce": "do-not-show",
            "uti": "do-not-show",
        }
    )
    described = describe_token(token)
    assert described == {
        "upn": "admin@contoso.com",
        "appid": "app-1",
        "app_displayname": "Skills import",
        "tid": "tenant-1",
        "scp": "User.ReadWrite.All",
        "exp": 1_900_000_000,
        "idtyp": "user",
    }
    assert token not in json.dumps(described)


def test_describe_token_shows_app_roles_of_an_app_only_token() -> None:
    described = describe_token(_jwt({"roles": ["User.ReadWrite.All"], "idtyp": "app"}))
    assert described == {"roles": ["User.ReadWrite.All"], "idtyp": "app"}


@pytest.mark.parametrize("token", ["sandbox", "a.b.c", "a.!!!.c", f"x.{'W10'}.y", ""])
def test_describe_token_of_a_non_jwt_is_empty(token: str) -> None:
    assert describe_token(token) == {}


def _device_code_settings(tmp_path: Path) -> Settings:
    return settings_for(
        tmp_path,
        target={"graph": "https://microsoftgraph.chinacloudapi.cn"},
        auth={"method": "device-code", "tenant_id": "contoso.cn", "client_id": "app-1"},
    )


async def test_unattended_device_code_run_uses_the_saved_account(tmp_path: Path) -> None:
    from azure.identity import AuthenticationRecord, DeviceCodeCredential

    settings = _device_code_settings(tmp_path)
    accounts = tmp_path / "accounts"
    accounts.mkdir()
    record = AuthenticationRecord(
        "tenant-guid", "app-1", "login.chinacloudapi.cn", "home.id", "admin@contoso.cn"
    )
    (accounts / "account-login.chinacloudapi.cn-contoso.cn-app-1.json").write_text(
        record.serialize(), encoding="utf-8"
    )
    provider = make_token_provider(settings, record_dir=accounts)
    assert isinstance(provider, CredentialTokenProvider)
    assert isinstance(provider.credential, DeviceCodeCredential)
    assert provider.scope == "https://microsoftgraph.chinacloudapi.cn/.default"
    assert provider.authority == "https://login.chinacloudapi.cn"
    await close_token_provider(provider)


def test_a_corrupt_saved_account_asks_to_log_in_again(tmp_path: Path) -> None:
    settings = _device_code_settings(tmp_path)
    accounts = tmp_path / "accounts"
    accounts.mkdir()
    (accounts / "account-login.chinacloudapi.cn-contoso.cn-app-1.json").write_text(
        "{not json", encoding="utf-8"
    )
    with pytest.raises(AuthError, match="run `skills-import login` again"):
        make_token_provider(settings, record_dir=accounts)
