"""Where the CLI writes: one stderr console shared by log lines and the progress bar.

Log lines and the progress bar share one console on stderr, so that rich keeps the bar below
the log lines instead of drawing over them.
"""

from __future__ import annotations

import json
import logging
import sys

from rich.console import Console
from rich.logging import RichHandler

__all__ = ["RUN_LOG_ONLY", "STDERR", "setup_logging"]

STDERR = Console(stderr=True)

#: The attribute of a log record meant for run.log, not for the console.
RUN_LOG_ONLY = "run_log_only"


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            }
        )


def _not_run_log_only(record: logging.LogRecord) -> bool:
    """False for lines meant for run.log alone (progress while the live line shows it)."""
    return not getattr(record, RUN_LOG_ONLY, False)


def setup_logging(log_format: str, quiet: bool) -> None:
    """Send log lines to stderr: rich on a terminal, plain text or JSON lines otherwise."""
    handler: logging.Handler
    if log_format == "json":
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_JsonFormatter())
    elif STDERR.is_terminal:
        handler = RichHandler(console=STDERR, show_path=False, log_time_format="%H:%M:%S")
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    handler.setLevel(logging.WARNING if quiet else logging.INFO)
    handler.addFilter(_not_run_log_only)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # aiohttp's access log and azure's HTTP logging would be noise (and azure's may show headers).
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("azure").setLevel(logging.WARNING)
    # azure-identity logs each failed sign-in as a warning with advice meant for developers;
    # the importer says the same in one line of its own, with what to change.
    logging.getLogger("azure.identity").setLevel(logging.ERROR)
