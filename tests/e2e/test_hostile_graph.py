"""Runs against a sandbox that misbehaves the way real services and servers do.

Each test switches on one fault of the sandbox, runs a real import through the client and the
dispatcher, and checks what an HR admin would see: the run ends on its own, every row is
reported, nothing is written twice and nothing goes where it should not.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from importer.config import load_settings
from importer.errors import AuthError
from importer.pipeline.run import run_import
from importer.sandbox import RunningSandbox, SandboxConfig, start_sandbox
from tests.conftest import BOB_UPN, GUEST_UPN, ONEIL_UPN, SANDBOX_USERS, ZOE_UPN
from tests.importing import import_file, results, settings_for, write_csv

USERS = [BOB_UPN, GUEST_UPN, ONEIL_UPN, ZOE_UPN]


def _rows(per_user: int) -> list[tuple[str, str, str, str]]:
    return [(user, f"Skill {n:02d}", "expert", "") for user in USERS for n in range(per_user)]


def _actions(result: Any) -> Counter[tuple[str, str]]:
    return Counter((line["action"], line["errorType"]) for line in results(result))


# --- every wait is capped -----------------------------------------------------------------


def _http_date(seconds: int) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


@pytest.mark.parametrize(
    ("status", "retry_after"), [(429, "3600"), (503, "3600"), (429, _http_date(7200))]
)
async def test_a_whole_batch_refused_with_a_retry_after_beyond_the_cap_fails_at_once(
    running_sandbox: RunningSandbox, tmp_path: Path, status: int, retry_after: str
) -> None:
    running_sandbox.faults.batch_status = status
    running_sandbox.faults.batch_retry_after = retry_after
    rows = _rows(3)

    result = await import_file(running_sandbox, tmp_path, write_csv(tmp_path / "s.csv", rows))

    assert result.exit_code == 1
    # The first stage to meet the refusal (resolving users, here) fails every row with it.
    assert Counter(line["action"] for line in results(result)) == {"failed": len(rows)}
    line = results(result)[0]
    assert "more than run.max_retry_wait_s (600 s)" in line["error"]
    # One batch asked for the hour; nothing else was sent inside that window.
    assert running_sandbox.stats.batches == 1
    assert running_sandbox.stats.writes == 0


async def test_a_retry_after_within_the_cap_is_waited_for_and_the_run_completes(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    faults = running_sandbox.faults
    faults.batch_status, faults.batch_retry_after, faults.spoil_limit = 429, "1", 1
    rows = _rows(2)

    result = await import_file(running_sandbox, tmp_path, write_csv(tmp_path / "s.csv", rows))

    assert result.exit_code == 0, result.reason
    assert _actions(result) == {("created", ""): len(rows)}
    assert running_sandbox.stats.spoiled == 1


# --- a listing that is not what Graph documents is an error, never "empty" ------------------


@pytest.mark.parametrize("answer", ["not-json", "no-value"])
@pytest.mark.parametrize("batch_size", [20, 1])
async def test_an_unreadable_listing_fails_the_rows_and_writes_nothing(
    running_sandbox: RunningSandbox, tmp_path: Path, answer: str, batch_size: int
) -> None:
    path = write_csv(tmp_path / "s.csv", _rows(2))
    await import_file(running_sandbox, tmp_path, path, batch_size=batch_size)
    writes = running_sandbox.stats.writes
    running_sandbox.faults.listing_answer = answer

    # delta off: the rerun lists everyone (a rerun with the state would list nobody).
    rerun = await import_file(
        running_sandbox, tmp_path, path, batch_size=batch_size, max_attempts=2, delta="off"
    )

    assert rerun.exit_code == 1
    assert _actions(rerun) == {("failed", "unreadable-answer"): 8}
    assert running_sandbox.stats.writes == writes  # never read as "no skills": no duplicate
    assert running_sandbox.stats_view()["duplicates"] == {}
    assert running_sandbox.stats.spoiled >= 8  # every user's listing was retried


async def test_an_unreadable_listing_is_retried_and_the_retry_counts(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "s.csv", _rows(2))
    await import_file(running_sandbox, tmp_path, path)
    running_sandbox.faults.listing_answer = "not-json"
    running_sandbox.faults.spoil_limit = 2

    rerun = await import_file(running_sandbox, tmp_path, path)

    assert rerun.exit_code == 0, rerun.reason
    assert _actions(rerun) == {("unchanged", ""): 8}


async def test_a_batch_answer_nested_too_deep_for_json_is_reconciled_not_fatal(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    running_sandbox.faults.deep_json_depth = 200_000
    running_sandbox.faults.spoil_limit = 3
    rows = _rows(3)

    result = await import_file(running_sandbox, tmp_path, write_csv(tmp_path / "s.csv", rows))

    assert result.exit_code == 0, result.reason
    assert _actions(result) == {("created", ""): len(rows)}
    assert running_sandbox.stats.spoiled == 3
    assert running_sandbox.stats_view()["duplicates"] == {}
    assert running_sandbox.stats_view()["skills_total"] == len(rows)


# --- redirects are not followed ---------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [20, 1])
async def test_a_redirect_to_another_host_is_refused_and_nothing_reaches_it(
    running_sandbox: RunningSandbox, tmp_path: Path, batch_size: int
) -> None:
    async with await start_sandbox(SandboxConfig(users=SANDBOX_USERS)) as elsewhere:
        running_sandbox.faults.redirect_to = f"{elsewhere.base_url}/beta/$batch"
        rows = _rows(1)
        result = await import_file(
            running_sandbox,
            tmp_path,
            write_csv(tmp_path / "s.csv", rows),
            batch_size=batch_size,
        )
        assert elsewhere.stats.batches == 0
        assert elsewhere.stats.graph_requests == 0

    assert result.exit_code == 1
    assert Counter(line["action"] for line in results(result)) == {"failed": len(rows)}
    assert "never followed" in results(result)[0]["error"]


# --- odd @odata.nextLinks -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "why"),
    [
        ("{base}\\@evil.example/beta/users/x/profile/skills?$skiptoken=a", "backslash"),
        ("{base}/beta/users/x/profile/skills?$skiptoken=a\\b", "backslash"),
        ("https://evil.example/beta/users/x/profile/skills", "another host"),
    ],
)
async def test_a_next_link_that_is_refused_fails_the_user_with_its_own_error_type(
    tmp_path: Path, link: str, why: str
) -> None:
    async with await start_sandbox(SandboxConfig(users=SANDBOX_USERS, page_size=2)) as sandbox:
        path = write_csv(
            tmp_path / "s.csv", [(BOB_UPN, f"Skill {n}", "expert", "") for n in range(3)]
        )
        await import_file(sandbox, tmp_path, path)
        writes = sandbox.stats.writes
        sandbox.faults.next_link = link.format(base=sandbox.base_url)

        rerun = await import_file(sandbox, tmp_path, path, delta="off")

        assert sandbox.stats.writes == writes
    assert rerun.exit_code == 1
    assert _actions(rerun) == {("failed", "next-link-refused"): 3}
    assert why in results(rerun)[0]["error"]
    assert (rerun.report_dir / "summary.json").is_file()


# --- tokens ---------------------------------------------------------------------------------


def _token_settings(sandbox: RunningSandbox, tmp_path: Path, token: str, **run: Any) -> Any:
    config = tmp_path / "config.yaml"
    config.write_text("", encoding="utf-8")
    overrides: dict[str, Any] = {
        "target": {"graph": sandbox.base_url},
        "report": {"dir": str(tmp_path / "reports")},
        "auth": {"method": "token"},
    }
    if run:
        overrides["run"] = run
    return load_settings(config, overrides, environ={"SKILLS_IMPORT_ACCESS_TOKEN": token})


async def test_a_token_with_a_windows_line_end_is_stripped_and_the_run_imports(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    rows = _rows(1)
    settings = _token_settings(running_sandbox, tmp_path, "sandbox\r\n")

    result = await run_import([write_csv(tmp_path / "s.csv", rows)], settings)

    assert result.exit_code == 0, result.reason
    assert _actions(result) == {("created", ""): len(rows)}


async def test_a_token_with_a_control_character_inside_is_refused_before_sending(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    settings = _token_settings(running_sandbox, tmp_path, "sand\rbox")

    with pytest.raises(AuthError) as caught:
        await run_import([write_csv(tmp_path / "s.csv", _rows(1))], settings)

    assert "SKILLS_IMPORT_ACCESS_TOKEN" in str(caught.value)
    assert "U+000D" in str(caught.value)
    assert "sand" not in str(caught.value)
    assert running_sandbox.stats.graph_requests == 0


@pytest.mark.parametrize("batch_size", [20, 1])
async def test_a_fixed_token_that_expires_mid_run_stops_it_without_resending(
    running_sandbox: RunningSandbox, tmp_path: Path, batch_size: int
) -> None:
    running_sandbox.faults.expire_tokens_after_writes = 4
    rows = _rows(6)
    settings = _token_settings(
        running_sandbox, tmp_path, "sandbox", batch_size=batch_size, concurrency=2
    )

    result = await run_import([write_csv(tmp_path / "s.csv", rows)], settings)

    assert result.exit_code == 3
    assert "access token" in result.reason
    assert "User.ReadWrite" not in result.reason  # not blamed on a missing permission
    answered = running_sandbox.stats.requests_by_method_status
    refused = sum(n for key, n in answered.items() if key.endswith(" 401"))
    assert 1 <= refused <= 2  # at most what was in flight on the two connections
    actions = Counter(line["action"] for line in results(result))
    assert actions["created"] == running_sandbox.stats_view()["skills_total"]
    assert actions["created"] + actions["failed"] + actions["not-sent"] == len(rows)
    assert {line["errorType"] for line in results(result) if line["action"] == "failed"} == {
        "unauthorized"
    }
    log = (result.report_dir / "run.log").read_text(encoding="utf-8")
    assert "fresh token" not in log


# --- a $batch refused whole is split ----------------------------------------------------------


async def test_a_batch_refused_whole_for_one_oversized_item_fails_only_that_item(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    running_sandbox.faults.max_request_bytes = 700
    big = (BOB_UPN, "B" * 200, "expert", ";".join(c * 60 for c in "wxyz"))
    rows = [*_rows(5)[:19], big]

    result = await import_file(running_sandbox, tmp_path, write_csv(tmp_path / "s.csv", rows))

    assert result.exit_code == 1
    assert _actions(result) == {("created", ""): 19, ("failed", "rejected-by-graph"): 1}
    [failed] = [line for line in results(result) if line["action"] == "failed"]
    assert failed["displayName"] == "B" * 200
    assert failed["status"] == "400"


# --- dry runs tell the guard's verdict ----------------------------------------------------------


async def test_a_dry_run_sync_that_would_trip_the_delete_guard_exits_3(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    full = write_csv(
        tmp_path / "full.csv", [(BOB_UPN, f"Skill {n}", "expert", "") for n in range(5)]
    )
    await import_file(running_sandbox, tmp_path, full)
    one = write_csv(tmp_path / "one.csv", [(BOB_UPN, "Skill 0", "expert", "")])
    settings = settings_for(running_sandbox, tmp_path, mode="sync")
    writes = running_sandbox.stats.writes

    result = await run_import([one], settings, dry_run=True)

    assert result.exit_code == 3
    assert "max_delete_ratio" in result.reason
    assert running_sandbox.stats.writes == writes
    assert Counter(line["action"] for line in results(result))["would-delete"] == 4
    summary = json.loads((result.report_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["exit_code"] == 3


async def test_many_batches_refused_beyond_the_cap_never_stall_any_stage(tmp_path: Path) -> None:
    users = [(f"00000000-0000-4000-8000-{n:012d}", f"user{n:03d}@contoso.com") for n in range(90)]
    async with await start_sandbox(SandboxConfig(users=users)) as sandbox:
        sandbox.faults.batch_status, sandbox.faults.batch_retry_after = 429, "3600"
        rows = [(upn, "Python", "expert", "") for _id, upn in users]
        async with asyncio.timeout(120):  # a backstop: the hour Graph asked for is never waited
            result = await import_file(
                sandbox, tmp_path, write_csv(tmp_path / "s.csv", rows), batch_size=2
            )

        # Only the batches already on their way when the first refusal came back were sent.
        assert sandbox.stats.batches <= 8
    assert result.exit_code == 1
    assert Counter(line["action"] for line in results(result)) == {"failed": len(rows)}
    assert all("more than run.max_retry_wait_s" in line["error"] for line in results(result))
