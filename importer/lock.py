"""The run lock: one writing run per target and tenant at a time, on every operating system.

Two runs against the same tenant would both list a user's skills, both see one missing and both
create it. So the lock is keyed by what is written to (the Graph cloud and tenant, the loopback
sandbox URL, or the built-in sandbox's database file), never by the report folder: two runs
with different ``--report-dir`` still exclude each other.

The lock file lives in the per-user state folder (``platformdirs``: ``~/.local/state`` on Linux,
``%LOCALAPPDATA%`` on Windows, ``~/Library/Application Support`` on macOS). It is opened without
following a symbolic link, and refused if it is a link, a hard link or not a regular file, so a
planted link can never make the lock truncate another file.

The operating system's own lock is held on it: ``flock`` on POSIX, ``msvcrt.locking`` on
Windows. Both are released when the holding process ends, however it ends (SIGKILL included),
so a lock left behind by a dead process is simply taken over; the file's content (pid, host,
start time, target) is only there to tell the user who holds it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib
import json
import logging
import os
import re
import socket
import stat
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Protocol

from importer.config import Settings
from importer.errors import ConfigError, LockError

__all__ = ["APP_NAME", "RunLock", "default_lock_dir", "lock_key", "os_lock"]

logger = logging.getLogger(__name__)

APP_NAME = "skills-import"

#: Windows locks are mandatory: reading a locked byte fails. The holder's record is at the start
#: of the file, so the byte that is locked lies far beyond it.
_WINDOWS_LOCK_OFFSET = 1 << 20


class OsLock(Protocol):
    """The operating system's exclusive, non-blocking lock on an open file."""

    name: str

    def try_lock(self, fd: int) -> bool:
        """Take the lock; False if another process holds it."""

    def unlock(self, fd: int) -> None:
        """Give the lock back."""


class _FlockLock:
    """POSIX ``flock``: per open file, released when the process ends."""

    name = "flock"

    def __init__(self, fcntl: ModuleType) -> None:
        self._fcntl = fcntl

    def try_lock(self, fd: int) -> bool:
        try:
            self._fcntl.flock(fd, self._fcntl.LOCK_EX | self._fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def unlock(self, fd: int) -> None:
        self._fcntl.flock(fd, self._fcntl.LOCK_UN)


class _MsvcrtLock:
    """Windows ``msvcrt.locking`` on one byte past the record; released when the process ends."""

    name = "msvcrt"

    def __init__(self, msvcrt: ModuleType) -> None:
        self._msvcrt = msvcrt

    def try_lock(self, fd: int) -> bool:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            self._msvcrt.locking(fd, self._msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def unlock(self, fd: int) -> None:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        self._msvcrt.locking(fd, self._msvcrt.LK_UNLCK, 1)


def os_lock() -> OsLock:
    """The lock this operating system offers: ``flock`` where ``fcntl`` exists, else ``msvcrt``.

    Imported by name at run time, so that no POSIX-only (or Windows-only) module sits on any
    import path of the command line.

    Raises:
        ConfigError: neither exists (no known system); a run never writes unlocked.
    """
    try:
        return _FlockLock(importlib.import_module("fcntl"))
    except ImportError:
        pass
    try:
        return _MsvcrtLock(importlib.import_module("msvcrt"))
    except ImportError:
        raise ConfigError(
            "this system offers no file lock (neither fcntl nor msvcrt), so a run cannot make "
            "sure it is the only one writing; nothing was sent. `validate` still works"
        ) from None


def default_lock_dir() -> Path:
    """The per-user folder that holds run locks (``<user state dir>/skills-import/locks``)."""
    import platformdirs

    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)) / "locks"


def lock_key(settings: Settings) -> str:
    """What a run writes to, as the lock's identity: two runs with the same key never overlap.

    The built-in sandbox is identified by its database file, a loopback sandbox by its URL, and
    a Graph cloud by its URL and ``auth.tenant_id`` (case-insensitive; empty = the signed-in
    account's home tenant).
    """
    target = settings.target
    if target.graph == "sandbox":
        return f"sandbox {Path(target.sandbox_db).expanduser().resolve()}"
    if target.is_sandbox:
        return f"sandbox {target.graph.lower()}"
    tenant = settings.auth.tenant_id.strip().lower() or "home-tenant"
    return f"{target.graph.lower()} tenant {tenant}"


