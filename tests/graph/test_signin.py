"""Sign-in end to end through the real azure-identity, against the identity-provider stand-in.

The stand-in serves over TLS on 127.0.0.1 with a trustme CA, which the CLI subprocesses trust
through the standard CA-bundle variables (``SSL_CERT_FILE`` for aiohttp, ``REQUESTS_CA_BUNDLE``
for requests). Graph is the sandbox behind a gate that accepts only the stand-in's live tokens.
Nothing of azure-identity or MSAL is mocked.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from importer.sandbox import SandboxConfig
from tests.conftest import BOB_UPN, SANDBOX_USERS, ZOE_UPN
from tests.idp import GatedGraph, IdentityProvider, gated_graph, running_identity_provider
from tests.idp.tokens import ACCOUNT, App
from tests.importing import write_csv

ROOT = Path(__file__).resolve().parents[2]
STUB = Path(__file__).resolve().parents[1] / "platform_stub"
PUBLIC_APP = "0f1e2d3c-4b5a-4968-8776-a1b2c3d4e5f6"
CONFIDENTIAL_APP = "9e8d7c6b-5a49-4837-a261-f0e1d2c3b4a5"
TENANT = "contoso.onmicrosoft.com"

pytestmark = pytest.mark.slow


@pytest.fixture
async def idp(tmp_path: Path) -> AsyncIterator[IdentityProvider]:
    async with running_identity_provider(tmp_path) as provider:
        yield provider


@pytest.fixture
async def graph(idp: IdentityProvider) -> AsyncIterator[GatedGraph]:
    async with gated_graph(idp.state, SandboxConfig(users=SANDBOX_USERS)) as gated:
        yield gated


def _config(tmp_path: Path, idp: IdentityProvider, graph: GatedGraph, **auth: str) -> Path:
    settings = {
        "target": {"graph": graph.sandbox.base_url},
        "auth": {"tenant_id": TENANT, "authority": idp.base_url, **auth},
        "report": {"dir": str(tmp_path / "reports")},
    }
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(settings), encoding="utf-8")  # JSON is YAML
    return path


def _env(tmp_path: Path, idp: IdentityProvider, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.pop("SKILLS_IMPORT_CLIENT_SECRET", None)
    env.update(
        HOME=str(home),
        SSL_CERT_FILE=str(idp.ca_bundle),
        REQUESTS_CA_BUNDLE=str(idp.ca_bundle),
        PYTHONPATH=os.pathsep.join([str(STUB), str(ROOT)]),
        **extra,
    )
    return env


async def _cli(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "importer",
        *args,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _login(idp: IdentityProvider, config: Path, env: dict[str, str]) -> tuple[str, str]:
    """Run ``login`` as a user would: read the code it shows, enter it, wait for the end."""
    process = await _cli(env, "login", "-c", str(config))
    assert process.stderr is not None
    shown = ""
    while "enter the code" not in shown:
        line = await process.stderr.readline()
        assert line, f"login ended without showing a code: {shown}"
        shown += line.decode()
    match = re.search(r"open (\S+) and enter the code (\w+)", shown)
    assert match is not None, shown
    assert match.group(1) == f"{idp.base_url}/devicelogin"
    [waiting] = idp.state.device_codes.values()
    assert match.group(2) == waiting.user_code
    idp.state.approve(waiting.user_code)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode(), shown + err.decode()


async def _run(env: dict[str, str], config: Path, source: Path) -> tuple[int, str]:
    process = await _cli(env, "run", "-c", str(config), str(source))
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode() + err.decode()


def _no_secret_in(idp: IdentityProvider, *texts: str) -> None:
    for secret in idp.state.issued_secrets():
        for text in texts:
            assert secret not in text


def _report_text(tmp_path: Path) -> str:
    files = [p for p in (tmp_path / "reports").rglob("*") if p.suffix in {".csv", ".json", ".log"}]
    assert files
    return "".join(p.read_text(encoding="utf-8-sig") for p in files)


def _cache_file(tmp_path: Path) -> Path:
    return tmp_path / "home" / ".IdentityService" / "skills-import.nocae"


async def test_login_shows_the_device_code_and_completes_when_the_user_enters_it(
    tmp_path: Path, idp: IdentityProvider, graph: GatedGraph, private_user_dirs: Path
) -> None:
    idp.register(App(PUBLIC_APP))
    config = _config(tmp_path, idp, graph, client_id=PUBLIC_APP, cache="file")
    env = _env(tmp_path, idp, SKILLS_IMPORT_TEST_BLOCK="gi")

    out, err = await _login(idp, config, env)

    assert f"Signed in as {ACCOUNT}" in out
    assert idp.state.grants == ["urn:ietf:params:oauth:grant-type:device_code"]
    cache = _cache_file(tmp_path)
    assert cache.stat().st_mode & 0o777 == 0o600
    [record] = (private_user_dirs / "xdg_config_home" / "skills-import").glob("account-*.json")
    saved = json.loads(record.read_text(encoding="utf-8"))
    assert saved["username"] == ACCOUNT
    _no_secret_in(idp, out, err, record.read_text(encoding="utf-8"))


async def test_unattended_runs_sign_in_silently_from_the_cache_and_refresh_an_expired_token(
    tmp_path: Path, idp: IdentityProvider, graph: GatedGraph
) -> None:
    idp.register(App(PUBLIC_APP))
    config = _config(tmp_path, idp, graph, client_id=PUBLIC_APP, cache="file")
    env = _env(tmp_path, idp, SKILLS_IMPORT_TEST_BLOCK="gi")
    await _login(idp, config, env)
    [login_token] = idp.state.access_tokens

    first = write_csv(tmp_path / "first.csv", [(BOB_UPN, "Python", "expert", "")])
    code, output = await _run(env, config, first)

    assert code == 0, output
    assert len(idp.state.grants) == 1  # no new sign-in: the token came from the cache
    assert graph.accepted == [login_token]

    # The token's lifetime passes: the stand-in refuses it, and the cache says it has expired.
    idp.state.expire_access_tokens()
    cache = _cache_file(tmp_path)
    content = json.loads(cache.read_text(encoding="utf-8"))
    for entry in content["AccessToken"].values():
        entry["expires_on"] = str(int(time.time()) - 60)
    cache.write_text(json.dumps(content), encoding="utf-8")

    second = write_csv(tmp_path / "second.csv", [(ZOE_UPN, "Go", "expert", "")])
    code, output = await _run(env, config, second)

    assert code == 0, output
    assert idp.state.grants[1:] == ["refresh_token"]
    assert len(graph.accepted) == 2
    assert graph.accepted[1] != login_token
    assert cache.stat().st_mode & 0o777 == 0o600
    _no_secret_in(idp, output, _report_text(tmp_path))


async def test_without_a_keyring_the_encrypted_cache_is_a_clear_error_and_nothing_is_stored(
    tmp_path: Path, idp: IdentityProvider, graph: GatedGraph
) -> None:
    idp.register(App(PUBLIC_APP))
    config = _config(tmp_path, idp, graph, client_id=PUBLIC_APP)  # auth.cache: encrypted
    env = _env(tmp_path, idp, SKILLS_IMPORT_TEST_BLOCK="gi")

    process = await _cli(env, "login", "-c", str(config))
    _, err = await process.communicate()

    assert process.returncode == 2
    message = err.decode()
    assert "no usable keyring" in message
    assert "auth.cache: file" in message
    assert "Traceback" not in message
    assert idp.state.device_codes == {}  # no code was shown: it stops before sign-in
    assert not (tmp_path / "home" / ".IdentityService").exists() or not any(
        p.suffix == ".nocae" for p in (tmp_path / "home" / ".IdentityService").iterdir()
    )


@pytest.mark.parametrize("pasted", ["", "\r\n"], ids=["as-is", "with-a-windows-line-end"])
async def test_a_run_signs_in_with_a_client_secret(
    tmp_path: Path, idp: IdentityProvider, graph: GatedGraph, pasted: str
) -> None:
    secret = secrets.token_urlsafe(24)
    idp.register(App(CONFIDENTIAL_APP, secret=secret))
    config = _config(tmp_path, idp, graph, client_id=CONFIDENTIAL_APP, method="client-secret")
    source = write_csv(tmp_path / "s.csv", [(BOB_UPN, "Python", "expert", "")])

    code, output = await _run(
        _env(tmp_path, idp, SKILLS_IMPORT_CLIENT_SECRET=secret + pasted), config, source
    )

    assert code == 0, output
    assert idp.state.grants == ["client_credentials"]
    assert graph.accepted == list(idp.state.access_tokens)
    _no_secret_in(idp, output, _report_text(tmp_path))


async def test_a_wrong_client_secret_is_one_line_with_the_aadsts_code_and_no_secret(
    tmp_path: Path, idp: IdentityProvider, graph: GatedGraph
) -> None:
    idp.register(App(CONFIDENTIAL_APP, secret=secrets.token_urlsafe(24)))
    config = _config(tmp_path, idp, graph, client_id=CONFIDENTIAL_APP, method="client-secret")
    source = write_csv(tmp_path / "s.csv", [(BOB_UPN, "Python", "expert", "")])
    wrong = secrets.token_urlsafe(24)

    code, output = await _run(
        _env(tmp_path, idp, SKILLS_IMPORT_CLIENT_SECRET=wrong), config, source
    )

    assert code == 2
    assert "AADSTS7000215" in output
    assert wrong not in output
    assert "Traceback" not in output
    assert graph.accepted == []


async def test_a_run_signs_in_with_a_certificate(
    tmp_path: Path, idp: IdentityProvider, graph: GatedGraph
) -> None:
    # Entra app certificates are RSA; trustme issues ECDSA unless told otherwise.
    issued = idp.ca.issue_cert("skills-import.contoso.com", key_type=trustme.KeyType.RSA)
    idp.register(App(CONFIDENTIAL_APP, certificate_pem=issued.cert_chain_pems[0].bytes()))
    pem = tmp_path / "app.pem"
    issued.private_key_and_cert_chain_pem.write_to_path(str(pem))
    config = _config(
        tmp_path,
        idp,
        graph,
        client_id=CONFIDENTIAL_APP,
        method="certificate",
        certificate_path=str(pem),
    )
    source = write_csv(tmp_path / "s.csv", [(BOB_UPN, "Python", "expert", "")])

    code, output = await _run(_env(tmp_path, idp), config, source)

    assert code == 0, output
    assert idp.state.grants == ["client_credentials"]
    assert graph.accepted == list(idp.state.access_tokens)


# Run in its own process: aiohttp reads the CA bundle once, when it is first imported.
_EXPIRY_SCRIPT = """
import asyncio, json, sys, time
from pathlib import Path
from typing import Any
from importer.config import load_settings
from importer.graph.auth import close_token_provider, make_token_provider

