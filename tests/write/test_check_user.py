"""``check --user`` takes the user as every run does: object id, UPN, mail or employeeId."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from importer.sandbox import RunningSandbox, SandboxConfig, start_sandbox
from importer.write.preflight import CheckReport, run_checks
from tests.conftest import invoke_cli
from tests.importing import settings_for, skills_of

ADA = "22222222-0000-0000-0000-000000000001"
DIRECTORY = (
    ("id", "userPrincipalName", "displayName", "mail", "employeeId", "accountEnabled"),
    (ADA, "ada@contoso.onmicrosoft.com", "Ada", "Ada.Lovelace@contoso.com", "00042", "true"),
    ("22222222-0000-0000-0000-000000000002", "t1@contoso.com", "Twin", "t1@x.com", "7", "true"),
    ("22222222-0000-0000-0000-000000000003", "t2@contoso.com", "Twin", "t2@x.com", "7", "true"),
)
CANARY = ("read user's skills", "create canary skill", "read canary back", "delete canary")


def _directory(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(DIRECTORY)
    return path


@pytest.fixture
async def hr_sandbox(tmp_path: Path) -> AsyncIterator[RunningSandbox]:
    config = SandboxConfig(directory=_directory(tmp_path / "directory.csv"))
    async with await start_sandbox(config) as sandbox:
        yield sandbox


async def _check(sandbox: RunningSandbox, tmp_path: Path, user: str, key: str) -> CheckReport:
    settings = settings_for(sandbox, tmp_path)
    settings = settings.model_copy(
        update={"input": settings.input.model_copy(update={"user_key": key})}
    )
    return await run_checks(settings, user)


def _step(report: CheckReport, name: str) -> tuple[bool | None, str]:
    step = next(step for step in report.results if step.name == name)
    return step.ok, step.detail


@pytest.mark.parametrize(
    ("user", "key"),
    [
        ("00042", "employeeId"),
        ("ada.lovelace@CONTOSO.com", "mail"),
        ("ada@contoso.onmicrosoft.com", "auto"),
        (ADA, "id"),
    ],
)
async def test_the_canary_runs_on_the_person_every_key_names(
    hr_sandbox: RunningSandbox, tmp_path: Path, user: str, key: str
) -> None:
    report = await _check(hr_sandbox, tmp_path, user, key)
    found, detail = _step(report, "find the user")
    assert found is True
    assert f"(id {ADA})" in detail
    assert all(_step(report, name)[0] is True for name in CANARY)
    assert report.exit_code == 0
    assert await skills_of(hr_sandbox, ADA) == []  # the canary was on Ada, and is gone


async def test_a_value_that_names_nobody_or_several_people_stops_before_the_canary(
    hr_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    nobody = await _check(hr_sandbox, tmp_path, "00999", "employeeId")
    assert _step(nobody, "find the user") == (False, "no user has employeeId 00999")
    twins = await _check(hr_sandbox, tmp_path, "7", "employeeId")
    ok, detail = _step(twins, "find the user")
    assert ok is False
    assert detail == "2 users have employeeId 7: t1@contoso.com, t2@contoso.com"
    for report in (nobody, twins):
        assert [_step(report, name)[0] for name in CANARY] == [None] * len(CANARY)
        assert report.exit_code == 1
    assert hr_sandbox.stats.writes == 0


def test_check_takes_user_key_on_the_command_line(config: Path) -> None:
    # The built-in sandbox's sample directory: Adele Vance is employee 000101.
    code, out, _err = invoke_cli(
        "check", "-c", str(config), "--user", "000101", "--user-key", "employeeId"
    )
    assert code == 0, out  # every step passed, finding Adele by her employee id included
    assert "FAILED" not in out
