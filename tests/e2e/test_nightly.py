"""What a scheduled nightly run relies on: sync ownership, guards, permissions, kill and rerun."""

from __future__ import annotations

import asyncio
import csv
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from importer.config import load_settings
from importer.pipeline import run_import
from importer.records import Action
from importer.sandbox import FIXED_TOKEN, RunningSandbox, SandboxConfig, start_sandbox
from importer.write.preflight import run_checks
from tests.conftest import (
    BOB_UPN,
    GUEST_UPN,
    ONEIL_UPN,
    ZOE_UPN,
    settled,
    start_import_process,
    wait_for_writes,
)
from tests.importing import import_file, results, settings_for, skills_of, write_csv

ROOT = Path(__file__).resolve().parents[2]


async def _add_by_hand(sandbox: RunningSandbox, user: str, name: str) -> None:
    """A skill the employee entered themselves (no source tag)."""
    from urllib.parse import quote

    url = f"{sandbox.base_url}/beta/users/{quote(user, safe='')}/profile/skills"
    headers = {"Authorization": f"Bearer {FIXED_TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json={"displayName": name}, headers=headers) as response,
    ):
        assert response.status == 201


async def _app_token(sandbox: RunningSandbox) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": "11111111-2222-3333-4444-555555555555",
        "client_secret": "sandbox",
        "scope": "https://graph.microsoft.com/.default",
    }
    url = f"{sandbox.base_url}/contoso.onmicrosoft.com/oauth2/v2.0/token"
    async with aiohttp.ClientSession() as session, session.post(url, data=form) as response:
        assert response.status == 200
        token: str = (await response.json())["access_token"]
    return token


def _names(skills: list[dict[str, Any]]) -> list[str]:
    return sorted(skill["displayName"] for skill in skills)


