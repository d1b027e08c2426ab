"""``target.kind: orgdata-csv`` end to end: the run's rows become Org data upload files.

The expected file is kept byte for byte under tests/data/orgdata/; the runs point at a real
sandbox so that "nothing is sent" is what the sandbox saw, not what the importer says.
"""

from __future__ import annotations

import asyncio
import csv
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

from importer.config import load_settings
from importer.errors import ConfigError, ExitCode
from importer.pipeline import run_import
from importer.progress import RESOLVING, RunProgress
from importer.sandbox import RunningSandbox, SandboxConfig, start_sandbox
from tests.conftest import invoke_cli
from tests.importing import results, write_csv

DATA = Path(__file__).resolve().parent.parent / "data" / "orgdata"


def _settings(tmp_path: Path, sandbox: RunningSandbox, **sections: Any) -> Any:
    config = tmp_path / "config.yaml"
    config.write_text("", encoding="utf-8")
    overrides: dict[str, Any] = {
        "target": {"graph": sandbox.base_url, "kind": "orgdata-csv"},
        "report": {"dir": str(tmp_path / "reports")},
    }
    for section, values in sections.items():
        overrides.setdefault(section, {}).update(values)
    return load_settings(config, overrides, environ={})


def _by_row(result: Any) -> dict[int, dict[str, str]]:
    return {int(line["row"]): line for line in results(result)}


async def test_a_run_writes_the_documented_file_byte_for_byte_and_sends_nothing(
    tmp_path: Path, running_sandbox: RunningSandbox
) -> None:
    settings = _settings(
        tmp_path,
        running_sandbox,
        input={"user_key": "mail"},
        orgdata={"library": str(DATA / "library.csv")},
    )

    result = await run_import([DATA / "skills.csv"], settings)

    written = sorted((result.report_dir / "orgdata").iterdir())
    assert [path.name for path in written] == ["people-skills-001.csv"]
    assert written[0].read_bytes() == (DATA / "expected-people-skills-001.csv").read_bytes()
    # Not a single request: the file gives every email, so not even the directory is read.
    assert running_sandbox.stats.graph_requests == 0
    assert running_sandbox.stats.writes == 0
    rows = _by_row(result)
    assert rows[2]["action"] == "valid"
    assert rows[2]["displayName"] == "Python"  # as the library spells it
    assert rows[5]["errorType"] == "not-in-library"
    assert "did you mean 'Python'?" in rows[5]["error"]
    assert rows[9]["errorType"] == "not-in-library"
    assert "'Microsoft Excel'" in rows[9]["error"]
    assert rows[10]["action"] == "duplicate"
    assert (rows[11]["action"], rows[11]["errorType"]) == ("invalid", "refused-prefix")
    assert result.exit_code == ExitCode.ROWS_FAILED
    assert len(rows) == 10  # every input row has its one line in results.csv
    assert any("people-skills-001.csv (3 people)" in note for note in result.warnings)


async def test_a_formula_like_email_is_refused_naming_the_cell_and_never_written(
    tmp_path: Path, running_sandbox: RunningSandbox
) -> None:
    source = write_csv(
        tmp_path / "in.csv",
        [("+1@contoso.com", "Python"), ("bob@contoso.com", "-Python"), ("bob@contoso.com", "C#")],
        header=("email", "skill"),
    )
    settings = _settings(tmp_path, running_sandbox, input={"user_key": "mail"})

    result = await run_import([source], settings)

    rows = _by_row(result)
    assert rows[2]["action"] == "invalid"
    assert rows[2]["errorType"] == "refused-prefix"
    assert "column email" in rows[2]["error"]
    assert "'+1@contoso.com'" in rows[2]["error"]
    assert rows[3]["action"] == "invalid"
    assert "column skill" in rows[3]["error"]
    written = (result.report_dir / "orgdata" / "people-skills-001.csv").read_bytes()
    assert written == b"Microsoft_PersonEmail,Microsoft_UserSkillNames\r\nbob@contoso.com,C#\r\n"


DIRECTORY = (
    "id,userPrincipalName,displayName,mail,employeeId,accountEnabled\n"
    "11111111-1111-4111-8111-111111111111,adele@contoso.onmicrosoft.com,Adele,"
    "adele.vance@contoso.com,000101,true\n"
    "22222222-2222-4222-8222-222222222222,nomail@contoso.onmicrosoft.com,No Mail,,000102,true\n"
    "33333333-3333-4333-8333-333333333333,gone@contoso.onmicrosoft.com,Gone,"
    "gone@contoso.com,000103,false\n"
)


