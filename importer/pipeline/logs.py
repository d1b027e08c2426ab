"""The run's own log: the importer's log lines copied into the report folder (run.log)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from importer.errors import ConfigError

__all__ = ["run_log"]


class _RunLogHandler(logging.FileHandler):
    """A file handler that goes quiet when its file cannot be written (a full disk).

    logging's own handler prints a traceback to stderr for every line it fails to write; the
    report writer already says, in one line, that the report folder failed.
    """

    broken = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.broken:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        self.broken = True
        with contextlib.suppress(OSError):
            super().close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            super().close()


@contextlib.contextmanager
def run_log(path: Path) -> Iterator[None]:
    """Copy the importer's log lines into the report folder for the length of the run.

    Raises:
        ConfigError: the file cannot be created (before anything is sent).
    """
    try:
        handler = _RunLogHandler(path, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"report.dir: cannot write {path} ({exc.strerror or type(exc).__name__}); "
            f"nothing was sent"
        ) from None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.setLevel(logging.INFO)
    package = logging.getLogger("importer")
    previous = package.level
    package.setLevel(logging.INFO)
    package.addHandler(handler)
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(previous)
        handler.close()
