"""The command line: help for every command, one-line errors, and the exit-code table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from importer.cli import main
from importer.config import load_settings
from importer.errors import EXIT_CODES
from importer.lock import RunLock
from importer.sandbox import SandboxConfig
from tests.conftest import invoke_cli
from tests.importing import write_csv

ROOT = Path(__file__).resolve().parents[2]
ADELE = "adele.vance@contoso.com"
ALEX = "alex.wilber@contoso.com"


@pytest.mark.parametrize("command", ["run", "validate", "sandbox", "login", "check"])
def test_every_command_has_help(command: str) -> None:
    code, out, _ = invoke_cli(command, "--help")
    assert code == 0
    assert "Usage:" in out
    assert "--config" in out


def test_top_level_help_lists_commands_and_exit_codes() -> None:
    code, out, _ = invoke_cli("--help")
    assert code == 0
    for word in ("run", "validate", "sandbox", "login", "check", "130 interrupted"):
        assert word in out
    for info in EXIT_CODES:
        assert f"{info.code} {info.name}: {info.meaning.replace('`', '')}" in out


def test_the_readme_exit_code_table_is_the_one_in_errors() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("| code | name | meaning |")
    table = readme[start : readme.index("\n\n", start)].splitlines()
    expected = [f"| {info.code} | `{info.name}` | {info.meaning} |" for info in EXIT_CODES]
    assert table == ["| code | name | meaning |", "|---|---|---|", *expected]


def test_a_missing_input_file_is_exit_2_naming_the_file(config: Path, tmp_path: Path) -> None:
    code, _, err = invoke_cli("validate", "-c", str(config), str(tmp_path / "nowhere.csv"))
    assert code == 2
    assert "nowhere.csv" in err
    assert "Traceback" not in err


def test_a_config_typo_is_exit_2_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("run:\n  batch_sise: 5\n", encoding="utf-8")
    csv_file = write_csv(tmp_path / "s.csv", [(ADELE, "Python", "expert", "")])
    code, _, err = invoke_cli("validate", "-c", str(bad), str(csv_file))
    assert code == 2
    assert "run.batch_sise" in err
    assert "bad.yaml" in err


def test_a_missing_config_file_is_exit_2_naming_the_path(tmp_path: Path) -> None:
    csv_file = write_csv(tmp_path / "s.csv", [(ADELE, "Python", "expert", "")])
    code, _, err = invoke_cli("validate", "-c", str(tmp_path / "gone.yaml"), str(csv_file))
    assert code == 2
    assert "gone.yaml" in err


def test_validate_exits_0_when_every_row_is_valid_and_1_when_some_are_not(
    config: Path, tmp_path: Path
) -> None:
    good = write_csv(tmp_path / "good.csv", [(ADELE, "Python", "expert", "")])
    bad = write_csv(tmp_path / "bad.csv", [(ADELE, "Python", "Guru", ""), (ALEX, "Go", "3", "")])
    assert invoke_cli("validate", "-c", str(config), str(good))[0] == 0
    code, out, _ = invoke_cli("validate", "-c", str(config), str(bad))
    assert code == 1
    assert "invalid" in out


def test_run_exits_0_then_a_rerun_is_all_unchanged(config: Path, tmp_path: Path) -> None:
    rows = [(ADELE, "Python", "expert", ""), (ALEX, "Go", "3", "Work")]
    csv_file = write_csv(tmp_path / "s.csv", rows)
    code, out, _ = invoke_cli("run", "-c", str(config), str(csv_file))
    assert code == 0, out
    assert "nothing was sent to Microsoft Graph" in out
    code, out, _ = invoke_cli("run", "-c", str(config), str(csv_file))
    assert code == 0
    assert "unchanged" in out
    assert "created" not in out


def test_run_with_too_many_invalid_rows_is_exit_3_and_sends_nothing(
    config: Path, tmp_path: Path
) -> None:
    rows = [(ADELE, "Python", "Guru", ""), (ALEX, "Go", "Wizard", "")]
    rows += [(ALEX, f"Skill {n}", "3", "") for n in range(18)]
    csv_file = write_csv(tmp_path / "s.csv", rows)
    code, out, _ = invoke_cli("run", "-c", str(config), str(csv_file))
    assert code == 3
    assert "max_invalid_ratio" in out
    assert not (tmp_path / "graph.sqlite").exists()


def test_a_short_fed_back_file_with_bad_rows_is_judged_row_by_row_not_by_the_ratio(
    config: Path, tmp_path: Path
) -> None:
    # A rejects.csv fed back with 2 of its 4 rows still bad: 50% invalid, but only 4 rows.
    rows = [(ADELE, "Python", "Guru", ""), (ALEX, "Go", "3", "")]
    rows += [(ADELE, "Rust", "Wizard", ""), (ALEX, "SQL", "expert", "")]
    csv_file = write_csv(tmp_path / "s.csv", rows)
    code, out, _ = invoke_cli("run", "-c", str(config), str(csv_file))
    assert code == 1, out
    assert "created" in out


def test_run_while_another_run_holds_the_lock_is_exit_4(config: Path, tmp_path: Path) -> None:
    csv_file = write_csv(tmp_path / "s.csv", [(ADELE, "Python", "expert", "")])
    with RunLock.for_settings(load_settings(config)):
        code, _, err = invoke_cli("run", "-c", str(config), str(csv_file))
    assert code == 4
    assert "another run holds the lock" in err
    assert "pid" in err


def test_json_log_format_writes_one_json_object_per_line(config: Path, tmp_path: Path) -> None:
    csv_file = write_csv(tmp_path / "s.csv", [(ADELE, "Python", "expert", "")])
    code, _, err = invoke_cli("run", "-c", str(config), "--log-format", "json", str(csv_file))
    assert code == 0
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert lines
    assert all({"time", "level", "message"} <= set(line) for line in lines)


def test_main_returns_the_exit_code_instead_of_raising(tmp_path: Path) -> None:
    assert main(["validate", str(tmp_path / "nowhere.csv")]) == 2
    assert main(["--help"]) == 0


def test_sandbox_show_prints_a_users_skills_after_an_import(config: Path, tmp_path: Path) -> None:
    csv_file = write_csv(tmp_path / "s.csv", [(ADELE, "Python", "expert", "Work")])
    assert invoke_cli("run", "-c", str(config), str(csv_file))[0] == 0
    code, out, _ = invoke_cli("sandbox", "-c", str(config), "--show", ADELE)
    assert code == 0
    assert "Python" in out
    assert "expert" in out


def test_sandbox_show_piped_prints_every_column_whole_with_the_web_url(
    config: Path, tmp_path: Path
) -> None:
    url = "https://wiki.contoso.com/skills/" + "very-long-page-name-" * 8
    header = ("user", "skill", "level", "category", "link")
    rows = [(ADELE, "Python", "expert", "Work;Data Engineering and Analytics", url)]
    csv_file = write_csv(tmp_path / "s.csv", rows, header=header)
    assert invoke_cli("run", "-c", str(config), str(csv_file))[0] == 0

    code, out, _ = invoke_cli("sandbox", "-c", str(config), "--show", ADELE)

    assert code == 0
    head, line = out.splitlines()
    assert head.split("\t") == [
        "displayName", "proficiency", "categories", "collaborationTags", "allowedAudiences",
        "webUrl", "source", "id",
    ]  # fmt: skip
    cells = line.split("\t")
    assert cells[:7] == [
        "Python", "expert", "Work; Data Engineering and Analytics", "", "organization", url,
        "type=skills-import",
    ]  # fmt: skip
    assert len(cells[7]) == 36  # the skill's id, whole


def test_sandbox_show_without_a_database_is_one_line_exit_2(config: Path) -> None:
    code, _, err = invoke_cli("sandbox", "-c", str(config), "--show", ADELE)
    assert code == 2
    assert "no sandbox database" in err


def test_sandbox_serves_creates_that_commit_late_as_the_flags_say(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importer.sandbox

    served: list[SandboxConfig] = []
    monkeypatch.setattr(importer.sandbox, "serve_forever", lambda cfg, **_: served.append(cfg))

    code, _, err = invoke_cli(
        "sandbox",
        "-c",
        str(config),
        "--late-commit-rate",
        "1",
        "--late-commit-ms",
        "2200",
        "--late-commit-jitter-ms",
        "1000",
        "--late-commit-answer",
        "with-commit",
    )

    assert code == 0, err
    faults = served[0].faults
    assert (faults.late_commit_rate, faults.late_commit_ms, faults.late_commit_jitter_ms) == (
        1,
        2200,
        1000,
    )
    assert faults.late_commit_answer == "with-commit"


def test_a_missing_sandbox_directory_is_exit_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"target:\n  sandbox_directory: {tmp_path / 'users.csv'}\n")
    csv_file = write_csv(tmp_path / "s.csv", [(ADELE, "Python", "expert", "")])
    code, _, err = invoke_cli("run", "-c", str(config), str(csv_file))
    assert code == 2
    assert "target.sandbox_directory" in err
    assert "users.csv" in err


HR_EXPORT = ROOT / "samples" / "hr_workday.csv"


def test_the_hr_sample_needs_its_user_key_and_the_error_names_it(config: Path) -> None:
    code, _, err = invoke_cli("validate", "-c", str(config), str(HR_EXPORT))
    assert code == 2
    assert "column 'Employee ID' holds employeeId values: use --user-key employeeId" in err
    code, _, _ = invoke_cli(
        "validate", "-c", str(config), "--user-key", "employeeId", str(HR_EXPORT)
    )
    assert code == 0


def test_the_hr_sample_imports_by_employee_id_then_by_mail_with_nothing_to_write(
    config: Path,
) -> None:
    code, out, _ = invoke_cli("run", "-c", str(config), "--user-key", "employeeId", str(HR_EXPORT))
    assert code == 1  # the new hire is not in the directory yet
    assert "skipped" in out
    code, out, _ = invoke_cli("run", "-c", str(config), "--user-key", "mail", str(HR_EXPORT))
    assert code == 1
    assert "created" not in out
    assert "unchanged" in out


def test_piped_output_keeps_each_warning_on_one_line_markup_and_all(
    config: Path, tmp_path: Path
) -> None:
    column = "Comments [internal] from the HR business partner, kept for the yearly review"
    path = write_csv(
        tmp_path / "a-rather-long-file-name-exported-by-the-hr-system.csv",
        [("adele.vance@contoso.com", "Python", "expert", "Data", "fine")],
        ("user", "skill", "level", "category", column),
    )
    code, out, _err = invoke_cli("validate", "-c", str(config), str(path))
    assert code == 0
    [warning] = [line for line in out.splitlines() if line.startswith("warning:")]
    assert len(warning) > 80  # one line, however long: grep finds all of it
    assert f"{path.name}: ignoring column 'Comments [internal]" in warning
