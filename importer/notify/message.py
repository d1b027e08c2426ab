"""The notification's text: what an HR admin needs to judge a night's run from a phone.

A status word and the exit code with its reason first, then the rows per action, the
duration, the target, where the report is, and the most frequent error types. Built only
from the run's summary, which never holds a token; URLs are masked once more anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from importer.config.messages import mask_credentials
from importer.errors import ExitCode
from importer.report.writer import RunSummary

__all__ = ["STATUS_WORDS", "NotificationText", "compose_error_message", "compose_message"]

#: The status word per exit code, first in the title so a glance is enough.
STATUS_WORDS: dict[int, str] = {
    ExitCode.OK: "OK",
    ExitCode.ROWS_FAILED: "ROWS FAILED",
    ExitCode.USAGE: "NOT STARTED",
    ExitCode.SAFETY_ABORT: "STOPPED BY A GUARD",
    ExitCode.LOCKED: "NOT STARTED",
    ExitCode.INTERRUPTED: "INTERRUPTED",
}

_TOP_ERROR_TYPES = 5


@dataclass(frozen=True, slots=True)
class NotificationText:
    """A title (one line) and a plain-text body."""

    title: str
    body: str


def _status(exit_code: int) -> str:
    return STATUS_WORDS.get(exit_code, "FAILED")


def compose_message(summary: RunSummary, report_dir: Path) -> NotificationText:
    """The notification of a run that wrote its report."""
    code = summary.exit_code
    dry = " (dry run)" if summary.dry_run else ""
    title = f"skills-import{dry}: {_status(code)} (exit {code}): {summary.reason}"
    counts = ", ".join(f"{action} {n}" for action, n in summary.counts.items() if n)
    duration = (summary.finished - summary.started).total_seconds()
    lines = [
        f"Status: {_status(code)}, exit code {code}: {summary.reason}",
        f"Rows: {counts or 'none'}",
        f"Duration: {duration:,.1f} s",
        f"Target: {summary.target}",
        f"Mode: {summary.mode}{dry}",
        f"Report: {report_dir}",
    ]
    if summary.error_types:
        lines.append("Top error types:")
        for item in summary.error_types[:_TOP_ERROR_TYPES]:
            lines.append(f"- {item['type']}: {item['rows']} row(s), e.g. {item['example']}")
    return NotificationText(mask_credentials(title), mask_credentials("\n".join(lines)))


def compose_error_message(exit_code: int, message: str, target: str) -> NotificationText:
    """The notification of a run that stopped before it could report (``USAGE``, ``LOCKED``)."""
    status = _status(exit_code)
    title = f"skills-import: {status} (exit {exit_code}): {message}"
    body = "\n".join(
        [
            f"Status: {status}, exit code {exit_code}: {message}",
            "Rows: none (nothing was sent)",
            f"Target: {target}",
        ]
    )
    return NotificationText(mask_credentials(title), mask_credentials(body))
