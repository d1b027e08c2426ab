"""Sign-in: turn ``auth.method`` into a token provider for the Graph client.

Methods (``auth.method``): ``device-code`` (delegated; ``skills-import login`` once, then
unattended runs sign in silently, see ``device_code``), ``client-secret``, ``certificate``,
``managed-identity`` (azure-identity), and ``token`` (a bearer token from
``SKILLS_IMPORT_ACCESS_TOKEN``). The sandbox needs none: its token is ``sandbox``.

Tokens live in memory only, are reused until 5 minutes before they expire, and are never
logged or put in an exception text. azure-identity is imported only when a real cloud is the
target, so offline commands stay fast.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from importer.config import NATIONAL_CLOUDS, Settings
from importer.errors import AuthError
from importer.graph.device_code import device_code_provider, login, require_key
from importer.graph.providers import (
    SANDBOX_TOKEN,
    CredentialTokenProvider,
    StaticTokenProvider,
    close_token_provider,
    describe_token,
)
from importer.graph.wire import TokenProvider

__all__ = [
    "CredentialTokenProvider",
    "StaticTokenProvider",
    "close_token_provider",
    "describe_token",
    "login",
    "make_token_provider",
]


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
        # A separately started sandbox can be given a token of its own (for example an app
        # token from its token endpoint, to see how Graph refuses app-only writes).
        token = settings.access_token.get_secret_value() if settings.access_token else ""
        if settings.auth.method == "token" and token:
            return StaticTokenProvider(token)
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
        return device_code_provider(settings, scope, authority, interactive, prompt, record_dir)
    from azure.identity import aio

    credential: Any
    if method == "managed-identity":
        credential = aio.ManagedIdentityCredential(client_id=auth.client_id.strip() or None)
    else:
        tenant = require_key(auth.tenant_id, "tenant_id", method)
        client = require_key(auth.client_id, "client_id", method)
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
