"""End-to-end imports into the sandbox on 127.0.0.1, through the real client and dispatcher."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from importer.records import Action
from importer.sandbox import RunningSandbox
from tests.conftest import BOB_UPN, GUEST_UPN, ONEIL_UPN, ZOE_ID, ZOE_UPN, settled
from tests.importing import import_file, results, skills_of, write_csv

ROWS = [
    (BOB_UPN, "Python", "expert", "Professional"),
    (BOB_UPN, "Go", "3", "Professional"),
    (GUEST_UPN, "Python", "Advanced Professional", ""),
    (ONEIL_UPN, "Knitting", "beginner", "Hobby"),
    (ZOE_UPN, "SQL", "elementary", "Professional"),
]


@pytest.mark.parametrize("batch_size", [20, 1])
async def test_a_rerun_reports_every_row_unchanged_and_sends_no_write(
    running_sandbox: RunningSandbox, tmp_path: Path, batch_size: int
) -> None:
    path = write_csv(tmp_path / "skills.csv", ROWS)
    first = await import_file(running_sandbox, tmp_path, path, batch_size=batch_size)
    assert first.exit_code == 0
    assert first.counts[Action.CREATED.value] == len(ROWS)
    writes_before = running_sandbox.stats.writes

    second = await import_file(running_sandbox, tmp_path, path, batch_size=batch_size)

    assert second.exit_code == 0
    assert second.counts[Action.UNCHANGED.value] == len(ROWS)
    assert running_sandbox.stats.writes == writes_before
    assert {row["action"] for row in results(second)} == {"unchanged"}


async def test_changing_one_level_patches_exactly_that_skill(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "skills.csv", ROWS)
    await import_file(running_sandbox, tmp_path, path)
    before = {s["displayName"]: s for s in await skills_of(running_sandbox, BOB_UPN)}
    patches = running_sandbox.stats.requests_by_method_status["PATCH 200"]

    changed = [(BOB_UPN, "Go", "expert", "Professional"), *ROWS[:1], *ROWS[2:]]
    result = await import_file(running_sandbox, tmp_path, write_csv(tmp_path / "v2.csv", changed))

    assert result.counts == {**result.counts, "updated": 1, "unchanged": len(ROWS) - 1}
    assert running_sandbox.stats.requests_by_method_status["PATCH 200"] == patches + 1
    after = {s["displayName"]: s for s in await skills_of(running_sandbox, BOB_UPN)}
    assert after["Go"]["proficiency"] == "expert"
    assert after["Go"]["id"] == before["Go"]["id"]
    assert after["Go"]["categories"] == before["Go"]["categories"]
    assert after["Python"] == before["Python"]


async def test_special_upns_reach_the_right_user(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "skills.csv", ROWS)
    result = await import_file(running_sandbox, tmp_path, path)
    assert result.exit_code == 0
    assert [s["displayName"] for s in await skills_of(running_sandbox, GUEST_UPN)] == ["Python"]
    assert [s["displayName"] for s in await skills_of(running_sandbox, ONEIL_UPN)] == ["Knitting"]
    # The non-ASCII UPN landed on the user with that object id.
    assert [s["displayName"] for s in await skills_of(running_sandbox, ZOE_ID)] == ["SQL"]


async def test_an_unknown_user_fails_before_any_write_while_the_rest_import(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    rows = [*ROWS, ("nobody@contoso.com", "Python", "expert", "")]
    result = await import_file(running_sandbox, tmp_path, write_csv(tmp_path / "s.csv", rows))
    assert result.exit_code == 1
    by_user = {row["user"]: row for row in results(result)}
    failed = by_user["nobody@contoso.com"]
    # The directory said so: no write was sent for the row, so it has no HTTP status.
    assert (failed["action"], failed["status"], failed["errorType"]) == (
        "failed",
        "",
        "user-not-found",
    )
    assert failed["error"] == (
        "no user has userPrincipalName nobody@contoso.com; if that is their mail, "
        "use --user-key mail"
    )
    assert result.counts[Action.CREATED.value] == len(ROWS)


async def test_batch_answers_out_of_order_land_on_the_right_rows(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    rows = [(BOB_UPN, f"Skill {n:02d}", "expert", "") for n in range(40)]
    result = await import_file(running_sandbox, tmp_path, write_csv(tmp_path / "s.csv", rows))
    held = {s["displayName"]: s["id"] for s in await skills_of(running_sandbox, BOB_UPN)}
    reported = {row["displayName"]: row["skillId"] for row in results(result)}
    assert reported == held
    assert len(set(held.values())) == 40


@pytest.mark.slow
async def test_under_503s_commit_then_504s_and_throttling_the_state_equals_the_file(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    users = [BOB_UPN, GUEST_UPN, ONEIL_UPN, ZOE_UPN]
    rows = [(user, f"Skill {n:02d}", "expert", "") for user in users for n in range(12)]
    faults = running_sandbox.faults
    faults.seed = 7
    faults.error_503_rate = 0.10
    faults.commit_then_504_rate = 0.05
    faults.throttle_rps = 50

    result = await import_file(
        running_sandbox, tmp_path, write_csv(tmp_path / "s.csv", rows), max_retry_wait_s=5
    )

    assert result.exit_code == 0, result.reason
    lines = results(result)
    assert Counter((row["user"], row["displayName"]) for row in lines) == Counter(
        (user, name) for user, name, _level, _cat in rows
    )
    assert {row["action"] for row in lines} == {"created"}
    for user in users:
        names = sorted(s["displayName"] for s in await skills_of(running_sandbox, user))
        assert names == sorted(name for u, name, _l, _c in rows if u == user)
    assert running_sandbox.stats_view()["duplicates"] == {}
    # The faults really happened.
    answered = running_sandbox.stats.requests_by_method_status
    assert running_sandbox.stats.throttled > 0
    assert sum(n for key, n in answered.items() if key.endswith((" 503", " 504"))) > 0


@pytest.mark.slow
async def test_no_request_arrives_inside_an_announced_retry_after_window(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    rows = [
        (user, f"Skill {n:02d}", "expert", "") for user in (BOB_UPN, ZOE_UPN) for n in range(30)
    ]
    running_sandbox.faults.throttle_rps = 40

    result = await import_file(running_sandbox, tmp_path, write_csv(tmp_path / "s.csv", rows))

    assert result.exit_code == 0, result.reason
    assert running_sandbox.stats.throttled > 0
    assert running_sandbox.stats.premature_requests == 0


@pytest.mark.slow
async def test_creates_that_time_out_but_land_later_leave_no_duplicate(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    users = [BOB_UPN, GUEST_UPN, ONEIL_UPN, ZOE_UPN]
    rows = [(user, f"Skill {n:02d}", "expert", "") for user in users for n in range(10)]
    faults = running_sandbox.faults
    faults.seed = 3
    # Many requests outlive the client's timeout; Graph-like, the server still carries them out.
    faults.latency_ms = 150
    faults.jitter_ms = 150

    result = await import_file(
        running_sandbox,
        tmp_path,
        write_csv(tmp_path / "s.csv", rows),
        request_timeout_s=0.2,
        max_attempts=30,
        max_retry_wait_s=1,  # with 30 attempts of 0.2 s, the run stays well under the timeout
        batch_size=5,
    )
    await settled(running_sandbox)  # late writes land before looking

    assert result.exit_code == 0, result.reason
    for user in users:
        names = sorted(s["displayName"] for s in await skills_of(running_sandbox, user))
        assert names == sorted(name for u, name, _l, _c in rows if u == user)
    assert running_sandbox.stats_view()["duplicates"] == {}
    assert Counter(row["action"] for row in results(result)) == {"created": len(rows)}


async def test_a_user_with_more_skills_than_a_page_is_listed_whole(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    rows = [(BOB_UPN, f"Skill {n:03d}", "expert", "") for n in range(130)]  # pages of 100
    path = write_csv(tmp_path / "s.csv", rows)
    await import_file(running_sandbox, tmp_path, path)
    writes = running_sandbox.stats.writes

    rerun = await import_file(running_sandbox, tmp_path, path)

    assert rerun.counts[Action.UNCHANGED.value] == 130
    assert running_sandbox.stats.writes == writes
    assert len(await skills_of(running_sandbox, BOB_UPN)) == 130
