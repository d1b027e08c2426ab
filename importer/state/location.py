"""Where state files live: the per-user state folder, one file per target, tenant and kind.

``<user state dir>/skills-import/state/`` (``platformdirs``: ``~/.local/state`` on Linux,
``%LOCALAPPDATA%`` on Windows, ``~/Library/Application Support`` on macOS), next to the run
locks. The file name carries the kind and a hash of the target and tenant, so two tenants
never share a file; the header inside says the same again, and is what is trusted.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from importer.lock import APP_NAME

__all__ = ["default_state_dir", "state_path"]


def default_state_dir() -> Path:
    """The per-user folder that holds state files."""
    import platformdirs

    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)) / "state"


def state_path(target: str, tenant: str, kind: str, folder: Path | None = None) -> Path:
    """The state file of one target, tenant and kind (in ``folder``, default the user's)."""
    digest = hashlib.sha256(f"{target}\n{tenant}".encode()).hexdigest()[:20]
    return (folder if folder is not None else default_state_dir()) / f"{kind}-{digest}.sqlite"
