"""Make a Python process look like another platform, for subprocess tests of the CLI.

Put this folder first on ``PYTHONPATH``; Python imports ``sitecustomize`` at start-up. Then:

- ``SKILLS_IMPORT_TEST_BLOCK=fcntl,gi``: importing those modules fails as on a system that
  lacks them (``fcntl`` on Windows; ``gi``, libsecret's binding, on a server without a keyring).
- ``SKILLS_IMPORT_TEST_WINDOWS=1``: the Windows code paths are selected where they can run on
  Linux: an ``msvcrt`` module whose ``locking`` behaves as Windows' does (built on the real
  ``flock``, taken before ``fcntl`` is hidden), and ``signal.SIGBREAK`` (Ctrl-Break), delivered
  in tests as SIGUSR1.

Only tests use this; the importer never reads these variables.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import types
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec

__all__: list[str] = []  # imported by Python at start-up for its side effects only

_BLOCKED = {name for name in os.environ.get("SKILLS_IMPORT_TEST_BLOCK", "").split(",") if name}


class _Blocker(MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.split(".")[0] in _BLOCKED:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


def _fake_msvcrt() -> types.ModuleType:
    import fcntl

    flock = fcntl.flock
    lock_ex, lock_nb, lock_un = fcntl.LOCK_EX, fcntl.LOCK_NB, fcntl.LOCK_UN
    module = types.ModuleType("msvcrt")
    module.LK_UNLCK, module.LK_LOCK, module.LK_NBLCK = 0, 1, 2  # type: ignore[attr-defined]

    def locking(fd: int, mode: int, nbytes: int) -> None:
        # Windows answers a held lock with EACCES; byte ranges are not needed by the importer.
        if mode == 0:
            flock(fd, lock_un)
            return
        try:
            flock(fd, lock_ex | lock_nb)
        except BlockingIOError:
            raise OSError(errno.EACCES, "Permission denied") from None

    module.locking = locking  # type: ignore[attr-defined]
    return module


if os.environ.get("SKILLS_IMPORT_TEST_WINDOWS") == "1":
    # These standard modules decide "am I on Windows?" by trying `import msvcrt`: let them
    # answer before the stand-in exists, so that only the importer's lock sees it.
    import asyncio  # noqa: F401
    import getpass  # noqa: F401
    import subprocess  # noqa: F401

    sys.modules["msvcrt"] = _fake_msvcrt()
    signal.SIGBREAK = signal.SIGUSR1  # type: ignore[attr-defined]
if _BLOCKED:
    for _name in list(sys.modules):
        if _name.split(".")[0] in _BLOCKED:
            del sys.modules[_name]
    sys.meta_path.insert(0, _Blocker())
