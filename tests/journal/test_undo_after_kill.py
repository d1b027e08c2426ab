"""A run killed with SIGKILL mid-way, then undone: every confirmed write is undone, nothing else.

The journal is flushed as each answer comes, so the killed run's journal lists what Graph
confirmed up to the kill; writes whose answer never reached the run are not in it and the undo
leaves them as they are.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from importer.pipeline.undo import undo_run
from importer.sandbox import RunningSandbox, SandboxConfig, start_sandbox
from tests.conftest import SANDBOX_WAIT_S, settled, start_import_process
from tests.importing import import_file, settings_for, skills_of, write_csv

PEOPLE = [f"user{n:03d}@contoso.com" for n in range(20)]
FIRST = [(user, f"Skill {s:02d}", "expert", "Work") for user in PEOPLE for s in range(6)]
#: Per person: three levels changed, two skills gone, five new ones (200 writes in all).
WRONG = [
    (user, f"Skill {s:02d}", "elementary" if s < 5 else "expert", "Work")
    for user in PEOPLE
    for s in range(2, 11)
]


@pytest.fixture
async def slow_sandbox() -> Any:
    users = [(f"00000000-0000-4000-8000-{n:012d}", PEOPLE[n]) for n in range(len(PEOPLE))]
    config = SandboxConfig(users=users)
    config.faults.latency_ms = 40
    async with await start_sandbox(config) as sandbox:
        yield sandbox


def _values(skill: dict[str, Any]) -> tuple[Any, ...]:
    return (
        skill.get("displayName"),
        skill.get("proficiency"),
        tuple(sorted(skill.get("categories") or [])),
        (skill.get("source") or {}).get("type"),
    )


async def _held(sandbox: RunningSandbox) -> dict[str, dict[str, dict[str, Any]]]:
    return {user: {s["id"]: s for s in await skills_of(sandbox, user)} for user in PEOPLE}


@pytest.mark.slow
async def test_undo_of_a_killed_run_undoes_every_confirmed_write_and_nothing_else(
    slow_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await import_file(slow_sandbox, tmp_path, write_csv(tmp_path / "first.csv", FIRST))
    base = slow_sandbox.stats.writes
    config = tmp_path / "config.yaml"
    config.write_text(
        f"target:\n  graph: {slow_sandbox.base_url}\n"
        f"report:\n  dir: {tmp_path / 'reports'}\n"
        "run:\n  max_delete_ratio: 1.0\n"
    )
    process = await start_import_process(
        config, write_csv(tmp_path / "wrong.csv", WRONG), "--mode", "sync"
    )
    try:
        async with asyncio.timeout(SANDBOX_WAIT_S):
            await slow_sandbox.wait_until(lambda s: s.writes >= base + 60)
    finally:
        process.kill()
    assert await process.wait() == -signal.SIGKILL
    await settled(slow_sandbox)
    assert slow_sandbox.stats.writes < base + 200  # it really died before the end
    killed = max((tmp_path / "reports").iterdir())
    lines = (killed / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines[1:] if line.endswith("}")]
    assert entries  # some writes were confirmed before the kill

    # What the undo must leave: the state at the kill with each confirmed write reverted.
    held = await _held(slow_sandbox)
    expected = {user: Counter(_values(s) for s in skills.values()) for user, skills in held.items()}
    for entry in entries:
        user = entry["userAsWritten"]
        if entry["action"] == "create":
            expected[user][_values(held[user][entry["skillId"]])] -= 1
        elif entry["action"] == "update":
            now = held[user][entry["skillId"]]
            expected[user][_values(now)] -= 1
            expected[user][_values({**now, **entry["before"]})] += 1
        else:
            expected[user][_values(entry["before"])] += 1

    undone = await undo_run(killed, settings_for(slow_sandbox, tmp_path))

    assert undone.exit_code == 0, undone.reason
    after = await _held(slow_sandbox)
    for user in PEOPLE:
        assert Counter(_values(s) for s in after[user].values()) == +expected[user], user
