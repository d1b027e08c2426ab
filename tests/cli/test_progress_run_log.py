"""On a terminal the live line shows progress; run.log still gets a progress line regularly."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from rich.console import Console

import importer.cli.progress
from importer.cli.console import setup_logging
from importer.cli.progress import run_with_progress
from importer.sandbox import RunningSandbox, SandboxConfig
from tests.conftest import BOB_UPN, SANDBOX_USERS
from tests.importing import settings_for, write_csv


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    config = SandboxConfig(users=SANDBOX_USERS)
    config.faults.latency_ms = 150  # a run long enough for a few progress lines
    return config


async def test_a_run_on_a_terminal_logs_its_progress_to_run_log_and_not_to_the_screen(
    running_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer.cli.progress, "TERMINAL_LOG_EVERY_S", 0.05)
    rows = [(BOB_UPN, f"Skill {n:02d}", "expert", "") for n in range(12)]
    path = write_csv(tmp_path / "skills.csv", rows)
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    settings = settings_for(running_sandbox, tmp_path, batch_size=1, concurrency=1)

    result = await run_with_progress([path], settings, False, None, console, quiet=False)

    assert result.exit_code == 0
    log = (result.report_dir / "run.log").read_text(encoding="utf-8")
    progress_lines = [line for line in log.splitlines() if " progress: " in line]
    assert len(progress_lines) >= 2
    assert any("writing" in line for line in progress_lines)
    assert "progress:" not in screen.getvalue()


def test_the_console_leaves_out_the_lines_meant_for_run_log_alone(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        setup_logging("text", quiet=False)
        logger = logging.getLogger("importer.progress")
        logger.info("progress: writing 3/12 rows", extra={"run_log_only": True})
        logger.info("a line for everyone")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    err = capsys.readouterr().err
    assert "a line for everyone" in err
    assert "writing 3/12" not in err
