"""Bearer tokens for the sandbox: the fixed token and client-credentials tokens it issues.

``Bearer sandbox`` acts as a signed-in admin (a delegated token: writes allowed). Tokens from the
token endpoint act as an application, whose writes are refused while ``deny_app_writes`` is on,
as current Graph docs say the real service does. Tokens are never logged.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = [
    "FIXED_TOKEN",
    "SANDBOX_ADMIN",
    "AuthFailure",
    "Principal",
    "TokenIssuer",
    "aadsts_error",
]

logger = logging.getLogger(__name__)

FIXED_TOKEN = "sandbox"  # noqa: S105 - the documented fixed sandbox token, not a credential
_CLIENT_SECRET = "sandbox"  # noqa: S105 - the documented sandbox secret, not a credential


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a token stands for."""

    kind: Literal["delegated", "application"]
    id: str
    display_name: str

    def identity_set(self) -> dict[str, Any]:
        """The ``createdBy`` / ``lastModifiedBy`` value for writes made by this principal."""
        identity = {"id": self.id, "displayName": self.display_name}
        if self.kind == "application":
            return {"application": identity, "device": None, "user": None}
        return {"application": None, "device": None, "user": identity}


SANDBOX_ADMIN = Principal("delegated", "5a4db0c3-0000-4000-8000-5a4db0c30001", "Sandbox Admin")


@dataclass(frozen=True, slots=True)
class AuthFailure:
    """Why a request was not authenticated (becomes 401 ``InvalidAuthenticationToken``)."""

    message: str


@dataclass(frozen=True, slots=True)
class _Issued:
    principal: Principal
    expires_at: float


class TokenIssuer:
    """Issues client-credentials tokens and checks bearer tokens."""

    def __init__(self, ttl_s: int, clock: Callable[[], float]) -> None:
        """Tokens live ``ttl_s`` seconds on ``clock`` (0 = expired on arrival, for tests)."""
        self._ttl_s = ttl_s
        self._clock = clock
        self._issued: dict[str, _Issued] = {}

    def authenticate(self, authorization: str | None) -> Principal | AuthFailure:
        """The principal behind an ``Authorization`` header value, or why it is refused."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return AuthFailure("Access token is empty.")
        if token == FIXED_TOKEN:
            return SANDBOX_ADMIN
        issued = self._issued.get(token)
        if issued is None:
            return AuthFailure("Access token validation failure. Invalid token.")
        if self._clock() >= issued.expires_at:
            return AuthFailure("Lifetime validation failed, the token is expired.")
        return issued.principal

    def issue(
        self, form: Mapping[str, str], basic: tuple[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Answer a client-credentials token request (``/{tenant}/oauth2/v2.0/token``).

        Args:
            form: The url-encoded form fields.
            basic: ``(client_id, client_secret)`` from HTTP Basic auth, if the client used it.

        Returns:
            The HTTP status and JSON body: a token, or an AADSTS-style error.
        """
        client_id = form.get("client_id") or (basic[0] if basic else "")
        secret = form.get("client_secret") or (basic[1] if basic else "")
        grant = form.get("grant_type", "")
        scope = form.get("scope", "")
        if grant != "client_credentials":
            return 400, aadsts_error(
                "unsupported_grant_type", 70003, f"The grant type '{grant}' is not supported."
            )
        if not client_id:
            return 400, aadsts_error(
                "invalid_request", 900144, "The request body must contain 'client_id'."
            )
        if not scope.endswith("/.default") or " " in scope.strip():
            return 400, aadsts_error(
                "invalid_scope", 70011, "The scope must be one resource's '/.default' scope."
            )
        if form.get("client_assertion"):
            return 401, aadsts_error(
                "invalid_client", 700027, "The sandbox accepts client secrets only."
            )
        if secret != _CLIENT_SECRET:
            return 401, aadsts_error(
                "invalid_client",
                7000215,
                "Invalid client secret provided (sandbox uses 'sandbox').",
            )
        token = "sbx." + secrets.token_urlsafe(32)
        principal = Principal("application", client_id, client_id)
        self._issued[token] = _Issued(principal, self._clock() + self._ttl_s)
        logger.info("sandbox issued an app token for client_id=%s", client_id)
        return 200, {
            "token_type": "Bearer",
            "expires_in": self._ttl_s,
            "ext_expires_in": self._ttl_s,
            "access_token": token,
        }


def aadsts_error(error: str, code: int, description: str) -> dict[str, Any]:
    """The token endpoint's error body (not the Graph one)."""
    now = datetime.now(UTC)
    trace = str(uuid.uuid4())
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {description} Trace ID: {trace}",
        "error_codes": [code],
        "timestamp": now.strftime("%Y-%m-%d %H:%M:%SZ"),
        "trace_id": trace,
        "correlation_id": str(uuid.uuid4()),
    }
