"""Delegated sign-in with a device code, remembered for unattended runs.

``skills-import login`` signs in once (interactive device code) and saves an azure-identity
``AuthenticationRecord`` (account and tenant, no token) to
``<user config dir>/account-<authority>-<tenant>-<client>.json`` (``platformdirs``:
``~/.config/skills-import`` on Linux, ``%LOCALAPPDATA%\\skills-import`` on Windows,
``~/Library/Application Support/skills-import`` on macOS); tokens go to the persistent MSAL
cache named ``skills-import`` (see ``token_cache``). Later runs load the record and sign in
silently from the cache, never prompting: if that is impossible they fail with "run login
first".
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from importer.config import Settings
from importer.errors import AuthError
from importer.graph.providers import AccessTokenLike, CredentialTokenProvider, sign_in_failure
from importer.graph.token_cache import cache_failure, persistence_options

__all__ = [
    "SignIn",
    "default_record_dir",
    "device_code_provider",
    "login",
    "record_path",
    "require_key",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SignIn:
    """Where and for what a run signs in.

    Attributes:
        authority: the sign-in host as an https URL (``auth.authority`` or the cloud's own).
        scope: the resource's ``/.default`` scope (``<target.graph>/.default``).
        instance_discovery: False for a host Microsoft does not list (a stand-in, a private
            cloud): MSAL would otherwise ask login.microsoftonline.com to vouch for it.
    """

    authority: str
    scope: str
    instance_discovery: bool

    @property
    def host(self) -> str:
        """The authority without its scheme (``login.microsoftonline.com``)."""
        return self.authority.split("://", 1)[-1]


def require_key(value: str, key: str, method: str) -> str:
    """Return ``value`` stripped, or raise ``AuthError`` naming ``auth.<key>`` if it is empty."""
    if not value.strip():
        raise AuthError(f"auth.{key} is required for auth.method {method}")
    return value.strip()


def default_record_dir() -> Path:
    """Where ``login`` saves the account record: the per-user config folder (platformdirs)."""
    import platformdirs

    return Path(platformdirs.user_config_dir("skills-import", appauthor=False))


def record_path(settings: Settings, sign_in: SignIn, record_dir: Path | None) -> Path:
    """The account record file for this sign-in host, tenant and app (one per combination)."""
    auth = settings.auth
    name = f"{sign_in.host}-{auth.tenant_id or 'organizations'}"
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"account-{name}-{auth.client_id}.json")
    return (record_dir if record_dir is not None else default_record_dir()) / name


def _device_code_credential(
    settings: Settings,
    sign_in: SignIn,
    *,
    interactive: bool,
    prompt: Callable[[str], None] | None,
    record: Any,
) -> Any:
    from azure.identity import DeviceCodeCredential

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
        "authority": sign_in.authority,
        "prompt_callback": show,
        "cache_persistence_options": persistence_options(settings),
        "disable_automatic_authentication": not interactive,
        "disable_instance_discovery": not sign_in.instance_discovery,
    }
    if record is not None:
        # The record carries the authority and app it was made for; azure-identity refuses
        # both at once. The record file is per cloud, tenant and app, so they agree.
        kwargs["authentication_record"] = record
        del kwargs["authority"]
    return DeviceCodeCredential(
        require_key(settings.auth.client_id, "client_id", "device-code"), **kwargs
    )


def device_code_provider(
    settings: Settings,
    sign_in: SignIn,
    interactive: bool,
    prompt: Callable[[str], None] | None,
    record_dir: Path | None,
) -> CredentialTokenProvider:
    """Build the provider of an unattended (or, with ``interactive``, prompting) device-code run.

    Raises:
        AuthError: ``auth.client_id`` is missing, or no usable saved sign-in exists and the
            run is not interactive ("run `skills-import login` first").
    """
    from azure.identity import AuthenticationRecord

    require_key(settings.auth.client_id, "client_id", "device-code")
    path = record_path(settings, sign_in, record_dir)
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
        settings, sign_in, interactive=interactive, prompt=prompt, record=record
    )

    async def get_token(scope: str) -> AccessTokenLike:
        # The sync credential may prompt and poll for minutes: keep it off the event loop.
        token: AccessTokenLike = await asyncio.to_thread(credential.get_token, scope)
        return token

    return CredentialTokenProvider(
        get_token, sign_in.scope, authority=sign_in.authority, credential=credential
    )


def login(
    settings: Settings,
    sign_in: SignIn,
    prompt: Callable[[str], None],
    *,
    record_dir: Path | None = None,
) -> str:
    """Sign in interactively with a device code and save the account for unattended runs.

    Args:
        settings: the settings (``auth.method`` must be ``device-code``).
        sign_in: where to sign in and for which scope.
        prompt: shows the device-code message to the user.
        record_dir: where to save the account record (default ``default_record_dir()``).

    Returns:
        The signed-in account's name.

    Raises:
        AuthError: the method is not device-code, a key is missing, no token cache can be
            used (``auth.cache``), or sign-in failed.
    """
    from azure.core.exceptions import AzureError

    if settings.auth.method != "device-code":
        raise AuthError(f"`login` is for auth.method device-code, not {settings.auth.method}")
    credential = _device_code_credential(
        settings, sign_in, interactive=True, prompt=prompt, record=None
    )
    try:
        record = credential.authenticate(scopes=[sign_in.scope])
    except (AzureError, ValueError, OSError, ImportError) as exc:
        raise (cache_failure(exc) or sign_in_failure(exc)) from None
    finally:
        credential.close()
    path = record_path(settings, sign_in, record_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The record names the account and tenant; it holds no token (those stay in the cache).
    path.write_text(record.serialize(), encoding="utf-8")
    logger.info("signed in as %s; account saved to %s", record.username, path)
    return str(record.username)
