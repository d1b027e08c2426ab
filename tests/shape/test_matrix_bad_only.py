"""A matrix skill column whose only filled cell is a bad level is a skill column, not dropped."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.conftest import invoke_cli
from tests.data.inputs import write_text

SHEET = "Email,Dept,Python,SQL,Excel\nann@x.com,IT,5,,3\ncat@x.com,HR,Expert,Guru,1\n"


def _report(tmp_path: Path, name: str) -> list[dict[str, str]]:
    [folder] = (tmp_path / "reports").iterdir()
    with (folder / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_column_between_skill_columns_holding_only_guru_is_reported_with_exit_1(
    config: Path, tmp_path: Path
) -> None:
    path = write_text(tmp_path / "matrix.csv", SHEET)

    code, _, err = invoke_cli("validate", "-c", str(config), str(path))

    assert code == 1, err
    lines = _report(tmp_path, "results.csv")
    [guru] = [line for line in lines if line["displayName"] == "SQL"]
    assert (guru["user"], guru["row"], guru["column"]) == ("cat@x.com", "3", "D")
    assert guru["action"] == "invalid"
    assert "'Guru'" in guru["error"]
    assert "did you mean 'expert'" in guru["error"] or "did you mean expert" in guru["error"]
    [reject] = _report(tmp_path, "rejects.csv")
    assert reject["SQL"] == "Guru"
    assert len(lines) == 5  # every filled skill cell, Dept left alone
    assert "Dept" not in {line["displayName"] for line in lines}


def test_a_known_field_or_ignored_header_between_skill_columns_stays_out(
    config: Path, tmp_path: Path
) -> None:
    config.write_text(
        config.read_text(encoding="utf-8") + "columns:\n  ignore: [Team]\n", encoding="utf-8"
    )
    path = write_text(
        tmp_path / "matrix.csv",
        "Email,Python,Team,Employee ID,SQL\nann@x.com,5,Blue,E1,3\ncat@x.com,Expert,Red,E2,1\n",
    )

    code, _, err = invoke_cli("validate", "-c", str(config), str(path))

    assert code == 0, err
    names = {line["displayName"] for line in _report(tmp_path, "results.csv")}
    assert names == {"Python", "SQL"}
