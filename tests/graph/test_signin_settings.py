"""auth.authority and auth.cache: where a run signs in, and what is refused."""

from __future__ import annotations

import pytest

from importer.config import load_settings
from importer.errors import ConfigError
from importer.graph.auth import SignIn, sign_in_for


def test_an_empty_authority_is_the_clouds_own_sign_in_host() -> None:
    settings = load_settings(overrides={"target": {"graph": "https://graph.microsoft.us"}})
    assert sign_in_for(settings) == SignIn(
        authority="https://login.microsoftonline.us",
        scope="https://graph.microsoft.us/.default",
        instance_discovery=True,
    )


def test_a_host_without_scheme_is_taken_as_https() -> None:
    settings = load_settings(
        overrides={
            "target": {"graph": "https://microsoftgraph.chinacloudapi.cn"},
            "auth": {"authority": "login.chinacloudapi.cn/"},
        }
    )
    assert settings.auth.authority == "https://login.chinacloudapi.cn"
    sign_in = sign_in_for(settings)
    assert sign_in is not None
    assert sign_in.instance_discovery  # a Microsoft host: MSAL validates it as usual


def test_a_host_microsoft_does_not_run_skips_instance_discovery() -> None:
    settings = load_settings(
        overrides={
            "target": {"graph": "https://graph.microsoft.com"},
            "auth": {"authority": "https://login.contoso-private.example:8443"},
        }
    )
    sign_in = sign_in_for(settings)
    assert sign_in is not None
    assert sign_in.authority == "https://login.contoso-private.example:8443"
    assert not sign_in.instance_discovery


@pytest.mark.parametrize(
    ("authority", "says"),
    [
        ("http://login.microsoftonline.com", "is not https"),
        ("ftp://login.microsoftonline.com", "is not https"),
        ("https://login.microsoftonline.com/contoso", "sign-in host only"),
        ("https://admin:hunter2@login.example", "user name or password"),
    ],
)
def test_an_authority_that_is_not_a_plain_https_host_is_refused(authority: str, says: str) -> None:
    with pytest.raises(ConfigError, match=r"auth\.authority") as refused:
        load_settings(overrides={"auth": {"authority": authority}})
    assert says in str(refused.value)
    assert "hunter2" not in str(refused.value)
    assert refused.value.exit_code == 2


def test_the_sandbox_takes_its_fixed_token_unless_an_authority_is_set() -> None:
    assert sign_in_for(load_settings(overrides={})) is None
    loopback = {"graph": "http://127.0.0.1:8765"}
    assert sign_in_for(load_settings(overrides={"target": loopback})) is None
    real = load_settings(
        overrides={"target": loopback, "auth": {"authority": "https://127.0.0.1:9443"}}
    )
    assert sign_in_for(real) == SignIn(
        authority="https://127.0.0.1:9443",
        scope="http://127.0.0.1:8765/.default",
        instance_discovery=False,
    )


def test_the_token_cache_is_encrypted_unless_file_is_chosen() -> None:
    assert load_settings(overrides={}).auth.cache == "encrypted"
    assert load_settings(overrides={"auth": {"cache": "file"}}).auth.cache == "file"
    with pytest.raises(ConfigError, match=r"auth\.cache"):
        load_settings(overrides={"auth": {"cache": "plaintext"}})