@pytest.fixture
async def directory_sandbox(tmp_path: Path) -> Any:
    directory = tmp_path / "directory.csv"
    directory.write_text(DIRECTORY, encoding="utf-8")
    async with await start_sandbox(SandboxConfig(directory=directory)) as sandbox:
        yield sandbox


async def test_employee_ids_are_written_as_the_directorys_mail_and_nothing_is_written_to_graph(
    tmp_path: Path, directory_sandbox: RunningSandbox
) -> None:
    source = write_csv(
        tmp_path / "in.csv",
        [("000101", "Python"), ("000102", "Python"), ("000103", "Python"), ("000999", "C#")],
        header=("employee id", "skill"),
    )
    settings = _settings(tmp_path, directory_sandbox, input={"user_key": "employeeId"})

    result = await run_import([source], settings)

    text = (result.report_dir / "orgdata" / "people-skills-001.csv").read_text(encoding="utf-8")
    # The mail, not the userPrincipalName (which differs here), names the person.
    assert text.splitlines()[1:] == ["adele.vance@contoso.com,Python"]
    rows = _by_row(result)
    assert rows[2]["userId"] == "11111111-1111-4111-8111-111111111111"
    assert (rows[3]["action"], rows[3]["errorType"]) == ("failed", "user-no-mail")
    assert (rows[4]["action"], rows[4]["errorType"]) == ("skipped", "user-disabled")
    assert (rows[5]["action"], rows[5]["errorType"]) == ("failed", "user-not-found")
    assert directory_sandbox.stats.directory_reads >= 1
    assert directory_sandbox.stats.writes == 0
    assert set(directory_sandbox.stats.requests_by_method_status) <= {"GET 200", "$batch 200"}


async def test_a_dry_run_reports_the_rows_and_writes_no_upload_file(
    tmp_path: Path, running_sandbox: RunningSandbox
) -> None:
    source = write_csv(tmp_path / "in.csv", [("bob@contoso.com", "C#")], header=("email", "skill"))
    settings = _settings(tmp_path, running_sandbox, input={"user_key": "mail"})

    result = await run_import([source], settings, dry_run=True)

    assert [line["action"] for line in results(result)] == ["valid"]
    assert not (result.report_dir / "orgdata").exists()
    assert result.exit_code == ExitCode.OK


def test_library_on_the_command_line_refuses_names_it_lacks(tmp_path: Path) -> None:
    shutil.copy(DATA / "library.csv", tmp_path / "library.csv")
    (tmp_path / "config.yaml").write_text(
        "target:\n  kind: orgdata-csv\ninput:\n  user_key: mail\n"
        f"report:\n  dir: {tmp_path / 'reports'}\n",
        encoding="utf-8",
    )
    source = write_csv(
        tmp_path / "in.csv",
        [("bob@contoso.com", "Pyton"), ("bob@contoso.com", "python")],
        header=("email", "skill"),
    )

    code, _, _ = invoke_cli(
        "run", str(source), "-c", str(tmp_path / "config.yaml"), "--library", "library.csv"
    )

    assert code == ExitCode.ROWS_FAILED
    (folder,) = (tmp_path / "reports").iterdir()
    with (folder / "results.csv").open(encoding="utf-8-sig", newline="") as handle:
        lines = {line["row"]: line for line in csv.DictReader(handle)}
    assert lines["2"]["errorType"] == "not-in-library"
    assert "did you mean 'Python'?" in lines["2"]["error"]
    upload = (folder / "orgdata" / "people-skills-001.csv").read_bytes()
    assert upload.endswith(b"\r\nbob@contoso.com,Python\r\n")


def test_a_library_for_the_profile_target_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "library.csv").write_text("Name.en_US\nPython\n", encoding="utf-8")
    source = write_csv(tmp_path / "in.csv", [("bob@contoso.com", "C#")], header=("email", "skill"))

    code, _, err = invoke_cli("run", str(source), "--library", str(tmp_path / "library.csv"))

    assert code == ExitCode.USAGE
    assert "orgdata-csv" in err
    assert not (tmp_path / "reports").exists()


def test_a_library_without_a_name_column_is_a_config_error(tmp_path: Path) -> None:
    from importer.pipeline.orgdata_stage import check_orgdata

    library = tmp_path / "library.csv"
    library.write_text("code,label\nS1,Python\n", encoding="utf-8")
    settings = load_settings(
        None, {"target": {"kind": "orgdata-csv"}, "orgdata": {"library": str(library)}}, {}
    )

    with pytest.raises(ConfigError, match=r"library\.csv: no column of skill names.*Name\.en_US"):
        check_orgdata(settings)


