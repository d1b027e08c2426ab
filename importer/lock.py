"""A run lock, so two overlapping scheduled runs can never both write.

The lock is an advisory ``flock`` on a file in the report folder. The operating system releases it
when the holding process ends, however it ends (SIGKILL included), so a lock left behind by a dead
process is simply taken over; the file's content (pid, start time) is only there to tell the user
who holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO

from importer.errors import LockError

__all__ = ["LOCK_NAME", "RunLock"]

logger = logging.getLogger(__name__)

LOCK_NAME = "skills-import.lock"


class RunLock:
    """Hold the run lock for the duration of a ``with`` block.

    Args:
        folder: where the lock file lives (the report folder's parent, ``report.dir``).

    Raises:
        LockError: another live run holds the lock (exit 4); the message names its pid and
            start time.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_NAME
        self._file: IO[str] | None = None

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
        """Take the lock or raise ``LockError``; never waits."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe(_read(handle))
            handle.close()
            raise LockError(
                f"another run holds the lock {self.path} ({holder}); nothing was sent"
            ) from None
        previous = _read(handle)
        if previous:
            logger.warning("took over the lock left by a run that ended (%s)", _describe(previous))
        handle.seek(0)
        handle.truncate()
        json.dump(
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            handle,
        )
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Give the lock back (idempotent)."""
        if self._file is None:
            return
        with contextlib.suppress(OSError):
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        self._file.close()
        self._file = None


def _read(handle: IO[str]) -> dict[str, object]:
    handle.seek(0)
    try:
        data = json.loads(handle.read() or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _describe(info: dict[str, object]) -> str:
    if not info:
        return "holder unknown"
    return f"pid {info.get('pid')} on {info.get('host')}, started {info.get('started')}"
