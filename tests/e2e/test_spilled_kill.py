"""A run whose rows are held on disk (a chunk of people at a time), killed with SIGKILL.

Whatever point the kill lands on (people being resolved, the first chunk being written, a
later one), nothing is left in the temporary folder, and a rerun converges: every row once,
every skill exactly once on its profile.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from importer.pipeline import run_import
from importer.sandbox import RunningSandbox, SandboxConfig, SandboxStats, start_sandbox
from tests.conftest import SANDBOX_WAIT_S, start_import_process
from tests.importing import results, settings_for, write_csv

USERS = 30
SKILLS = 8
#: Sorted by skill, not by person: every person's rows are spread over the whole file, so the
#: run must hold them (on disk) before planning anyone.
ROWS = [
    (f"user{u:03d}@contoso.com", f"Skill {s:02d}", "expert", "Work")
    for s in range(SKILLS)
    for u in range(USERS)
]
#: 240 rows in chunks of about 40: six chunks.
ROWS_PER_CHUNK = 40


@pytest.fixture
async def slow_sandbox() -> Any:
    users = [
        (f"00000000-0000-4000-8000-{n:012d}", f"user{n:03d}@contoso.com") for n in range(USERS)
    ]
    config = SandboxConfig(users=users)
    config.faults.latency_ms = 40
    async with await start_sandbox(config) as sandbox:
        yield sandbox


KILL_POINTS: dict[str, Callable[[SandboxStats], bool]] = {
    "while resolving people": lambda s: s.directory_reads >= 1,
    "while writing the first chunk": lambda s: s.writes >= 5,
    "while writing a later chunk": lambda s: s.writes >= 4 * ROWS_PER_CHUNK,
}


@pytest.mark.slow
@pytest.mark.parametrize("when", list(KILL_POINTS))
async def test_a_spilled_run_killed_anywhere_leaves_nothing_and_the_rerun_converges(
    slow_sandbox: RunningSandbox, tmp_path: Path, when: str
) -> None:
    csv_file = write_csv(tmp_path / "skills.csv", ROWS)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"target:\n  graph: {slow_sandbox.base_url}\n"
        f"report:\n  dir: {tmp_path / 'reports'}\n"
        f"run:\n  rows_per_chunk: {ROWS_PER_CHUNK}\n"
    )
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "SQLITE_TMPDIR": str(scratch)}
    process = await start_import_process(config, csv_file, env=env)
    try:
        async with asyncio.timeout(SANDBOX_WAIT_S):
            await slow_sandbox.wait_until(KILL_POINTS[when])
    finally:
        process.kill()
    assert await process.wait() == -signal.SIGKILL
    assert slow_sandbox.stats.writes < len(ROWS)  # it really died before the end

    # The rows it held on disk went with it: nothing for a rerun to trip over.
    assert list(scratch.iterdir()) == []

    settings = settings_for(slow_sandbox, tmp_path, rows_per_chunk=ROWS_PER_CHUNK)
    rerun = await run_import([csv_file], settings)

    assert rerun.exit_code == 0, rerun.reason
    lines = results(rerun)
    assert Counter(row["row"] for row in lines) == Counter(str(n) for n in range(2, len(ROWS) + 2))
    assert {row["action"] for row in lines} <= {"created", "unchanged"}
    view = slow_sandbox.stats_view()
    assert view["duplicates"] == {}
    assert view["skills_total"] == len(ROWS)
