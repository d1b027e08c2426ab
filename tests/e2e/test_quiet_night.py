"""A nightly run as a scheduler sees it: no terminal, a throttling Graph, and run.log to read.

The run logs its progress at least every 10 seconds and summarises the throttling in a few
lines, however many times Graph asks it to wait; a leaver is skipped without turning the
night red.
"""

from __future__ import annotations

import itertools
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from importer.sandbox import RunningSandbox, SandboxConfig, start_sandbox
from tests.conftest import BOB_UPN, SANDBOX_USERS, start_import_process
from tests.importing import import_file, results, write_csv

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


@pytest.fixture
async def throttling_sandbox() -> Any:
    """20 users and a Graph that admits 15 requests a second, 10 at once (then 429)."""
    users = [(f"00000000-0000-4000-8000-{n:012d}", f"user{n:03d}@contoso.com") for n in range(20)]
    config = SandboxConfig(users=users)
    config.faults.throttle_rps = 15
    config.faults.throttle_burst = 10
    async with await start_sandbox(config) as sandbox:
        yield sandbox


def _when(line: str) -> datetime:
    found = _STAMP.match(line)
    assert found is not None, line
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S,%f")


@pytest.mark.slow
async def test_a_throttled_run_without_a_terminal_logs_progress_and_summarises_throttling(
    throttling_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    rows = [
        (f"user{u:03d}@contoso.com", f"Skill {s:02d}", "4", "")
        for u in range(20)
        for s in range(10)
    ]
    csv_file = write_csv(tmp_path / "s.csv", rows)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"target:\n  graph: {throttling_sandbox.base_url}\nreport:\n  dir: {tmp_path / 'reports'}\n"
    )
    process = await start_import_process(config, csv_file)
    _, stderr = await process.communicate()

    assert process.returncode == 0, stderr.decode()
    [report] = list((tmp_path / "reports").glob("2*"))
    log = (report / "run.log").read_text("utf-8").splitlines()
    summary = json.loads((report / "summary.json").read_text("utf-8"))
    assert summary["http"]["throttled"] >= 3  # Graph asked to wait several times

    # Progress: a line at least every 10 s, from the first line of the log to the last.
    stamps = [_when(line) for line in log]
    progress = [when for when, line in zip(stamps, log, strict=True) if "progress: " in line]
    assert len(progress) >= 2
    moments = [stamps[0], *progress, stamps[-1]]
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(moments)]
    assert max(gaps) <= 10, gaps
    assert any("writing " in line and "/200 rows" in line for line in log if "progress: " in line)

    # Throttling: the first wait, at most a line a minute, and the totals, never one per wait.
    throttle_lines = [line for line in log if " importer.graph.throttle_log " in line]
    firsts = [line for line in throttle_lines if "Graph is throttling: asked to wait" in line]
    totals = [line for line in throttle_lines if "throttling over the run: waited" in line]
    assert len(firsts) == 1
    assert len(totals) == 1
    minutes = (stamps[-1] - stamps[0]).total_seconds() / 60
    assert len(throttle_lines) <= 2 + int(minutes) + 1
    assert "Graph asked to wait" not in "\n".join(log)
    assert summary["throttling"]["waits"] >= 1
    assert summary["throttling"]["waited_s"] > 0
    assert summary["throttling"]["accepted_rate"] is not None


async def test_with_unknown_users_skip_a_leaver_is_skipped_and_the_night_is_green(
    tmp_path: Path,
) -> None:
    config = SandboxConfig(users=SANDBOX_USERS)
    async with await start_sandbox(config) as sandbox:
        rows = [(BOB_UPN, "Go", "4", ""), ("left.last.year@contoso.com", "Go", "4", "")]
        path = write_csv(tmp_path / "s.csv", rows)

        result = await import_file(sandbox, tmp_path, path, unknown_users="skip")

    assert result.exit_code == 0, result.reason
    lines = {line["user"]: line for line in results(result)}
    leaver = lines["left.last.year@contoso.com"]
    assert (leaver["action"], leaver["errorType"]) == ("skipped", "user-not-found")
    assert lines[BOB_UPN]["action"] == "created"
