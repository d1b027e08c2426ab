"""Sending the notification through apprise: Teams, Slack, e-mail, a JSON webhook, ...

The destinations are apprise URLs from ``SKILLS_IMPORT_NOTIFY_URLS`` only (they hold webhook
secrets and mail passwords), comma or space separated, reaching the code through the
settings object. A notification that cannot be sent is logged (naming the service, never the
URL's secrets) and changes nothing else: the run's exit code stays what the run decided.
"""

from __future__ import annotations

import asyncio
import logging
import re
from urllib.parse import urlsplit

import apprise

from importer.errors import ExitCode
from importer.notify.message import NotificationText

__all__ = ["notification_urls", "send_notification", "should_notify"]

logger = logging.getLogger(__name__)

_SEPARATORS = re.compile(r"[\s,]+")


def should_notify(when: str, exit_code: int) -> bool:
    """``never``, ``always``, or ``failure`` (any exit code but ``OK``)."""
    if when == "always":
        return True
    return when == "failure" and exit_code != ExitCode.OK


def notification_urls(value: str) -> list[str]:
    """The apprise URLs in the setting's text (comma or space separated)."""
    return [url for url in _SEPARATORS.split(value.strip()) if url]


def _service(url: str) -> str:
    """A URL as the log may name it: its scheme and host, no user, password or path."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" if parts.scheme else "an unreadable URL"


def _send(urls: list[str], text: NotificationText) -> list[str]:
    """Send to each URL on its own; return the services that failed."""
    failed: list[str] = []
    for url in urls:
        sender = apprise.Apprise()
        try:
            added = sender.add(url)
            sent = added and bool(sender.notify(title=text.title, body=text.body))
        except Exception:  # a notifier must never break the run, whatever apprise raises
            sent = False
        if not sent:
            failed.append(_service(url))
    return failed


async def send_notification(urls: list[str], text: NotificationText) -> bool:
    """Send ``text`` to every URL (in a worker thread: apprise blocks). True if all went.

    Failures are logged; nothing is raised.
    """
    if not urls:
        # Notifications are not set up: nothing to say (notify.when defaults to failure).
        logger.debug("no notification: SKILLS_IMPORT_NOTIFY_URLS is not set")
        return False
    # apprise logs its own failures with details of the request; ours name the service only.
    apprise_logger = logging.getLogger("apprise")
    level = apprise_logger.level
    apprise_logger.setLevel(logging.CRITICAL)
    try:
        failed = await asyncio.to_thread(_send, urls, text)
    finally:
        apprise_logger.setLevel(level)
    for service in failed:
        logger.warning("the notification to %s could not be sent; the run's result stands", service)
    if len(failed) < len(urls):
        logger.info("notification sent to %d destination(s)", len(urls) - len(failed))
    return not failed