async def main():
    provider = make_token_provider(load_settings(Path(sys.argv[1])))
    first = await provider(False)
    again = await provider(False)
    real_time = time.time
    time.time = lambda: real_time() + float(sys.argv[2])  # the clock passes the expiry
    second = await provider(False)
    await close_token_provider(provider)
    print(json.dumps({"reused": again == first, "replaced": second != first}))

asyncio.run(main())
"""


async def test_an_app_token_past_its_expiry_is_replaced_by_a_new_one(
    tmp_path: Path, idp: IdentityProvider, graph: GatedGraph
) -> None:
    secret = secrets.token_urlsafe(24)
    idp.register(App(CONFIDENTIAL_APP, secret=secret))
    config = _config(tmp_path, idp, graph, client_id=CONFIDENTIAL_APP, method="client-secret")
    later = str(idp.state.token_lifetime_s + 1)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _EXPIRY_SCRIPT,
        str(config),
        later,
        cwd=ROOT,
        env=_env(tmp_path, idp, SKILLS_IMPORT_CLIENT_SECRET=secret),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()

    assert process.returncode == 0, err.decode()
    assert json.loads(out) == {"reused": True, "replaced": True}
    assert idp.state.grants == ["client_credentials", "client_credentials"]


async def test_msal_validates_the_stand_in_through_its_instance_discovery(
    idp: IdentityProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The importer turns instance discovery off for hosts Microsoft does not run (MSAL would ask
    # login.microsoftonline.com). Here MSAL is pointed at the stand-in's own endpoint, as it is
    # for a private cloud that serves one, and must find the tenant's endpoints through it.
    import msal

    idp.register(App(PUBLIC_APP))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(idp.ca_bundle))  # requests reads it per request

    def start_sign_in() -> dict[str, Any]:
        app = msal.PublicClientApplication(
            PUBLIC_APP,
            authority=f"{idp.base_url}/{TENANT}",
            instance_discovery=f"{idp.base_url}/common/discovery/instance",
        )
        try:
            flow: dict[str, Any] = app.initiate_device_flow(
                scopes=["https://graph.microsoft.com/.default"]
            )
        finally:
            app.http_client.close()  # its kept-alive connection
        return flow

    flow = await asyncio.to_thread(start_sign_in)

    assert flow["verification_uri"] == f"{idp.base_url}/devicelogin"
    assert "GET /common/discovery/instance" in idp.state.requests
    assert f"GET /{TENANT}/v2.0/.well-known/openid-configuration" in idp.state.requests
