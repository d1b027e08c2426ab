"""Notify: the run's result to Teams, Slack, e-mail or a webhook (apprise), after the report."""

from __future__ import annotations

from pathlib import Path

from importer.config import Settings
from importer.notify.message import NotificationText, compose_error_message, compose_message
from importer.notify.send import notification_urls, send_notification, should_notify
from importer.report.writer import RunSummary

__all__ = [
    "NotificationText",
    "compose_error_message",
    "compose_message",
    "notify_error",
    "notify_run",
    "send_notification",
    "should_notify",
]


def _urls(settings: Settings) -> list[str]:
    secret = settings.notify_urls
    return notification_urls(secret.get_secret_value()) if secret is not None else []


async def notify_run(settings: Settings, summary: RunSummary, report_dir: Path) -> None:
    """Send the run's notification if ``notify.when`` asks for it (failures are only logged)."""
    if should_notify(settings.notify.when, summary.exit_code):
        await send_notification(_urls(settings), compose_message(summary, report_dir))


async def notify_error(settings: Settings, exit_code: int, message: str, target: str) -> None:
    """Notify a run that stopped before its report (``USAGE``, ``LOCKED``), if notify.when asks."""
    if should_notify(settings.notify.when, exit_code):
        await send_notification(_urls(settings), compose_error_message(exit_code, message, target))
