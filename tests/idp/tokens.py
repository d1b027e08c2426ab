"""The stand-in's state: registered apps, one user, device codes, and the tokens it issued.

Access tokens are unsigned JWT-shaped strings with a random id, so ``describe_token`` can read
them; refresh tokens and device codes are random. All of them are made up at run time.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ACCOUNT", "TENANT_ID", "App", "DeviceCode", "IssuerState", "b64url", "unsigned_jwt"]

TENANT_ID = "8a6ed5f0-6b1c-4a3e-9d41-5a1c0de0a001"
USER_OID = "3f2b9c1e-7d44-4b8a-a0c2-5a1c0de0a002"
ACCOUNT = "hr.admin@contoso.com"


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWTs and MSAL's client_info use it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unsigned_jwt(claims: dict[str, Any]) -> str:
    """A JWT-shaped token (``alg: none``); MSAL reads id tokens without checking signatures."""
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    return f"{header}.{body}.{b64url(secrets.token_bytes(16))}"


@dataclass
class App:
    """An app registration: a public client (device code) or a confidential one."""

    client_id: str
    secret: str = ""
    certificate_pem: bytes = b""


@dataclass
class DeviceCode:
    """One device-code sign-in in progress."""

    device_code: str
    user_code: str
    client_id: str
    scope: str
    approved: bool = False
    polls: int = 0


@dataclass
class IssuerState:
    """Everything the stand-in remembers; tests read it to check what the client did.

    Attributes:
        base_url: ``https://127.0.0.1:PORT``, once serving (the id token's issuer).
        apps: registered apps by client id.
        token_lifetime_s: ``expires_in`` of new access tokens.
        grants: the grant type of every successful token answer, in order.
        access_tokens: issued access token -> expiry (wall-clock seconds).
        refresh_tokens: live refresh token -> (client id, scope).
        device_codes: device code -> its sign-in.
        requests: ``METHOD path`` of every request, in order.
    """

    base_url: str = ""
    apps: dict[str, App] = field(default_factory=dict)
    token_lifetime_s: int = 3600
    grants: list[str] = field(default_factory=list)
    access_tokens: dict[str, float] = field(default_factory=dict)
    refresh_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)
    device_codes: dict[str, DeviceCode] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def issued_secrets(self) -> list[str]:
        """Every token and device code handed out: none may appear in a log or report."""
        return [
            *self.access_tokens,
            *self.refresh_tokens,
            *self.device_codes,
            *(app.secret for app in self.apps.values() if app.secret),
        ]

    def is_live(self, token: str) -> bool:
        """True for an access token this stand-in issued that has not expired."""
        expires = self.access_tokens.get(token)
        return expires is not None and time.time() < expires

    def expire_access_tokens(self) -> None:
        """Let every access token issued so far expire now."""
        for token in self.access_tokens:
            self.access_tokens[token] = 0.0

    def start_device_code(self, client_id: str, scope: str) -> DeviceCode:
        """Open a device-code sign-in, waiting for the user to enter the code."""
        code = DeviceCode(
            device_code=secrets.token_urlsafe(24),
            user_code="".join(secrets.choice("BCDFGHJKLMNPQRSTVWXZ") for _ in range(9)),
            client_id=client_id,
            scope=scope,
        )
        self.device_codes[code.device_code] = code
        return code

    def approve(self, user_code: str) -> None:
        """The user entered ``user_code`` at the verification page and signed in."""
        for code in self.device_codes.values():
            if code.user_code == user_code:
                code.approved = True
                return
        raise AssertionError(f"no sign-in waits for the code {user_code!r}")

    def tokens_for_user(self, grant: str, client_id: str, scope: str) -> dict[str, Any]:
        """A delegated answer: access, refresh and id token, and MSAL's client_info."""
        answer = self._access(grant, client_id, scope, {"upn": ACCOUNT, "idtyp": "user"})
        refresh = secrets.token_urlsafe(32)
        self.refresh_tokens[refresh] = (client_id, scope)
        now = int(time.time())
        answer["refresh_token"] = refresh
        answer["id_token"] = unsigned_jwt(
            {
                "iss": f"{self.base_url}/{TENANT_ID}/v2.0",
                "aud": client_id,
                "sub": USER_OID,
                "oid": USER_OID,
                "tid": TENANT_ID,
                "preferred_username": ACCOUNT,
                "name": "HR Admin",
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
            }
        )
        answer["client_info"] = b64url(json.dumps({"uid": USER_OID, "utid": TENANT_ID}).encode())
        return answer

    def tokens_for_app(self, grant: str, client_id: str, scope: str) -> dict[str, Any]:
        """An app-only answer: an access token and nothing else."""
        return self._access(grant, client_id, scope, {"appid": client_id, "idtyp": "app"})

    def _access(
        self, grant: str, client_id: str, scope: str, claims: dict[str, Any]
    ) -> dict[str, Any]:
        now = time.time()
        expires = now + self.token_lifetime_s
        token = unsigned_jwt(
            {
                **claims,
                "tid": TENANT_ID,
                "aud": scope.split(" ")[0].removesuffix("/.default"),
                "exp": int(expires),
                "jti": str(uuid.uuid4()),
            }
        )
        self.access_tokens[token] = expires
        self.grants.append(grant)
        return {
            "token_type": "Bearer",
            "scope": scope,
            "expires_in": self.token_lifetime_s,
            "ext_expires_in": self.token_lifetime_s,
            "access_token": token,
        }