def test_the_sample_config_makes_an_upload_file_from_the_sample_skills(tmp_path: Path) -> None:
    samples = Path(__file__).resolve().parent.parent.parent / "samples"
    env = {
        "SKILLS_IMPORT_TARGET__SANDBOX_DB": str(tmp_path / "graph.sqlite"),
        "SKILLS_IMPORT_REPORT__DIR": str(tmp_path / "reports"),
    }

    code, _, _ = invoke_cli(
        "run", "-c", str(samples / "orgdata.config.yaml"), str(samples / "skills.csv"), env=env
    )

    assert code == ExitCode.ROWS_FAILED  # the sample's bad rows, and names the library lacks
    (folder,) = (tmp_path / "reports").iterdir()
    upload = (folder / "orgdata" / "people-skills-001.csv").read_text(encoding="utf-8")
    assert 'adele.vance@contoso.com,"Python,Public Speaking,Negotiation,Coaching"' in upload
    with (folder / "results.csv").open(encoding="utf-8-sig", newline="") as handle:
        errors = [line["error"] for line in csv.DictReader(handle)]
    assert any("did you mean 'Microsoft Power BI'?" in error for error in errors)


async def test_check_needs_no_sign_in_when_the_user_is_an_email(tmp_path: Path) -> None:
    from importer.write.preflight import run_checks

    (tmp_path / "config.yaml").write_text(
        "target:\n  kind: orgdata-csv\n  graph: https://graph.microsoft.com\n"
        "auth:\n  method: device-code\n  tenant_id: contoso.onmicrosoft.com\n"
        "  client_id: 11111111-1111-4111-8111-111111111111\n"
        "input:\n  user_key: mail\n",
        encoding="utf-8",
    )
    settings = load_settings(tmp_path / "config.yaml", environ={})

    # No saved sign-in exists: a check that tried to sign in would raise AuthError.
    report = await run_checks(settings, "adele.vance@contoso.com")

    assert report.exit_code == ExitCode.OK
    details = {result.name: result.detail for result in report.results}
    assert details["the user's email"].startswith("adele.vance@contoso.com is written as it is")
    assert "create canary skill" not in details


async def test_check_finds_the_mail_an_employee_id_would_be_written_as(
    tmp_path: Path, directory_sandbox: RunningSandbox
) -> None:
    from importer.write.preflight import run_checks

    (tmp_path / "library.csv").write_text("name\nSQL\n", encoding="utf-8")
    settings = _settings(
        tmp_path,
        directory_sandbox,
        input={"user_key": "employeeId"},
        orgdata={"library": str(tmp_path / "library.csv")},
    )

    found = await run_checks(settings, "000101")
    no_mail = await run_checks(settings, "000102")

    assert found.exit_code == ExitCode.OK
    details = {result.name: result.detail for result in found.results}
    assert details["the user's email"] == "employeeId 000101 is written as adele.vance@contoso.com"
    assert details["skills library"].startswith("1 skill names in")
    assert no_mail.exit_code == ExitCode.ROWS_FAILED
    assert any("who has no mail" in result.detail for result in no_mail.results)
    assert directory_sandbox.stats.writes == 0


async def test_ctrl_c_while_reading_the_directory_stops_with_every_row_not_sent(
    tmp_path: Path, directory_sandbox: RunningSandbox
) -> None:
    directory_sandbox.faults.latency_ms = 30_000  # the lookup hangs until the interrupt
    source = write_csv(
        tmp_path / "in.csv", [("000101", "Python"), ("000103", "C#")], ("employee id", "skill")
    )
    settings = _settings(tmp_path, directory_sandbox, input={"user_key": "employeeId"})
    progress = RunProgress()
    run = asyncio.create_task(run_import([source], settings, progress=progress))
    for _ in range(2_000):  # until the resolving phase has started (bounded)
        if RESOLVING in progress.phases or run.done():
            break
        await asyncio.sleep(0.005)
    assert RESOLVING in progress.phases

    os.kill(os.getpid(), signal.SIGINT)
    result = await asyncio.wait_for(run, timeout=10)

    assert result.exit_code == ExitCode.INTERRUPTED
    assert [line["action"] for line in results(result)] == ["not-sent", "not-sent"]
    assert not (result.report_dir / "orgdata").exists()
