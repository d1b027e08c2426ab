"""Token providers: a fixed token, or an azure-identity credential with an in-memory cache.

A provider is called as ``await provider(force_refresh)`` and answers a bearer token; it is
never logged. ``describe_token`` shows the safe claims of a token for ``check``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from importer.errors import AuthError
from importer.graph.token_cache import cache_failure
from importer.graph.wire import TokenProvider

__all__ = [
    "EXPIRY_MARGIN_S",
    "SAFE_CLAIMS",
    "SANDBOX_TOKEN",
    "AccessTokenLike",
    "CredentialTokenProvider",
    "StaticTokenProvider",
    "close_token_provider",
    "describe_token",
    "sign_in_failure",
]

#: The fixed bearer token the sandbox accepts.
SANDBOX_TOKEN = "sandbox"  # noqa: S105 - the sandbox's fixed public token, not a secret

#: Reuse a token until this many seconds before it expires.
EXPIRY_MARGIN_S = 300.0

#: The claims ``describe_token`` may show: who, which app, which tenant, which permissions.
SAFE_CLAIMS = (
    "upn",
    "unique_name",
    "appid",
    "app_displayname",
    "tid",
    "scp",
    "roles",
    "exp",
    "idtyp",
)


class AccessTokenLike(Protocol):
    """What azure-identity's ``get_token`` answers (``AccessToken``)."""

    token: str
    expires_on: int


class StaticTokenProvider:
    """A provider that always answers the same token (sandbox, or ``auth.method: token``).

    A forced refresh returns the same token: there is nothing to refresh it with, so the
    client treats a 401 as final (``refreshable`` is False) instead of sending it again.
    """

    refreshable = False

    def __init__(self, token: str) -> None:
        self._token = token

    async def __call__(self, force_refresh: bool) -> str:
        """Return the token."""
        return self._token

    async def aclose(self) -> None:
        """Nothing to close."""


class CredentialTokenProvider:
    """A provider over an azure-identity credential, caching the token until near expiry.

    Args:
        get_token: fetches a fresh access token for ``scope`` (async).
        scope: e.g. ``https://graph.microsoft.com/.default``.
        authority: the sign-in host the credential uses (for ``check`` and tests).
        credential: the azure-identity credential (closed by ``aclose``).
        clock: wall-clock seconds, compared with the token's ``expires_on`` (default
            ``time.time``).
    """

    def __init__(
        self,
        get_token: Callable[[str], Awaitable[AccessTokenLike]],
        scope: str,
        *,
        authority: str,
        credential: Any,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._get_token = get_token
        self.scope = scope
        self.authority = authority
        self.credential = credential
        self._clock = clock or _wall_clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._expires_on = 0.0

    async def __call__(self, force_refresh: bool) -> str:
        """Return a cached token, or fetch one (always fetch when ``force_refresh``).

        Raises:
            AuthError: sign-in failed or is needed (run ``skills-import login``).
        """
        async with self._lock:
            fresh_enough = self._clock() < self._expires_on - EXPIRY_MARGIN_S
            if self._token is not None and fresh_enough and not force_refresh:
                return self._token
            access = await self._fetch()
            self._token, self._expires_on = access.token, float(access.expires_on)
            return self._token

    async def _fetch(self) -> AccessTokenLike:
        from azure.core.exceptions import AzureError
        from azure.identity import AuthenticationRequiredError

        try:
            return await self._get_token(self.scope)
        except AuthenticationRequiredError:
            raise AuthError("not signed in: run `skills-import login` first") from None
        except (AzureError, ValueError, OSError, ImportError) as exc:
            # The persistent token cache cannot be used (no keyring), or MSAL refused the
            # authority: one clear line, never a traceback.
            raise (cache_failure(exc) or sign_in_failure(exc)) from None

    async def aclose(self) -> None:
        """Close the credential's HTTP sessions."""
        close = getattr(self.credential, "close", None)
        if close is not None:
            result = close()
            if asyncio.iscoroutine(result):
                await result


def _wall_clock() -> float:
    # Looked up at each call: the same clock MSAL reads when it decides a token has expired.
    return time.time()


def sign_in_failure(exc: Exception) -> AuthError:
    """Turn an azure-identity failure into a one-line ``AuthError``.

    azure-identity messages carry AADSTS codes and descriptions, never the secret; only their
    first line is kept.
    """
    message = str(getattr(exc, "message", "") or exc or "") or type(exc).__name__
    line = message.splitlines()[0]
    if "CERTIFICATE_VERIFY_FAILED" in line:
        line += (
            " (a sign-in host with a private CA: point SSL_CERT_FILE and REQUESTS_CA_BUNDLE "
            "at a PEM bundle that holds it)"
        )
    return AuthError(f"sign-in failed: {line}")


async def close_token_provider(provider: TokenProvider) -> None:
    """Close what a provider from ``make_token_provider`` holds open (no-op for others)."""
    aclose = getattr(provider, "aclose", None)
    if aclose is not None:
        await aclose()


def describe_token(token: str) -> dict[str, Any]:
    """Show who and what a bearer token stands for, without verifying it.

    Args:
        token: a JWT access token (or anything else).

    Returns:
        Only the safe claims (``SAFE_CLAIMS``) present in the token's payload; ``{}`` for a
        token that is not a JWT (such as the sandbox's).
    """
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError):
        return {}
    if not isinstance(claims, dict):
        return {}
    return {key: claims[key] for key in SAFE_CLAIMS if key in claims}
