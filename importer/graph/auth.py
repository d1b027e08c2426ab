"""Sign-in: turn ``auth.method`` into a token provider for the Graph client.

Methods (``auth.method``): ``device-code`` (delegated; ``skills-import login`` once, then
unattended runs sign in silently, see ``device_code``), ``client-secret``, ``certificate``,
``managed-identity`` (azure-identity), and ``token`` (a bearer token from
``SKILLS_IMPORT_ACCESS_TOKEN``). The sandbox needs none: its token is ``sandbox``.

Sign-in goes to ``auth.authority`` when it is set (https only: a national cloud's host, a
private cloud, or the test stand-in), else to the sign-in host of ``target.graph``'s cloud. A
loopback sandbox target signs in for real only when ``auth.authority`` is set; otherwise it
uses the sandbox's fixed token. MSAL's instance discovery (asking login.microsoftonline.com to
vouch for the host) is turned off for hosts Microsoft does not run, as Microsoft advises for
private clouds.

Tokens live in memory only (and, for device-code, in the protected token cache), are reused
until 5 minutes before they expire, and are never logged or put in an exception text.
azure-identity is imported only when a real sign-in is needed, so offline commands stay fast.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from importer.config import NATIONAL_CLOUDS, Settings
from importer.errors import AuthError
from importer.graph import device_code
from importer.graph.device_code import SignIn, device_code_provider, require_key
from importer.graph.providers import (
    SANDBOX_TOKEN,
    CredentialTokenProvider,
    StaticTokenProvider,
    close_token_provider,
    describe_token,
)
from importer.graph.wire import TokenProvider

__all__ = [
    "ACCESS_TOKEN_VARIABLE",
    "CLIENT_SECRET_VARIABLE",
    "CredentialTokenProvider",
    "SignIn",
    "StaticTokenProvider",
    "close_token_provider",
    "describe_token",
    "login",
    "make_token_provider",
    "read_secret",
    "sign_in_first",
    "sign_in_for",
]

#: Sign-in hosts Microsoft runs, which MSAL validates on its own.
_MICROSOFT_HOSTS = frozenset(NATIONAL_CLOUDS.values())


def sign_in_for(settings: Settings) -> SignIn | None:
    """Where this run signs in, or None when the target takes the sandbox's fixed token."""
    target, authority = settings.target, settings.auth.authority
    if target.graph == "sandbox" or (target.is_sandbox and not authority):
        return None
    if not authority:
        authority = f"https://{NATIONAL_CLOUDS[target.graph]}"
    host = authority.split("://", 1)[-1].lower()
    return SignIn(
        authority=authority,
        scope=f"{target.graph}/.default",
        instance_discovery=host in _MICROSOFT_HOSTS,
    )


def login(
    settings: Settings, prompt: Callable[[str], None], *, record_dir: Path | None = None
) -> str:
    """Sign in interactively with a device code and save the account for unattended runs.

    Raises:
        AuthError: the target needs no sign-in (the sandbox), or ``device_code.login`` failed.
    """
    sign_in = sign_in_for(settings)
    if sign_in is None:
        raise AuthError(
            "target.graph is the sandbox: it needs no sign-in (set auth.authority to sign in "
            "to a loopback target for real)"
        )
    return device_code.login(settings, sign_in, prompt, record_dir=record_dir)


ACCESS_TOKEN_VARIABLE = "SKILLS_IMPORT_ACCESS_TOKEN"  # noqa: S105 - a variable name
CLIENT_SECRET_VARIABLE = "SKILLS_IMPORT_CLIENT_SECRET"  # noqa: S105 - a variable name


def read_secret(value: SecretStr | None, variable: str) -> str:
    """A token or secret as sent: surrounding whitespace stripped, control characters refused.

    A value pasted from a file with Windows line ends carries a trailing ``\\r``; stripped
    here, it no longer breaks every request of the run. One inside the value cannot be meant.

    Raises:
        AuthError: the value holds a control character (the message says where, never what).
    """
    text = value.get_secret_value().strip() if value is not None else ""
    for position, char in enumerate(text, start=1):
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            raise AuthError(
                f"{variable} holds a control or invisible character (code point "
                f"U+{ord(char):04X} at position {position}); set it again without line "
                f"breaks or pasted formatting"
            )
    return text


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
    sign_in = sign_in_for(settings)
    token = ""
    if settings.auth.method == "token":
        token = read_secret(settings.access_token, ACCESS_TOKEN_VARIABLE)
    if sign_in is None:
        # A separately started sandbox can be given a token of its own (for example an app
        # token from its token endpoint, to see how Graph refuses app-only writes).
        if settings.auth.method == "token" and token:
            return StaticTokenProvider(token)
        return StaticTokenProvider(SANDBOX_TOKEN)
    auth = settings.auth
    method = auth.method
    if method == "token":
        if not token:
            raise AuthError(f"set {ACCESS_TOKEN_VARIABLE} to a bearer token for auth.method token")
        return StaticTokenProvider(token)
    if method == "device-code":
        return device_code_provider(settings, sign_in, interactive, prompt, record_dir)
    from azure.identity import aio

    credential: Any
    if method == "managed-identity":
        credential = aio.ManagedIdentityCredential(client_id=auth.client_id.strip() or None)
    else:
        tenant = require_key(auth.tenant_id, "tenant_id", method)
        client = require_key(auth.client_id, "client_id", method)
        options: dict[str, Any] = {
            "authority": sign_in.authority,
            "disable_instance_discovery": not sign_in.instance_discovery,
        }
        if method == "client-secret":
            secret = read_secret(settings.client_secret, CLIENT_SECRET_VARIABLE)
            if not secret:
                raise AuthError(f"set {CLIENT_SECRET_VARIABLE} for auth.method client-secret")
            credential = aio.ClientSecretCredential(tenant, client, secret, **options)
        else:
            credential = _certificate_credential(settings, tenant, client, options)
    return CredentialTokenProvider(
        credential.get_token, sign_in.scope, authority=sign_in.authority, credential=credential
    )


async def sign_in_first(provider: TokenProvider) -> TokenProvider:
    """Get the run's first token before anything is read or sent, and return the provider.

    A wrong secret, an expired sign-in or a missing keyring then ends the run at once with one
    line and exit ``USAGE``, instead of failing inside the batches. The token is cached for the run.

    Raises:
        AuthError: sign-in failed (the provider is closed).
    """
    try:
        await provider(False)
    except BaseException:
        await close_token_provider(provider)
        raise
    return provider


def _certificate_credential(
    settings: Settings, tenant: str, client: str, options: dict[str, Any]
) -> Any:
    from azure.identity import aio

    path = settings.auth.certificate_path
    if path is None:
        raise AuthError("auth.certificate_path is required for auth.method certificate")
    try:
        return aio.CertificateCredential(tenant, client, str(path), **options)
    except (OSError, ValueError) as exc:
        # Only the exception type: a parser message could quote the key material.
        raise AuthError(
            f"auth.certificate_path: cannot use {path} ({type(exc).__name__}); "
            "it must be a PEM or PKCS12 file holding the private key and certificate"
        ) from None
