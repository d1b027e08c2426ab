"""Sign-in: turn ``auth.method`` into a token provider for the Graph client.

Methods (DESIGN section 3): ``device-code`` (delegated; ``skills-import login`` once, then
unattended runs sign in silently from the persistent token cache and a saved account record),
``client-secret``, ``certificate``, ``managed-identity`` (azure-identity), and ``token`` (a bearer
token from ``SKILLS_IMPORT_ACCESS_TOKEN``). The sandbox needs none: its token is ``sandbox``.

Tokens live in memory only, are reused until 5 minutes before they expire, and are never
logged or put in an exception text.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from importer.config import NATIONAL_CLOUDS, Settings
from importer.errors import AuthError
from importer.graph.wire import TokenProvider

__all__ = [
    "SANDBOX_TOKEN",
    "CredentialTokenProvider",
    "StaticTokenProvider",
    "close_token_provider",
    "default_record_dir",
    "describe_token",
    "login",
    "make_token_provider",
]

logger = logging.getLogger(__name__)

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

_CACHE_NAME = "skills-import"


class _AccessToken(Protocol):
    token: str
    expires_on: int


class StaticTokenProvider:
    """A provider that always answers the same token (sandbox, or ``auth.method: token``).

    A forced refresh returns the same token: there is nothing to refresh it with.
    """

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
        clock: wall-clock seconds, compared with the token's ``expires_on``.
    """

    def __init__(
        self,
        get_token: Callable[[str], Awaitable[_AccessToken]],
        scope: str,
        *,
        authority: str,
        credential: Any,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._get_token = get_token
        self.scope = scope
        self.authority = authority
        self.credential = credential
        self._clock = clock
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

    async def _fetch(self) -> _AccessToken:
        from azure.core.exceptions import ClientAuthenticationError
        from azure.identity import AuthenticationRequiredError

        try:
            return await self._get_token(self.scope)
        except AuthenticationRequiredError:
            raise AuthError("not signed in: run `skills-import login` first") from None
        except ClientAuthenticationError as exc:
            # azure-identity messages carry AADSTS codes and descriptions, never the secret.
            first_line = (exc.message or type(exc).__name__).splitlines()[0]
            raise AuthError(f"sign-in failed: {first_line}") from None

    async def aclose(self) -> None:
        """Close the credential's HTTP sessions."""
        close = getattr(self.credential, "close", None)
        if close is not None:
            result = close()
            if asyncio.iscoroutine(result):
                await result


async def close_token_provider(provider: TokenProvider) -> None:
    """Close what a provider from ``make_token_provider`` holds open (no-op for others)."""
    aclose = getattr(provider, "aclose", None)
    if aclose is not None:
        await aclose()


def default_record_dir() -> Path:
    """Where ``login`` saves the account record: ``~/.config/skills-import``."""
    return Path.home() / ".config" / "skills-import"


def _require(value: str, key: str, method: str) -> str:
    if not value.strip():
        raise AuthError(f"auth.{key} is required for auth.method {method}")
    return value.strip()


def _record_path(settings: Settings, record_dir: Path | None) -> Path:
    auth = settings.auth
    name = f"{NATIONAL_CLOUDS[settings.target.graph]}-{auth.tenant_id or 'organizations'}"
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"account-{name}-{auth.client_id}.json")
    return (record_dir if record_dir is not None else default_record_dir()) / name


def make_token_provider(
    settings: Settings,
    *,
    interactive: bool = False,
    prompt: Callable[[str], None] | None = None,
    record_dir: Path | None = None,
) -> TokenProvider:
    """Build the token provider for the configured target and ``auth.method``.

    Args:
        settings: the run's settings.
        interactive: allow a device-code prompt (``login``); unattended runs never prompt.
        prompt: shows the device-code message to the user (the CLI passes a printer).
        record_dir: folder of the saved device-code account record (default
            ``default_record_dir()``).

    Returns:
        A provider (``force_refresh -> token``) with an ``aclose()``; pass it to
        ``close_token_provider`` at the end of the run.

    Raises:
        AuthError: a required key or secret is missing (the message names it), the
            certificate cannot be read, or device-code sign-in has not been done.
    """
    if settings.target.is_sandbox:
        return StaticTokenProvider(SANDBOX_TOKEN)
    auth = settings.auth
    method = auth.method
    if method == "token":
        if settings.access_token is None or not settings.access_token.get_secret_value():
            raise AuthError(
                "set SKILLS_IMPORT_ACCESS_TOKEN to a bearer token for auth.method token"
            )
        return StaticTokenProvider(settings.access_token.get_secret_value())
    scope = f"{settings.target.graph}/.default"
    authority = NATIONAL_CLOUDS[settings.target.graph]
    if method == "device-code":
        return _device_code_provider(settings, scope, authority, interactive, prompt, record_dir)
    from azure.identity import aio

    credential: Any
    if method == "managed-identity":
        credential = aio.ManagedIdentityCredential(client_id=auth.client_id.strip() or None)
    else:
        tenant = _require(auth.tenant_id, "tenant_id", method)
        client = _require(auth.client_id, "client_id", method)
        if method == "client-secret":
            if settings.client_secret is None or not settings.client_secret.get_secret_value():
                raise AuthError("set SKILLS_IMPORT_CLIENT_SECRET for auth.method client-secret")
            credential = aio.ClientSecretCredential(
                tenant, client, settings.client_secret.get_secret_value(), authority=authority
            )
        else:
            credential = _certificate_credential(settings, tenant, client, authority)
    return CredentialTokenProvider(
        credential.get_token, scope, authority=authority, credential=credential
    )


