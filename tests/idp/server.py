"""The stand-in's HTTP side: the endpoints azure-identity and MSAL call, over TLS (trustme).

Routes (``{tenant}`` is any tenant name or id):

- ``GET /{tenant}/v2.0/.well-known/openid-configuration``: OpenID discovery.
- ``GET /common/discovery/instance``: instance discovery (authority validation and aliases).
- ``POST /{tenant}/oauth2/v2.0/devicecode``: starts a device-code sign-in.
- ``POST /{tenant}/oauth2/v2.0/token``: device code (``authorization_pending`` until the test
  approves the code), refresh token, client credentials with a secret or a certificate.

Errors use Entra's body (``error``, ``error_description`` with an AADSTS code).
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import trustme
from aiohttp import web
from cryptography import x509

from tests.idp.tokens import TENANT_ID, App, IssuerState

__all__ = ["DEVICE_CODE_GRANT", "IdentityProvider", "running_identity_provider"]

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_RESERVED_SCOPES = {"openid", "profile", "offline_access"}
STATE_KEY = web.AppKey("idp_state", IssuerState)


@dataclass
class IdentityProvider:
    """A running stand-in.

    Attributes:
        base_url: ``https://127.0.0.1:PORT`` (use it as ``auth.authority``).
        ca: the trustme CA that signed the server certificate.
        ca_bundle: that CA as a PEM file, for ``SSL_CERT_FILE`` / ``REQUESTS_CA_BUNDLE``.
        state: what it issued and saw.
    """

    base_url: str
    ca: trustme.CA
    ca_bundle: Path
    state: IssuerState

    def register(self, app: App) -> App:
        """Register an app (public or confidential)."""
        self.state.apps[app.client_id] = app
        return app


def _error(status: int, error: str, code: int, description: str) -> web.Response:
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {description}",
        "error_codes": [code],
    }
    return web.json_response(body, status=status)


def _endpoints(request: web.Request) -> dict[str, str]:
    base = request.app[STATE_KEY].base_url
    tenant = request.match_info.get("tenant", "common")
    return {
        "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
        "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
        "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
    }


async def _openid_configuration(request: web.Request) -> web.Response:
    base = request.app[STATE_KEY].base_url
    return web.json_response(
        {
            **_endpoints(request),
            "issuer": f"{base}/{TENANT_ID}/v2.0",
            "jwks_uri": f"{base}/{TENANT_ID}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": None,
            "cloud_instance_name": "127.0.0.1",
        }
    )


async def _instance_discovery(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    endpoint = request.query.get("authorization_endpoint", "")
    parts = urlsplit(endpoint)
    host = urlsplit(state.base_url).netloc
    # MSAL names the instance by host name only (no port).
    if parts.hostname != urlsplit(state.base_url).hostname:
        return _error(400, "invalid_instance", 50049, "Unknown or invalid instance.")
    tenant = parts.path.strip("/").split("/")[0] or "common"
    return web.json_response(
        {
            "tenant_discovery_endpoint": (
                f"{state.base_url}/{tenant}/v2.0/.well-known/openid-configuration"
            ),
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }
    )


async def _device_code(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    form = await request.post()
    client_id = str(form.get("client_id", ""))
    if client_id not in state.apps:
        return _error(400, "unauthorized_client", 700016, "Application not found.")
    scope = " ".join(s for s in str(form.get("scope", "")).split() if s not in _RESERVED_SCOPES)
    code = state.start_device_code(client_id, scope)
    page = f"{state.base_url}/devicelogin"
    return web.json_response(
        {
            "device_code": code.device_code,
            "user_code": code.user_code,
            "verification_uri": page,
            "expires_in": 900,
            "interval": 1,
            "message": f"To sign in, open {page} and enter the code {code.user_code}.",
        }
    )


async def _token(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    form = {key: str(value) for key, value in (await request.post()).items()}
    grant = form.get("grant_type", "")
    client_id = form.get("client_id", "")
    app = state.apps.get(client_id)
    if app is None:
        return _error(400, "unauthorized_client", 700016, "Application not found.")
    scope = " ".join(s for s in form.get("scope", "").split() if s not in _RESERVED_SCOPES)
    if grant == DEVICE_CODE_GRANT:
        code = state.device_codes.get(form.get("device_code", ""))
        if code is None or code.client_id != client_id:
            return _error(400, "invalid_grant", 70000, "The device code is not valid.")
        code.polls += 1
        if not code.approved:
            return _error(400, "authorization_pending", 70016, "Waiting for the user.")
        del state.device_codes[code.device_code]
        return web.json_response(state.tokens_for_user(grant, client_id, code.scope))
    if grant == "refresh_token":
        held = state.refresh_tokens.pop(form.get("refresh_token", ""), None)
        if held is None or held[0] != client_id:
            return _error(400, "invalid_grant", 70008, "The refresh token has expired.")
        return web.json_response(state.tokens_for_user(grant, client_id, scope or held[1]))
    if grant == "client_credentials":
        refusal = _check_client(request, app, form)
        if refusal is not None:
            return refusal
        return web.json_response(state.tokens_for_app(grant, client_id, scope))
    return _error(400, "unsupported_grant_type", 70003, f"Grant type {grant!r} not supported.")


def _check_client(request: web.Request, app: App, form: dict[str, str]) -> web.Response | None:
    """A confidential client proves itself with its secret or a certificate-signed assertion."""
    if app.secret and form.get("client_secret") == app.secret:
        return None
    assertion = form.get("client_assertion", "")
    if app.certificate_pem and form.get("client_assertion_type") == _ASSERTION_TYPE:
        certificate = x509.load_pem_x509_certificate(app.certificate_pem)
        audience = _endpoints(request)["token_endpoint"]
        try:
            claims = jwt.decode(
                assertion,
                certificate.public_key(),  # type: ignore[arg-type]
                algorithms=["RS256", "PS256"],
                audience=audience,
                options={"require": ["exp", "aud", "iss", "sub"]},
            )
        except jwt.PyJWTError:
            return _error(401, "invalid_client", 700027, "Client assertion failed validation.")
        if claims["iss"] != app.client_id or claims["sub"] != app.client_id:
            return _error(401, "invalid_client", 700023, "Wrong issuer or subject.")
        if claims["exp"] < time.time():
            return _error(401, "invalid_client", 700024, "Client assertion has expired.")
        return None
    return _error(401, "invalid_client", 7000215, "Invalid client secret provided.")


@web.middleware
async def _log_requests(request: web.Request, handler: Any) -> web.StreamResponse:
    request.app[STATE_KEY].requests.append(f"{request.method} {request.path}")
    response: web.StreamResponse = await handler(request)
    return response


def create_idp_app(state: IssuerState) -> web.Application:
    """The stand-in's aiohttp app over ``state``."""
    app = web.Application(middlewares=[_log_requests])
    app[STATE_KEY] = state
    app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", _openid_configuration)
    app.router.add_get("/common/discovery/instance", _instance_discovery)
    app.router.add_post("/{tenant}/oauth2/v2.0/devicecode", _device_code)
    app.router.add_post("/{tenant}/oauth2/v2.0/token", _token)
    return app


@contextlib.asynccontextmanager
async def running_identity_provider(folder: Path) -> AsyncIterator[IdentityProvider]:
    """Serve a new stand-in on ``https://127.0.0.1:<free port>``; its CA goes under ``folder``."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    bundle = folder / "idp-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    state = IssuerState()
    runner = web.AppRunner(create_idp_app(state), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
    await site.start()
    try:
        port = runner.addresses[0][1]
        state.base_url = f"https://127.0.0.1:{port}"
        yield IdentityProvider(state.base_url, ca, bundle, state)
    finally:
        await runner.cleanup()
