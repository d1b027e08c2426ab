"""Notifications: the run's result reaches a JSON webhook on 127.0.0.1, never with a token, and
a notification that cannot be sent changes nothing but a log line."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from importer.config import Settings
from importer.notify import should_notify
from importer.pipeline.run import run_import
from importer.pipeline.undo import undo_run
from importer.sandbox import RunningSandbox
from tests.conftest import BOB_UPN
from tests.importing import settings_for, write_csv

ServerFactory = Callable[..., Awaitable[TestServer]]
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOi.not-a-real-token.but-secret"


class Catcher:
    """A JSON webhook on 127.0.0.1 that keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        self.headers.append(dict(request.headers))
        return web.json_response({})


@pytest.fixture
async def catcher(aiohttp_server: ServerFactory) -> tuple[Catcher, str]:
    """The catcher, and the apprise URL that reaches it."""
    caught = Catcher()
    app = web.Application()
    app.router.add_post("/hook", caught.handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    return caught, f"json://127.0.0.1:{server.port}/hook"


def _settings(
    sandbox: RunningSandbox, tmp_path: Path, env: dict[str, str], **notify: str
) -> Settings:
    return settings_for(sandbox, tmp_path, environ=env, notify=notify)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_run_notifies_a_json_webhook_with_status_counts_and_report(
    running_sandbox: RunningSandbox, tmp_path: Path, catcher: tuple[Catcher, str]
) -> None:
    caught, url = catcher
    path = write_csv(tmp_path / "s.csv", [(BOB_UPN, "Go", "4", ""), (BOB_UPN, "Rust", "Guru", "")])
    env = {"SKILLS_IMPORT_NOTIFY_URLS": url}
    settings = _settings(running_sandbox, tmp_path, env, when="always")

    result = await run_import([path], settings)

    assert result.exit_code == 1  # the level 9 row is invalid
    (message,) = caught.received
    assert message["title"].startswith("skills-import: ROWS FAILED (exit 1): 1 row(s) invalid")
    body = message["message"]
    assert "Rows: created 1, invalid 1" in body
    assert f"Report: {result.report_dir}" in body
    assert "Duration: " in body
    assert f"Target: sandbox at {running_sandbox.base_url}" in body
    assert "- invalid-enum: 1 row(s), e.g. " in body
    assert "sent to 1 destination" in (result.report_dir / "run.log").read_text("utf-8")


async def test_a_refused_token_is_never_in_the_notification(
    running_sandbox: RunningSandbox, tmp_path: Path, catcher: tuple[Catcher, str]
) -> None:
    caught, url = catcher
    path = write_csv(tmp_path / "s.csv", [(BOB_UPN, "Go", "4", "")])
    env = {"SKILLS_IMPORT_NOTIFY_URLS": url, "SKILLS_IMPORT_ACCESS_TOKEN": TOKEN}
    settings = _settings(running_sandbox, tmp_path, env)  # notify.when: failure (default)
    settings = settings.model_copy(
        update={"auth": settings.auth.model_copy(update={"method": "token"})}
    )

    result = await run_import([path], settings)

    assert result.exit_code != 0
    (message,) = caught.received
    text = str(message) + str(caught.headers)
    assert TOKEN not in text
    assert TOKEN.split(".")[1] not in text
    assert "Bearer" not in text


async def test_a_notification_that_cannot_be_sent_is_logged_and_changes_no_exit_code(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "s.csv", [(BOB_UPN, "Go", "4", "")])
    dead = f"json://127.0.0.1:{_closed_port()}/hook"
    env = {"SKILLS_IMPORT_NOTIFY_URLS": f"{dead}, json://user:pw@127.0.0.1:{_closed_port()}/x"}
    settings = _settings(running_sandbox, tmp_path, env, when="always")

    result = await run_import([path], settings)

    assert result.exit_code == 0
    log = (result.report_dir / "run.log").read_text("utf-8")
    assert "the notification to json://127.0.0.1 could not be sent" in log
    assert "pw" not in log.split("could not be sent")[0][-200:]


@pytest.mark.parametrize(
    ("when", "exit_code", "sent"),
    [
        ("never", 1, False),
        ("failure", 0, False),
        ("failure", 3, True),
        ("always", 0, True),
    ],
)
def test_notify_when_decides_from_the_exit_code(when: str, exit_code: int, sent: bool) -> None:
    assert should_notify(when, exit_code) is sent


async def test_an_undo_notifies_like_a_run(
    running_sandbox: RunningSandbox, tmp_path: Path, catcher: tuple[Catcher, str]
) -> None:
    caught, url = catcher
    path = write_csv(tmp_path / "s.csv", [(BOB_UPN, "Go", "4", "")])
    settings = _settings(
        running_sandbox, tmp_path, {"SKILLS_IMPORT_NOTIFY_URLS": url}, when="always"
    )
    first = await run_import([path], settings)

    undone = await undo_run(first.report_dir, settings)

    assert undone.exit_code == 0
    assert len(caught.received) == 2
    assert "Rows: deleted 1" in caught.received[1]["message"]
    assert f"Report: {undone.report_dir}" in caught.received[1]["message"]