async def test_sync_deletes_exactly_the_owned_skills_missing_from_the_file(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    full = [(BOB_UPN, name, "expert", "") for name in ("Python", "Go", "Rust", "SQL")]
    await import_file(running_sandbox, tmp_path, write_csv(tmp_path / "all.csv", full))
    await _add_by_hand(running_sandbox, BOB_UPN, "Knitting")
    await _add_by_hand(running_sandbox, ZOE_UPN, "Cobol")  # a user absent from the file

    kept = write_csv(tmp_path / "kept.csv", full[:3])
    result = await import_file(running_sandbox, tmp_path, kept, mode="sync", max_delete_ratio=0.5)

    assert result.exit_code == 0, result.reason
    assert _names(await skills_of(running_sandbox, BOB_UPN)) == ["Go", "Knitting", "Python", "Rust"]
    assert _names(await skills_of(running_sandbox, ZOE_UPN)) == ["Cobol"]
    deleted = [row for row in results(result) if row["action"] == "deleted"]
    assert [(row["user"], row["displayName"]) for row in deleted] == [(BOB_UPN, "SQL")]


async def test_the_delete_guard_stops_an_over_large_sync_with_nothing_written(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    full = [(BOB_UPN, f"Skill {n}", "expert", "") for n in range(5)]
    await import_file(running_sandbox, tmp_path, write_csv(tmp_path / "all.csv", full))
    writes = running_sandbox.stats.writes
    shrunk = write_csv(tmp_path / "one.csv", [(BOB_UPN, "Skill 0", "elementary", "")])

    result = await import_file(running_sandbox, tmp_path, shrunk, mode="sync")

    assert result.exit_code == 3
    assert "max_delete_ratio" in result.reason
    assert "--allow-deletes 4" in result.reason
    assert running_sandbox.stats.writes == writes  # not even the PATCH was sent
    assert len(await skills_of(running_sandbox, BOB_UPN)) == 5
    lines = results(result)
    assert [(line["action"], line["errorType"]) for line in lines if line["row"] == "2"] == [
        ("not-sent", "not-sent")
    ]
    # What the guard stopped is listed, so the admin can judge it.
    assert sorted(line["displayName"] for line in lines if line["action"] == "would-delete") == [
        f"Skill {n}" for n in range(1, 5)
    ]


async def test_allow_deletes_lets_a_large_sync_through(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    full = [(BOB_UPN, f"Skill {n}", "expert", "") for n in range(5)]
    await import_file(running_sandbox, tmp_path, write_csv(tmp_path / "all.csv", full))
    shrunk = write_csv(tmp_path / "one.csv", [(BOB_UPN, "Skill 0", "expert", "")])
    settings = settings_for(running_sandbox, tmp_path, mode="sync")

    dry = await run_import([shrunk], settings, dry_run=True, allow_deletes=4)
    assert dry.counts[Action.WOULD_DELETE.value] == 4
    assert len(await skills_of(running_sandbox, BOB_UPN)) == 5

    result = await run_import([shrunk], settings, allow_deletes=4)
    assert result.exit_code == 0, result.reason
    assert result.counts[Action.DELETED.value] == 4
    assert _names(await skills_of(running_sandbox, BOB_UPN)) == ["Skill 0"]


async def test_app_only_writes_refused_for_the_first_users_stop_the_run_with_exit_3(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    rows = [(user, "Python", "expert", "") for user in (BOB_UPN, GUEST_UPN, ONEIL_UPN, ZOE_UPN)]
    token = await _app_token(running_sandbox)
    settings = load_settings(
        None,
        {
            "target": {"graph": running_sandbox.base_url},
            "auth": {"method": "token"},
            "report": {"dir": str(tmp_path / "reports")},
        },
        environ={"SKILLS_IMPORT_ACCESS_TOKEN": token},
    )
    result = await run_import([write_csv(tmp_path / "s.csv", rows)], settings)

    assert result.exit_code == 3
    assert "User.ReadWrite.All" in result.reason
    assert "application permissions" in result.reason
    assert running_sandbox.stats.writes == 0
    assert {row["action"] for row in results(result)} == {"failed"}
    assert token not in (result.report_dir / "results.csv").read_text(encoding="utf-8-sig")


async def test_check_reports_each_capability_with_and_without_write_permission(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    allowed = await run_checks(settings_for(running_sandbox, tmp_path), BOB_UPN, probe_enums=True)
    assert allowed.exit_code == 0
    assert all(step.ok for step in allowed.results)
    assert await skills_of(running_sandbox, BOB_UPN) == []  # the canary cleaned up after itself

    token = await _app_token(running_sandbox)
    settings = load_settings(
        None,
        {"target": {"graph": running_sandbox.base_url}, "auth": {"method": "token"}},
        environ={"SKILLS_IMPORT_ACCESS_TOKEN": token},
    )
    refused = await run_checks(settings, BOB_UPN)
    verdicts = {step.name: step.ok for step in refused.results}
    assert verdicts["read user's skills"] is True
    assert verdicts["create canary skill"] is False
    assert verdicts["delete canary"] is None
    create = next(step for step in refused.results if step.name == "create canary skill")
    assert "403" in create.detail
    assert "application permissions" in create.advice
    assert refused.exit_code == 1


def _rows(users: int, skills: int) -> list[tuple[str, str, str, str]]:
    return [
        (f"user{u:03d}@contoso.com", f"Skill {s:02d}", "expert", "")
        for u in range(users)
        for s in range(skills)
    ]


def _only_report(tmp_path: Path) -> tuple[Path, list[dict[str, str]]]:
    """The one report folder a subprocess run left under tmp_path, and its results.csv rows."""
    [report] = list((tmp_path / "reports").glob("2*"))
    with (report / "results.csv").open(encoding="utf-8-sig", newline="") as handle:
        return report, list(csv.DictReader(handle))


def _config_file(sandbox: RunningSandbox, tmp_path: Path) -> Path:
    """A config file for a subprocess run against ``sandbox``, reports under tmp_path."""
    config = tmp_path / "config.yaml"
    config.write_text(
        f"target:\n  graph: {sandbox.base_url}\nreport:\n  dir: {tmp_path / 'reports'}\n"
    )
    return config


@pytest.fixture
async def slow_sandbox() -> Any:
    users = [(f"00000000-0000-4000-8000-{n:012d}", f"user{n:03d}@contoso.com") for n in range(30)]
    config = SandboxConfig(users=users)
    config.faults.latency_ms = 40
    async with await start_sandbox(config) as sandbox:
        yield sandbox


@pytest.mark.slow
async def test_a_run_killed_with_sigkill_then_rerun_converges_with_no_duplicate(
    slow_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    rows = _rows(30, 8)
    csv_file = write_csv(tmp_path / "s.csv", rows)
    config = _config_file(slow_sandbox, tmp_path)
    process = await start_import_process(config, csv_file)
    await wait_for_writes(slow_sandbox, 40)
    process.kill()
    assert await process.wait() == -signal.SIGKILL
    assert slow_sandbox.stats.writes < len(rows)  # it really died mid-way

    settings = settings_for(slow_sandbox, tmp_path)
    rerun = await run_import([csv_file], settings)

    assert rerun.exit_code == 0, rerun.reason
    lines = results(rerun)
    assert Counter(row["row"] for row in lines) == Counter(str(n) for n in range(2, len(rows) + 2))
    assert {row["action"] for row in lines} == {"created", "unchanged"}
    assert slow_sandbox.stats_view()["duplicates"] == {}
    assert slow_sandbox.stats_view()["skills_total"] == len(rows)


@pytest.mark.slow
async def test_sigterm_stops_sending_writes_the_report_and_exits_130(
    slow_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    rows = _rows(30, 8)
    csv_file = write_csv(tmp_path / "s.csv", rows)
    config = _config_file(slow_sandbox, tmp_path)
    process = await start_import_process(config, csv_file)
    await wait_for_writes(slow_sandbox, 20)
    process.send_signal(signal.SIGTERM)
    code = await process.wait()
    writes_at_exit = slow_sandbox.stats.writes
    await settled(slow_sandbox)

    assert code == 130
    assert slow_sandbox.stats.writes == writes_at_exit  # nothing more was sent
    report, lines = _only_report(tmp_path)
    assert len(lines) == len(rows)
    actions = Counter(line["action"] for line in lines)
    assert actions["created"] == slow_sandbox.stats_view()["skills_total"]
    assert actions["created"] + actions["not-sent"] == len(rows)
    assert {line["errorType"] for line in lines if line["action"] == "not-sent"} == {"not-sent"}
    assert (report / "summary.json").is_file()


@pytest.mark.slow
async def test_sigterm_during_a_long_retry_after_ends_the_run_at_once_with_its_report(
    slow_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    rows = _rows(30, 8)
    csv_file = write_csv(tmp_path / "s.csv", rows)
    process = await start_import_process(_config_file(slow_sandbox, tmp_path), csv_file)
    await wait_for_writes(slow_sandbox, 10)
    # From now on Graph asks every batch to wait five minutes (within the 600 s cap).
    slow_sandbox.faults.batch_status, slow_sandbox.faults.batch_retry_after = 429, "300"
    await slow_sandbox.wait_until(lambda s: s.requests_by_method_status["$batch 429"] >= 1)
    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(60):  # a backstop far below the 300 s the run was told to wait
        code = await process.wait()
    await settled(slow_sandbox)

    assert code == 130
    report, lines = _only_report(tmp_path)
    assert len(lines) == len(rows)
    actions = Counter(line["action"] for line in lines)
    # What Graph answered is reported as answered: every stored skill is a created row.
    assert actions["created"] == slow_sandbox.stats_view()["skills_total"]
    assert actions["created"] + actions["not-sent"] + actions["failed"] == len(rows)
    assert (report / "summary.json").is_file()


@pytest.mark.slow
async def test_two_overlapping_runs_one_writes_and_the_other_exits_4(
    slow_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    csv_file = write_csv(tmp_path / "s.csv", _rows(20, 6))
    slow_sandbox.faults.latency_ms = 300  # the first run lasts a few seconds
    config = _config_file(slow_sandbox, tmp_path)
    first = await start_import_process(config, csv_file)
    await wait_for_writes(slow_sandbox, 1)
    slow_sandbox.hold()  # the first run stays busy, however slowly the second one starts
    try:
        second = await start_import_process(config, csv_file)
        _, second_err = await second.communicate()
    finally:
        slow_sandbox.release()

    assert await second.wait() == 4
    assert b"another run holds the lock" in second_err
    assert f"pid {first.pid}".encode() in second_err
    assert await first.wait() == 0
    assert slow_sandbox.stats_view()["skills_total"] == 120


async def test_the_report_folder_has_run_log_and_a_summary_for_monitoring(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    import json

    path = write_csv(tmp_path / "s.csv", [(BOB_UPN, "Python", "expert", "")])
    result = await import_file(running_sandbox, tmp_path, path)

    log = (result.report_dir / "run.log").read_text(encoding="utf-8")
    assert "read and validated 1 rows" in log
    summary = json.loads((result.report_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["exit_code"] == 0
    assert summary["reason"]
    assert summary["counts"]["created"] == 1
    assert summary["duration_s"] >= 0
    assert {"requests", "batches", "throttled", "retries"} <= set(summary["http"])
