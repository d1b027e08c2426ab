"""A run keeping the confirmed state, killed with SIGKILL mid-write, then run again.

The state may only ever claim what landed: after the kill, every person it vouches for holds
every skill of theirs in the sandbox; the rerun skips exactly such people, writes the rest,
and ends with each skill once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import platformdirs
import pytest

from importer.pipeline import run_import
from importer.sandbox import RunningSandbox, SandboxConfig, start_sandbox
from tests.conftest import SANDBOX_WAIT_S, start_import_process
from tests.importing import results, settings_for, skills_of, write_csv

USERS = 30
SKILLS = 8
ROWS = [
    (f"user{u:03d}@contoso.com", f"Skill {s:02d}", "expert", "Work")
    for u in range(USERS)
    for s in range(SKILLS)
]
#: Five people a chunk: the state is committed after each chunk's writes.
ROWS_PER_CHUNK = 40


@pytest.fixture
async def slow_sandbox() -> AsyncIterator[RunningSandbox]:
    users = [
        (f"00000000-0000-4000-8000-{n:012d}", f"user{n:03d}@contoso.com") for n in range(USERS)
    ]
    config = SandboxConfig(users=users)
    config.faults.latency_ms = 40
    async with await start_sandbox(config) as sandbox:
        yield sandbox


def _vouched_for() -> list[str]:
    """The people (object ids) the state file says Graph confirmed."""
    folder = Path(platformdirs.user_state_dir("skills-import", appauthor=False)) / "state"
    [path] = list(folder.glob("*.sqlite"))
    with contextlib.closing(sqlite3.connect(path)) as db:
        return [row[0] for row in db.execute("SELECT person FROM people WHERE digest != ''")]


@pytest.mark.slow
async def test_a_run_killed_mid_write_never_leaves_the_state_claiming_what_did_not_land(
    slow_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    csv_file = write_csv(tmp_path / "skills.csv", ROWS)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"target:\n  graph: {slow_sandbox.base_url}\n"
        f"report:\n  dir: {tmp_path / 'reports'}\n"
        f"run:\n  rows_per_chunk: {ROWS_PER_CHUNK}\n"
    )
    process = await start_import_process(config, csv_file)
    try:
        async with asyncio.timeout(SANDBOX_WAIT_S):
            await slow_sandbox.wait_until(lambda s: s.writes >= 4 * ROWS_PER_CHUNK)
    finally:
        process.kill()
    assert await process.wait() == -signal.SIGKILL
    assert slow_sandbox.stats.writes < len(ROWS)  # it really died mid-way

    vouched = _vouched_for()
    assert vouched, "no chunk was confirmed before the kill: the test proves nothing"
    for person in vouched:
        assert len(await skills_of(slow_sandbox, person)) == SKILLS, person

    settings = settings_for(slow_sandbox, tmp_path, rows_per_chunk=ROWS_PER_CHUNK)
    rerun = await run_import([csv_file], settings)

    assert rerun.exit_code == 0, rerun.reason
    lines = results(rerun)
    assert Counter(row["row"] for row in lines) == Counter(str(n) for n in range(2, len(ROWS) + 2))
    skipped = {row["userId"] for row in lines if row["changes"].startswith("not listed")}
    # Exactly the people it vouched for are skipped (verified today: not due again).
    assert skipped == set(vouched)
    view = slow_sandbox.stats_view()
    assert view["duplicates"] == {}
    assert view["skills_total"] == len(ROWS)
