"""``export`` against the sandbox: what Graph holds, in run's columns; fed back, zero writes."""

from __future__ import annotations

import asyncio
import csv
import signal
import sys
from pathlib import Path

import pytest

from importer.errors import DirectoryAccessError, LockError
from importer.lock import RunLock
from importer.pipeline.export import export_skills
from importer.sandbox import RunningSandbox, SandboxConfig, start_sandbox
from tests.conftest import (
    BOB_UPN,
    GUEST_UPN,
    ONEIL_UPN,
    ROOT,
    SANDBOX_WAIT_S,
    ZOE_UPN,
    invoke_cli,
)
from tests.importing import import_file, post_skill, results, settings_for, skills_of, write_csv

ROWS = [
    (BOB_UPN, "Python", "expert", "Professional"),
    (BOB_UPN, "Go", "3", "Professional; Cloud"),
    (GUEST_UPN, "Python", "advancedProfessional", ""),
    (ONEIL_UPN, "Knitting", "beginner", "Hobby"),
]


def read_export(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


async def filled(sandbox: RunningSandbox, tmp_path: Path) -> None:
    """Skills this tool wrote, and one a person entered (no tag, a web link and tags)."""
    await import_file(sandbox, tmp_path, write_csv(tmp_path / "in.csv", ROWS))
    await post_skill(
        sandbox,
        ZOE_UPN,
        {
            "displayName": "Negotiation",
            "proficiency": "limitedWorking",
            "collaborationTags": ["askMeAbout", "ableToMentor"],
            "webUrl": "https://wiki.contoso.com/negotiation",
        },
    )


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
async def test_an_export_fed_back_to_run_sends_zero_writes(
    running_sandbox: RunningSandbox, tmp_path: Path, suffix: str
) -> None:
    await filled(running_sandbox, tmp_path)
    settings = settings_for(running_sandbox, tmp_path)
    output = tmp_path / f"skills{suffix}"

    exported = await export_skills(settings, output)

    assert exported.exit_code == 0, exported.warnings
    assert exported.skills == len(ROWS) + 1
    assert exported.people == 4
    writes = running_sandbox.stats.writes
    rerun = await import_file(running_sandbox, tmp_path, output)
    assert rerun.exit_code == 0, rerun.reason
    assert running_sandbox.stats.writes == writes
    assert {row["action"] for row in results(rerun)} == {"unchanged"}


async def test_the_export_says_each_skills_id_and_whether_this_tool_wrote_it(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await filled(running_sandbox, tmp_path)
    output = tmp_path / "skills.csv"

    await export_skills(settings_for(running_sandbox, tmp_path), output)

    rows = {(r["user"], r["displayName"]): r for r in read_export(output)}
    held = {s["displayName"]: s["id"] for s in await skills_of(running_sandbox, BOB_UPN)}
    assert rows[(BOB_UPN, "Go")]["skillId"] == held["Go"]
    assert rows[(BOB_UPN, "Go")]["sourceTagged"] == "yes"
    assert rows[(BOB_UPN, "Go")]["proficiency"] == "generalProfessional"
    assert rows[(BOB_UPN, "Go")]["categories"] == "Professional; Cloud"
    negotiation = rows[(ZOE_UPN, "Negotiation")]
    assert negotiation["sourceTagged"] == "no"
    assert negotiation["webUrl"] == "https://wiki.contoso.com/negotiation"
    assert negotiation["collaborationTags"] == "askMeAbout; ableToMentor"


async def test_users_from_a_file_are_resolved_and_the_unknown_one_is_named(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await filled(running_sandbox, tmp_path)
    users = tmp_path / "people.csv"
    users.write_text(f"user\n{BOB_UPN}\nnobody@contoso.com\n{BOB_UPN}\n", encoding="utf-8")
    output = tmp_path / "bob.csv"

    exported = await export_skills(
        settings_for(running_sandbox, tmp_path), output, users_file=users
    )

    assert exported.exit_code == 1
    assert exported.people == 1
    assert len(exported.warnings) == 1
    assert "nobody@contoso.com" in exported.warnings[0]
    assert {r["displayName"] for r in read_export(output)} == {"Python", "Go"}


def test_export_needs_users_or_all_exit_2(tmp_path: Path) -> None:
    code, _, err = invoke_cli("export", "-o", str(tmp_path / "x.csv"))
    assert code == 2
    assert "--users FILE or --all" in err


async def test_export_under_503s_and_throttling_still_writes_every_skill_once(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await filled(running_sandbox, tmp_path)
    faults = running_sandbox.faults
    faults.seed = 5
    faults.error_503_rate = 0.2
    faults.throttle_rps = 20
    output = tmp_path / "skills.csv"

    exported = await export_skills(settings_for(running_sandbox, tmp_path), output)

    assert exported.exit_code == 0, exported.warnings
    rows = read_export(output)
    assert len(rows) == len(ROWS) + 1
    assert len({(r["user"], r["skillId"]) for r in rows}) == len(rows)
    answered = running_sandbox.stats.requests_by_method_status
    assert sum(n for key, n in answered.items() if key.endswith(" 503")) > 0
    assert running_sandbox.stats.throttled > 0


@pytest.mark.slow
async def test_sigterm_stops_an_export_with_exit_130_and_leaves_no_file(tmp_path: Path) -> None:
    people = [(f"00000000-0000-4000-8000-{n:012d}", f"user{n:04d}@contoso.com") for n in range(400)]
    config = SandboxConfig(users=people)
    config.faults.latency_ms = 40
    output = tmp_path / "everyone.csv"
    async with await start_sandbox(config) as sandbox:
        settings = tmp_path / "config.yaml"
        settings.write_text(f"target:\n  graph: {sandbox.base_url}\n", encoding="utf-8")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "importer", "export", "--all", "-o", str(output), "-c", str(settings)),
            *("--quiet", "--target", sandbox.base_url),
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(SANDBOX_WAIT_S):
                await sandbox.wait_until(lambda s: s.graph_requests >= 40)
        finally:
            process.send_signal(signal.SIGTERM)
        assert await process.wait() == 130
    assert not output.exists()
    assert not output.with_name("everyone.csv.partial").exists()


async def test_a_directory_that_refuses_to_be_read_stops_the_export_with_exit_3(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    running_sandbox.faults.deny_directory_reads = True
    output = tmp_path / "skills.csv"

    with pytest.raises(DirectoryAccessError) as refused:
        await export_skills(settings_for(running_sandbox, tmp_path), output)

    assert refused.value.exit_code == 3
    assert "User.Read.All" in str(refused.value)
    assert not output.exists()


async def test_an_export_while_a_run_holds_the_lock_is_exit_4_and_writes_nothing(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    settings = settings_for(running_sandbox, tmp_path)
    output = tmp_path / "skills.csv"
    with RunLock.for_settings(settings), pytest.raises(LockError) as refused:
        await export_skills(settings, output)
    assert refused.value.exit_code == 4
    assert not output.exists()
