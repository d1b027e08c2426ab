"""Graph that answers slowly: creates that commit after the client gave up, listings that time
out. The run leaves no duplicate, or says exit 1 and names every person it could not check; the
next run, in any mode, removes what is left.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from importer.pipeline import RunResult
from importer.sandbox import FaultConfig, RunningSandbox, SandboxConfig, start_sandbox
from tests.conftest import BOB_UPN, SANDBOX_WAIT_S
from tests.importing import import_file, results, skills_of, write_csv

PEOPLE = [(str(uuid.UUID(int=n + 1)), f"person{n:03d}@contoso.com") for n in range(100)]


async def _all_landed(sandbox: RunningSandbox) -> None:
    async with asyncio.timeout(SANDBOX_WAIT_S):
        await sandbox.wait_until(lambda stats: stats.late_commits_pending == 0)


def _summary(result: RunResult) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((result.report_dir / "summary.json").read_text())
    return document


@pytest.mark.slow
@pytest.mark.timeout(300)  # about a minute alone; the timeouts make it slower on a busy machine
async def test_late_commits_and_slow_listings_leave_no_duplicate_or_name_every_person(
    tmp_path: Path,
) -> None:
    # A slow-commit night, a third of the time scale: every create is stored 0.36-0.96 s after it
    # arrives and answered only then, the client gives up after 0.3 s, and every request takes
    # 0.21-0.39 s, so listings and deletes time out too.
    faults = FaultConfig(
        seed=23,
        late_commit_rate=1,
        late_commit_ms=660,
        late_commit_jitter_ms=300,
        late_commit_answer="with-commit",
        latency_ms=300,
        jitter_ms=90,
    )
    rows = [(upn, f"Skill {n}", "expert", "") for _id, upn in PEOPLE for n in range(10)]

    async with await start_sandbox(SandboxConfig(users=PEOPLE, faults=faults)) as sandbox:
        result = await import_file(
            sandbox,
            tmp_path,
            write_csv(tmp_path / "s.csv", rows),
            request_timeout_s=0.3,
            max_retry_wait_s=5,
        )
        await _all_landed(sandbox)
        duplicated = set(sandbox.stats_view()["duplicates"])
        wrong_ids = sandbox.stats.deletes_of_unknown

    lines = results(result)
    assert len(lines) == len(rows)  # every row once
    flagged = {line["user"] for line in lines if line["errorType"] == "unverified-duplicates"}
    assert duplicated <= flagged  # every person left with a copy too many is named
    if duplicated or flagged:
        assert result.exit_code == 1, result.reason
    assert wrong_ids == 0  # every delete named a copy the listing showed
    sweep = _summary(result)["sweep"]
    assert sweep["people"] > 0
    assert sweep["unverified"] == len(flagged)
    assert sweep["removed"] > 0  # the late copies were there, and most were removed


@pytest.mark.parametrize("mode", ["create", "upsert", "sync"])
async def test_the_next_run_in_any_mode_removes_the_copies_a_run_could_not_check(
    running_sandbox: RunningSandbox, tmp_path: Path, mode: str
) -> None:
    faults = running_sandbox.faults
    # With this seed the first create is stored and answered 504, its retry answered 201;
    # listings leave out the first copy, then the second, for a minute: nothing can be checked.
    faults.seed, faults.commit_then_504_rate, faults.listing_lag_ms = 1, 0.5, 60_000
    source = write_csv(tmp_path / "s.csv", [(BOB_UPN, "Python", "expert", "")])

    first = await import_file(running_sandbox, tmp_path, source, batch_size=1, max_retry_wait_s=1)

    [row] = results(first)
    assert (first.exit_code, row["action"], row["errorType"]) == (
        1,
        "failed",
        "unverified-duplicates",
    )
    assert "Python" in running_sandbox.stats_view()["duplicates"][BOB_UPN]
    assert any(BOB_UPN in warning and "could not check" in warning for warning in first.warnings)

    faults.commit_then_504_rate, faults.listing_lag_ms = 0, 0
    second = await import_file(running_sandbox, tmp_path, source, mode=mode)

    assert second.exit_code == 0, second.reason
    assert running_sandbox.stats_view()["duplicates"] == {}
    assert [s["displayName"] for s in await skills_of(running_sandbox, BOB_UPN)] == ["Python"]
    actions = Counter(line["action"] for line in results(second))
    assert actions == {"unchanged": 1, "deleted": 1}  # the row, and the extra copy removed
    assert _summary(second)["state"]["skipped"] == 0  # the confirmed state did not skip Bob
