"""Where a delegated sign-in's tokens are kept between runs, and what happens without a keyring.

``auth.cache: encrypted`` (the default) keeps them in the platform's protected store: Windows
DPAPI, the macOS Keychain, the Linux keyring (libsecret). A headless Linux server often has no
keyring; there the sign-in stops with a clear message, before any device code is shown, and
nothing is stored. ``auth.cache: file`` is the explicit opt-in for such a host: where no
protected store works, tokens go to a plaintext file readable by the account only (0600).
Tokens are never stored in plaintext without that opt-in.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path
from typing import Any

from importer.config import Settings
from importer.errors import AuthError

__all__ = [
    "CACHE_NAME",
    "NO_KEYRING",
    "cache_failure",
    "file_cache_path",
    "persistence_options",
]

logger = logging.getLogger(__name__)

#: The name of the persistent token cache (azure-identity adds a suffix to the file name).
CACHE_NAME = "skills-import"

NO_KEYRING = (
    "auth.cache is 'encrypted', but this host has no usable keyring to encrypt the token cache "
    "with (on Linux: libsecret with a running secret service, which SSH sessions, containers "
    "and servers without a desktop usually lack). Nothing was stored. Either sign in where a "
    "keyring is available, or set auth.cache: file to keep the tokens in {path}, a plaintext "
    "file readable by this account only (mode 0600)"
)


def file_cache_path() -> Path:
    """The plaintext cache file azure-identity writes on Linux when no keyring is usable."""
    return Path("~").expanduser() / ".IdentityService" / f"{CACHE_NAME}.nocae"


def persistence_options(settings: Settings) -> Any:
    """azure-identity's cache options for ``auth.cache``.

    With ``file``, the cache file is created (or its mode tightened) to 0600 before
    azure-identity writes to it, so the tokens are never readable by another account.
    """
    from azure.identity import TokenCachePersistenceOptions

    if settings.auth.cache == "encrypted":
        return TokenCachePersistenceOptions(name=CACHE_NAME, allow_unencrypted_storage=False)
    path = file_cache_path()
    if os.name == "posix":
        _private_file(path)
    logger.info(
        "auth.cache is 'file': where no keyring is usable, tokens are kept unencrypted in %s "
        "(mode 0600)",
        path,
    )
    return TokenCachePersistenceOptions(name=CACHE_NAME, allow_unencrypted_storage=True)


def _private_file(path: Path) -> None:
    """Create ``path`` with mode 0600 (its folder 0700), or tighten an existing file to 0600."""
    try:
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise AuthError(
            f"auth.cache: cannot create the token cache file {path} ({exc.strerror})"
        ) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise AuthError(f"auth.cache: the token cache {path} is not a plain file")
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def cache_failure(exc: BaseException) -> AuthError | None:
    """Turn azure-identity's "cannot use the persistent cache" errors into a clear message.

    azure-identity may wrap the cache's error in ``ClientAuthenticationError``, so the whole
    chain of causes is looked at. Returns None for other errors. The texts checked are
    azure-identity's and msal-extensions' own wording; they never hold a token.
    """
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        text = str(seen).lower()
        if "cache encryption" in text or "libsecret" in text or "encrypt" in text:
            return AuthError(NO_KEYRING.format(path=file_cache_path()))
        if isinstance(seen, ImportError) and ("gi" in text or "secret" in text):
            return AuthError(NO_KEYRING.format(path=file_cache_path()))
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, OSError):
        return AuthError(f"cannot use the token cache ({exc.strerror or type(exc).__name__})")
    return None
