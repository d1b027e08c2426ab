"""People matched the way HR identifies them, end to end against the sandbox on 127.0.0.1.

One HR export (Workday-like: Employee ID, Worker, Work Email, Skill, Skill Level) is imported
by employee id and again by work email, which differs from the UPN for most people here.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from importer.pipeline import RunResult, run_import
from importer.progress import RESOLVING, RunProgress
from importer.sandbox import RunningSandbox, SandboxConfig, start_sandbox
from importer.write.preflight import run_checks
from tests.importing import results, settings_for, skills_of, write_csv


def _guid(n: int) -> str:
    return f"11111111-0000-0000-0000-{n:012d}"


JOHN, KATE, MEI, LENA = (_guid(n) for n in (1, 2, 3, 4))
ONMS = "contoso.onmicrosoft.com"

DIRECTORY_HEADER = (
    "id",
    "userPrincipalName",
    "displayName",
    "mail",
    "employeeId",
    "accountEnabled",
)
DIRECTORY = (
    (JOHN, f"jdoe@{ONMS}", "John Doe", "john.doe@contoso.com", "00101", "true"),
    (KATE, f"kobrien@{ONMS}", "Kate O'Brien", "Kate.O'Brien@contoso.com", "00102", "true"),
    (MEI, "mei.tanaka@contoso.com", "Mei Tanaka", "mei.tanaka@contoso.com", "0103", "true"),
    (LENA, f"lfischer@{ONMS}", "Lena Fischer", "lena@contoso.com", "00104", "false"),
    (_guid(5), "twin1@contoso.com", "Twin", "t1@contoso.com", "00200", "true"),
    (_guid(6), "twin2@contoso.com", "Twin", "t2@contoso.com", "00200", "true"),
)

WORKDAY_HEADER = ("Employee ID", "Worker", "Work Email", "Skill", "Skill Level")
EXPORT = (
    ("00101", "John Doe", "John.Doe@contoso.com", "Python", "Expert"),
    ("00101", "John Doe", "John.Doe@contoso.com", "SQL", "Advanced Professional"),
    ("00102", "Kate O'Brien", "kate.o'brien@contoso.com", "Negotiation", "Elementary"),
    ("0103", "Mei Tanaka", "mei.tanaka@contoso.com", "Azure", "General Professional"),
    ("00104", "Lena Fischer", "lena@contoso.com", "Python", "Expert"),
    ("00999", "Noah Newhire", "noah@contoso.com", "Python", "Beginner"),
)  # fmt: skip


def _write_directory(path: Path, rows: Any) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(DIRECTORY_HEADER)
        writer.writerows(rows)
    return path


@pytest.fixture
async def hr_sandbox(tmp_path: Path) -> AsyncIterator[RunningSandbox]:
    directory = _write_directory(tmp_path / "directory.csv", DIRECTORY)
    async with await start_sandbox(SandboxConfig(directory=directory)) as sandbox:
        yield sandbox


async def _run(
    sandbox: RunningSandbox, tmp_path: Path, path: Path, key: str, **run: Any
) -> RunResult:
    settings = settings_for(sandbox, tmp_path, **run)
    settings = settings.model_copy(
        update={"input": settings.input.model_copy(update={"user_key": key})}
    )
    return await run_import([path], settings)


def _by_row(result: RunResult) -> dict[str, dict[str, str]]:
    return {row["row"]: row for row in results(result)}


def _summary(result: RunResult) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((result.report_dir / "summary.json").read_text("utf-8"))
    return document


async def _names(sandbox: RunningSandbox, user: str) -> list[str]:
    return sorted(skill["displayName"] for skill in await skills_of(sandbox, user))


@pytest.mark.parametrize("key", ["employeeId", "mail"])
async def test_an_hr_export_lands_on_the_right_profiles_by_employee_id_or_work_email(
    hr_sandbox: RunningSandbox, tmp_path: Path, key: str
) -> None:
    export = write_csv(tmp_path / "workday.csv", EXPORT, WORKDAY_HEADER)
    result = await _run(hr_sandbox, tmp_path, export, key)

    assert await _names(hr_sandbox, JOHN) == ["Python", "SQL"]
    assert await _names(hr_sandbox, KATE) == ["Negotiation"]
    assert await _names(hr_sandbox, MEI) == ["Azure"]
    assert await _names(hr_sandbox, LENA) == []
    rows = _by_row(result)
    assert [rows[n]["userId"] for n in ("2", "3", "4", "5")] == [JOHN, JOHN, KATE, MEI]
    disabled, unknown = rows["6"], rows["7"]
    assert (disabled["action"], disabled["errorType"], disabled["userId"]) == (
        "skipped",
        "user-disabled",
        LENA,
    )
    assert "lfischer@contoso.onmicrosoft.com is disabled" in disabled["error"]
    assert (unknown["action"], unknown["errorType"]) == ("failed", "user-not-found")
    assert unknown["error"].startswith(f"no user has {key} ")
    assert result.exit_code == 1  # the unknown person; skipped rows are not failures
    assert any("ignoring identity column" in warning for warning in result.warnings)

    rerun = await _run(hr_sandbox, tmp_path, export, key, unknown_users="skip")
    assert rerun.counts["unchanged"] == 4
    assert rerun.counts["created"] == rerun.counts["updated"] == 0
    assert rerun.counts["skipped"] == 2
    assert rerun.exit_code == 0, rerun.reason
    assert hr_sandbox.stats.writes == 4  # the first run's creates, nothing since


async def test_the_same_people_keyed_two_ways_are_the_same_profiles(
    hr_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    export = write_csv(tmp_path / "workday.csv", EXPORT, WORKDAY_HEADER)
    await _run(hr_sandbox, tmp_path, export, "employeeId")
    writes = hr_sandbox.stats.writes
    by_mail = await _run(hr_sandbox, tmp_path, export, "mail")
    assert hr_sandbox.stats.writes == writes
    assert by_mail.counts["unchanged"] == 4


async def test_employee_ids_match_exactly_leading_zeros_included(
    hr_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    rows = [("101", "Python", "expert"), ("103", "SQL", "expert"), ("0103", "Go", "expert")]
    path = write_csv(tmp_path / "ids.csv", rows, ("Employee Number", "Skill", "Level"))
    result = await _run(hr_sandbox, tmp_path, path, "employeeId")
    by_row = _by_row(result)
    assert [by_row[n]["errorType"] for n in ("2", "3")] == ["user-not-found"] * 2
    assert "leading zeros included" in by_row["2"]["error"]
    assert by_row["4"]["action"] == "created"
    assert await _names(hr_sandbox, MEI) == ["Go"]


async def test_a_shared_employee_id_is_ambiguous_and_names_both_accounts(
    hr_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "twins.csv", [("00200", "Python", "expert")], ("Emp No", "Skill", "Level")
    )
    result = await _run(hr_sandbox, tmp_path, path, "employeeId")
    [row] = results(result)
    assert (row["action"], row["errorType"]) == ("failed", "user-ambiguous")
    assert "twin1@contoso.com and twin2@contoso.com" in row["error"]
    assert hr_sandbox.stats.writes == 0


async def test_an_apostrophe_in_a_mail_works_and_an_injection_matches_nobody(
    hr_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    rows = [
        ("KATE.O'BRIEN@contoso.com", "Python", "expert"),
        ("x'or'1'eq'1@contoso.com", "Go", "expert"),
    ]
    path = write_csv(tmp_path / "mails.csv", rows, ("Business Email", "Skill", "Level"))
    result = await _run(hr_sandbox, tmp_path, path, "mail")
    by_row = _by_row(result)
    assert by_row["2"]["userId"] == KATE
    assert by_row["3"]["errorType"] == "user-not-found"
    ids = [("x' or 'a' eq 'a", "Go", "expert"), ("x' or employeeId ne '", "Go", "expert")]
    path = write_csv(tmp_path / "ids.csv", ids, ("Worker ID", "Skill", "Level"))
    result = await _run(hr_sandbox, tmp_path, path, "employeeId")
    by_row = _by_row(result)
    # Short enough to be an employee id: sent escaped, found nobody.
    assert by_row["2"]["errorType"] == "user-not-found"
    # Longer than any employee id: invalid, never sent.
    assert (by_row["3"]["action"], by_row["3"]["errorType"]) == ("invalid", "invalid-user")
    assert await _names(hr_sandbox, KATE) == ["Python"]
    assert [await _names(hr_sandbox, user) for user in (JOHN, MEI, LENA)] == [[], [], []]


async def test_a_small_file_costs_one_lookup_request(
    hr_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    export = write_csv(tmp_path / "workday.csv", EXPORT, WORKDAY_HEADER)
    result = await _run(hr_sandbox, tmp_path, export, "employeeId")
    users = _summary(result)["users"]
    assert (users["strategy"], users["requests"], users["lookups"], users["people"]) == (
        "lookups",
        1,
        1,
        5,
    )
    assert hr_sandbox.stats.directory_reads == 1


def _people(count: int) -> list[tuple[str, str, str, str, str, str]]:
    return [
        (f"22222222-0000-0000-0000-{n:012d}", f"p{n}@contoso.com", f"P {n}", f"p{n}@contoso.com",
         f"{n:06d}", "true")
        for n in range(count)
    ]  # fmt: skip


async def _bulk(tmp_path: Path, directory_size: int, people: int) -> tuple[RunningSandbox, Path]:
    directory = _write_directory(tmp_path / "big.csv", _people(directory_size))
    sandbox = await start_sandbox(SandboxConfig(directory=directory))
    rows = [(f"{n:06d}", "Python", "expert") for n in range(people)]
    return sandbox, write_csv(tmp_path / "many.csv", rows, ("Employee ID", "Skill", "Level"))


async def test_a_large_file_is_resolved_by_one_listing(tmp_path: Path) -> None:
    # 400 people cost 27 lookups in 2 requests; the 1,200-user directory lists in 2 pages, after
    # one request for the delta link that the snapshot kept of the listing catches up from.
    sandbox, path = await _bulk(tmp_path, 1_200, 400)
    async with sandbox:
        result = await _run(sandbox, tmp_path, path, "employeeId")
        users = _summary(result)["users"]
        assert (users["strategy"], users["requests"], users["listing_pages"]) == ("listing", 3, 2)
        assert sandbox.stats.directory_reads == 3
        assert result.counts["created"] == 400


async def test_a_listing_that_would_cost_more_than_lookups_hands_over(tmp_path: Path) -> None:
    # 400 people (2 lookup requests) in a 5,000-user directory (6 pages): the delta link, 2 pages,
    # then lookups.
    sandbox, path = await _bulk(tmp_path, 5_000, 400)
    async with sandbox:
        result = await _run(sandbox, tmp_path, path, "employeeId")
        users = _summary(result)["users"]
        assert users["strategy"] == "listing, then lookups"
        assert (users["listing_pages"], users["lookups"], users["requests"]) == (2, 27, 5)
        assert result.counts["created"] == 400


async def test_a_directory_that_refuses_to_be_read_stops_before_any_write(
    hr_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    hr_sandbox.faults.deny_directory_reads = True
    export = write_csv(tmp_path / "workday.csv", EXPORT, WORKDAY_HEADER)
    result = await _run(hr_sandbox, tmp_path, export, "employeeId")
    assert result.exit_code == 3
    assert "User.Read.All" in result.reason
    assert hr_sandbox.stats.writes == 0
    assert {row["action"] for row in results(result)} == {"not-sent"}


async def test_unknown_and_disabled_people_are_reported_once_when_chunks_are_read_twice(
    hr_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    # Sync reads every chunk twice (deletes are counted before anything is written).
    export = write_csv(tmp_path / "workday.csv", EXPORT, WORKDAY_HEADER)
    result = await _run(hr_sandbox, tmp_path, export, "employeeId", mode="sync", rows_per_chunk=1)
    rows = results(result)
    assert sorted(row["row"] for row in rows) == ["2", "3", "4", "5", "6", "7"]
    assert [row["action"] for row in rows].count("created") == 4
    assert await _names(hr_sandbox, JOHN) == ["Python", "SQL"]


async def test_check_reports_whether_the_directory_can_be_read(
    hr_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    settings = settings_for(hr_sandbox, tmp_path)
    readable = await run_checks(settings, "jdoe@contoso.onmicrosoft.com")
    step = next(step for step in readable.results if step.name == "read the directory")
    assert step.ok is True
    hr_sandbox.faults.deny_directory_reads = True
    refused = await run_checks(settings, "jdoe@contoso.onmicrosoft.com")
    step = next(step for step in refused.results if step.name == "read the directory")
    assert (step.ok, "403" in step.detail) == (False, True)
    assert "User.Read.All" in step.advice
    assert refused.exit_code == 1


async def test_ctrl_c_while_resolving_users_reports_every_row_not_sent(
    hr_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    hr_sandbox.faults.latency_ms = 30_000  # the lookup hangs until the interrupt
    export = write_csv(tmp_path / "workday.csv", EXPORT, WORKDAY_HEADER)
    settings = settings_for(hr_sandbox, tmp_path)
    settings = settings.model_copy(
        update={"input": settings.input.model_copy(update={"user_key": "employeeId"})}
    )
    progress = RunProgress()
    run = asyncio.create_task(run_import([export], settings, progress=progress))
    for _ in range(2_000):  # until the resolving phase has started (bounded)
        if RESOLVING in progress.phases or run.done():
            break
        await asyncio.sleep(0.005)
    assert RESOLVING in progress.phases
    os.kill(os.getpid(), signal.SIGINT)
    result = await asyncio.wait_for(run, timeout=10)
    assert result.exit_code == 130
    assert {row["action"] for row in results(result)} == {"not-sent"}
    assert hr_sandbox.stats.writes == 0


async def test_employee_ids_differing_only_in_case_are_two_people(tmp_path: Path) -> None:
    people = [
        (_guid(11), "upper@contoso.com", "Upper", "upper@contoso.com", "AB12", "true"),
        (_guid(12), "lower@contoso.com", "Lower", "lower@contoso.com", "ab12", "true"),
    ]
    directory = _write_directory(tmp_path / "case.csv", people)
    rows = [("AB12", "Python", "expert"), ("ab12", "Python", "elementary")]
    path = write_csv(tmp_path / "case-ids.csv", rows, ("Personnel Number", "Skill", "Level"))
    async with await start_sandbox(SandboxConfig(directory=directory)) as sandbox:
        result = await _run(sandbox, tmp_path, path, "employeeId")
        assert [row["userId"] for row in results(result)] == [_guid(11), _guid(12)]
        assert result.counts["created"] == 2
        levels = [skill["proficiency"] for skill in await skills_of(sandbox, _guid(12))]
        assert levels == ["elementary"]


async def test_one_person_written_two_ways_far_apart_is_planned_once_and_never_written_twice(
    hr_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    rows = [
        (JOHN, "Python", "expert"),
        ("kobrien@contoso.onmicrosoft.com", "SQL", "expert"),
        ("jdoe@contoso.onmicrosoft.com", "Python", "expert"),
        ("jdoe@contoso.onmicrosoft.com", "Go", "elementary"),
    ]
    path = write_csv(tmp_path / "forms.csv", rows, ("user", "skill", "level"))
    # One row a chunk: the two spellings of John would be planned apart if held apart.
    result = await _run(hr_sandbox, tmp_path, path, "auto", rows_per_chunk=1)
    by_row = _by_row(result)
    assert by_row["2"]["action"] == "created"
    assert (by_row["4"]["action"], by_row["4"]["userId"]) == ("duplicate", JOHN)
    assert by_row["5"]["action"] == "created"
    assert await _names(hr_sandbox, JOHN) == ["Go", "Python"]
    same_chunk = await _run(hr_sandbox, tmp_path, path, "auto")
    assert [row["action"] for row in results(same_chunk)].count("duplicate") == 1


async def test_a_numeric_employee_id_cell_is_its_integer_and_the_hint_says_why(
    hr_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Employee ID", "Skill", "Level"])
    sheet.append([101, "Python", "expert"])  # the export lost 00101's zeros
    sheet.append(["00101", "SQL", "expert"])  # stored as text: kept
    path = tmp_path / "ids.xlsx"
    workbook.save(path)
    result = await _run(hr_sandbox, tmp_path, path, "employeeId")
    by_row = _by_row(result)
    assert by_row["2"]["user"] == "101"
    assert by_row["2"]["errorType"] == "user-not-found"
    assert "format the column as Text" in by_row["2"]["error"]
    assert by_row["3"]["userId"] == JOHN


async def test_a_lookup_that_keeps_failing_fails_only_its_people(
    hr_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    hr_sandbox.faults.error_503_rate = 1.0
    export = write_csv(tmp_path / "workday.csv", EXPORT, WORKDAY_HEADER)
    result = await _run(hr_sandbox, tmp_path, export, "employeeId", max_attempts=1)
    rows = results(result)
    assert {row["errorType"] for row in rows} == {"user-lookup-failed"}
    assert "503" in rows[0]["error"]
    assert result.exit_code == 1
    assert hr_sandbox.stats.writes == 0