def _certificate_credential(settings: Settings, tenant: str, client: str, authority: str) -> Any:
    from azure.identity import aio

    path = settings.auth.certificate_path
    if path is None:
        raise AuthError("auth.certificate_path is required for auth.method certificate")
    try:
        return aio.CertificateCredential(tenant, client, str(path), authority=authority)
    except (OSError, ValueError) as exc:
        # Only the exception type: a parser message could quote the key material.
        raise AuthError(
            f"auth.certificate_path: cannot use {path} ({type(exc).__name__}); "
            "it must be a PEM or PKCS12 file holding the private key and certificate"
        ) from None


def _device_code_credential(
    settings: Settings,
    authority: str,
    *,
    interactive: bool,
    prompt: Callable[[str], None] | None,
    record: Any,
) -> Any:
    from azure.identity import DeviceCodeCredential, TokenCachePersistenceOptions

    def show(verification_uri: str, user_code: str, expires_on: datetime) -> None:
        message = (
            f"To sign in, open {verification_uri} and enter the code {user_code} "
            f"(valid until {expires_on:%H:%M} UTC)."
        )
        if prompt is not None:
            prompt(message)
        else:
            logger.warning("%s", message)

    kwargs: dict[str, Any] = {
        "tenant_id": settings.auth.tenant_id.strip() or "organizations",
        "authority": authority,
        "prompt_callback": show,
        "cache_persistence_options": TokenCachePersistenceOptions(
            name=_CACHE_NAME, allow_unencrypted_storage=True
        ),
        "disable_automatic_authentication": not interactive,
    }
    if record is not None:
        kwargs["authentication_record"] = record
    return DeviceCodeCredential(
        _require(settings.auth.client_id, "client_id", "device-code"), **kwargs
    )


def _device_code_provider(
    settings: Settings,
    scope: str,
    authority: str,
    interactive: bool,
    prompt: Callable[[str], None] | None,
    record_dir: Path | None,
) -> CredentialTokenProvider:
    from azure.identity import AuthenticationRecord

    _require(settings.auth.client_id, "client_id", "device-code")
    path = _record_path(settings, record_dir)
    record = None
    try:
        record = AuthenticationRecord.deserialize(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if not interactive:
            raise AuthError("not signed in: run `skills-import login` first") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise AuthError(
            f"the saved sign-in {path} is unreadable: run `skills-import login` again"
        ) from None
    credential = _device_code_credential(
        settings, authority, interactive=interactive, prompt=prompt, record=record
    )

    async def get_token(scope: str) -> _AccessToken:
        # The sync credential may prompt and poll for minutes: keep it off the event loop.
        token: _AccessToken = await asyncio.to_thread(credential.get_token, scope)
        return token

    return CredentialTokenProvider(get_token, scope, authority=authority, credential=credential)


def login(
    settings: Settings, prompt: Callable[[str], None], *, record_dir: Path | None = None
) -> str:
    """Sign in interactively with a device code and save the account for unattended runs.

    Args:
        settings: the settings (``auth.method`` must be ``device-code``; a real Graph target).
        prompt: shows the device-code message to the user.
        record_dir: where to save the account record (default ``default_record_dir()``).

    Returns:
        The signed-in account's name.

    Raises:
        AuthError: the target is the sandbox, the method is not device-code, a key is missing,
            or sign-in failed.
    """
    from azure.core.exceptions import ClientAuthenticationError

    if settings.target.is_sandbox:
        raise AuthError("target.graph is the sandbox: it needs no sign-in")
    if settings.auth.method != "device-code":
        raise AuthError(f"`login` is for auth.method device-code, not {settings.auth.method}")
    authority = NATIONAL_CLOUDS[settings.target.graph]
    credential = _device_code_credential(
        settings, authority, interactive=True, prompt=prompt, record=None
    )
    try:
        record = credential.authenticate(scopes=[f"{settings.target.graph}/.default"])
    except ClientAuthenticationError as exc:
        first_line = (exc.message or type(exc).__name__).splitlines()[0]
        raise AuthError(f"sign-in failed: {first_line}") from None
    finally:
        credential.close()
    path = _record_path(settings, record_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The record names the account and tenant; it holds no token (those stay in the cache).
    path.write_text(record.serialize(), encoding="utf-8")
    logger.info("signed in as %s; account saved to %s", record.username, path)
    return str(record.username)


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