def _file_name(key: str) -> str:
    readable = re.sub(r"[^a-z0-9.]+", "-", key.lower()).strip("-")[-60:]
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return f"run-{readable}-{digest}.lock"


class RunLock:
    """Hold the run lock for a target and tenant for the duration of a ``with`` block.

    Args:
        key: what the run writes to (``lock_key(settings)``).
        folder: where lock files live (default ``default_lock_dir()``).

    Raises:
        LockError: another live run holds the lock (exit ``LOCKED``); the message names its pid,
            host and start time.
        ConfigError: the lock file is a symbolic link or otherwise not a plain file of its own,
            or the lock folder cannot be written (exit ``USAGE``).
    """

    def __init__(self, key: str, folder: Path | None = None) -> None:
        self.key = key
        self.path = (folder if folder is not None else default_lock_dir()) / _file_name(key)
        self._fd: int | None = None
        self._os_lock: OsLock | None = None

    @classmethod
    def for_settings(cls, settings: Settings, folder: Path | None = None) -> RunLock:
        """The lock of the target and tenant ``settings`` write to."""
        return cls(lock_key(settings), folder)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock or raise; never waits."""
        fd = self._open()
        lock = os_lock()
        try:
            if not lock.try_lock(fd):
                holder = _describe(_read(fd))
                raise LockError(
                    f"another run holds the lock for {self.key} ({holder}); nothing was sent. "
                    f"Lock file: {self.path}"
                )
            previous = _read(fd)
            if previous:
                logger.warning(
                    "took over the lock left by a run that ended (%s)", _describe(previous)
                )
            self._write_record(fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._os_lock = fd, lock

    def release(self) -> None:
        """Give the lock back (idempotent)."""
        if self._fd is None or self._os_lock is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
            self._os_lock.unlock(self._fd)
        os.close(self._fd)
        self._fd = None

    def _write_record(self, fd: int) -> None:
        """Write who holds the lock; a full disk or a failing folder is one line, not a trace."""
        try:
            _write(fd, self.key)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ConfigError(
                f"cannot write the lock file {self.path} ({reason}); nothing was sent. Free "
                f"some space in {self.path.parent} and run again"
            ) from None

    def _open(self) -> int:
        """Open (or create) the lock file without following a link; refuse anything odd."""
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the lock folder {self.path.parent} ({exc.strerror})"
            ) from None
        if self.path.is_symlink():
            raise _refuse_link(self.path)
        flags = os.O_RDWR | os.O_CREAT
        for name in ("O_NOFOLLOW", "O_CLOEXEC", "O_BINARY", "O_NOINHERIT"):
            flags |= getattr(os, name, 0)
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _refuse_link(self.path) from None
            raise ConfigError(f"cannot open the lock file {self.path} ({exc.strerror})") from None
        opened, named = os.fstat(fd), os.lstat(self.path)
        same = (opened.st_dev, opened.st_ino) == (named.st_dev, named.st_ino)
        if not stat.S_ISREG(opened.st_mode) or opened.st_nlink != 1 or not same:
            os.close(fd)
            raise _refuse_link(self.path)
        return fd


def _refuse_link(path: Path) -> ConfigError:
    return ConfigError(
        f"the lock file {path} is a link or not a plain file; it is never followed. "
        "Remove it and run again; nothing was sent"
    )


def _read(fd: int) -> dict[str, object]:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 64 * 1024)
    try:
        data = json.loads(raw.decode("utf-8") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _write(fd: int, key: str) -> None:
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "target": key,
    }
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps(record).encode("utf-8"))
    os.fsync(fd)


def _describe(info: dict[str, object]) -> str:
    if not info:
        return "holder unknown"
    return f"pid {info.get('pid')} on {info.get('host')}, started {info.get('started')}"
