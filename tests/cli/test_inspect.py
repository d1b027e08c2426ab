"""``inspect``: what a source holds, clusters of near-identical names, and the map template."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from importer.cli import cli
from importer.config import load_settings
from importer.inspect import canonical_key, cluster_names, identity_form, inspect_sources
from importer.pipeline import validate_files
from tests.importing import write_csv


@pytest.mark.parametrize(
    ("names", "together"),
    [
        (["MS Excel", "Excel 2016", "excel", "Exel", "Microsoft Excel 365"], True),
        (["PowerPoint", "Power Point", "Powerpoint 2019"], True),
        (["Python", "Pyhton", "Python 3.11"], True),
        (["Negotiation Skills", "Negotiating Skills"], True),
        (["C", "C#", "C++"], False),
        (["Go", "Git"], False),
        (["Java", "JavaScript"], False),
        (["Level 1", "Level 2"], False),
        (["Python Basics", "Python Advanced"], False),
    ],
)
def test_near_identical_names_cluster_and_different_skills_do_not(
    names: list[str], together: bool
) -> None:
    clusters = cluster_names(dict.fromkeys(names, 1))
    if together:
        assert [sorted(n for n, _ in c.names) for c in clusters] == [sorted(names)]
    else:
        assert all(len(c.names) == 1 for c in clusters)


def test_a_cluster_suggests_its_most_frequent_spelling() -> None:
    [cluster] = cluster_names({"MS Excel": 5, "Excel": 9, "Excel 2016": 3})
    assert cluster.suggested == "Excel"
    assert cluster.names == (("Excel", 9), ("MS Excel", 5), ("Excel 2016", 3))
    assert canonical_key("C++ 17") == "c++17"


@pytest.mark.parametrize(
    ("user", "form"),
    [
        ("0b0c3f3a-1c52-4c1e-9a55-7d0c5a2d0001", "GUID"),
        ("ann_contoso.com#EXT#@fabrikam.onmicrosoft.com", "UPN-like"),
        ("adele@contoso.onmicrosoft.com", "UPN-like"),
        ("adele.vance@contoso.com", "email"),
        ("004512", "employee-id-like"),
        ("E-1234", "employee-id-like"),
        ("Adele Vance", "other"),
    ],
)
def test_identity_forms(user: str, form: str) -> None:
    assert identity_form(user) == form


def _rows() -> list[tuple[str, str, str, str]]:
    return [
        ("adele.vance@contoso.com", "MS Excel", "3", "mentor"),
        ("Adele.Vance@contoso.com", "excel", "Guru", ""),
        ("alex.wilber@contoso.com", "Excel ", "expert", "ask me about; mentor"),
        ("alex.wilber@contoso.com", "Excel 2016", "", ""),
        ("0b0c3f3a-1c52-4c1e-9a55-7d0c5a2d0001", "=cmd", "1", ""),
        ("004512", "Python", "2", ""),
    ]


def test_inspect_writes_the_screen_and_a_template_that_merges_the_cluster(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "legacy.csv", _rows(), ("user", "skill", "level", "tags"))
    settings = load_settings(None, {"report": {"dir": str(tmp_path / "reports")}}, environ={})

    result = inspect_sources([source], settings)

    text = (result.report_dir / "inspect.txt").read_text("utf-8")
    assert text == result.text
    assert "displayName        <- 'skill'" in text
    assert "Skill names: 5 distinct ignoring case and spaces (6 spellings)" in text
    assert "'Guru'" in text
    assert "-> unmapped" in text
    assert "'ask me about'" in text
    assert "-> askMeAbout" in text
    assert "People: 4" in text
    assert "2  email" in text
    assert "1  GUID" in text
    assert "1  employee-id-like" in text
    with (result.report_dir / "skills_map.csv").open(encoding="utf-8-sig", newline="") as f:
        template = list(csv.DictReader(f))
    by_name = {row["from"]: row for row in template}
    assert set(by_name) == {"Excel", "MS Excel", "Excel 2016", "'=cmd", "Python"}
    assert by_name["Excel"]["count"] == "2"  # "excel" and "Excel " are one name
    assert {by_name[n]["to"] for n in ("Excel", "MS Excel", "Excel 2016")} == {"Excel"}
    assert by_name["Excel"]["cluster"] == by_name["MS Excel"]["cluster"] == "1"
    assert by_name["Python"]["to"] == "Python"
    assert by_name["Python"]["cluster"] == ""

    # The template, used as it is, merges the names (the formula-like name included).
    mapped = load_settings(
        None,
        {
            "input": {"skills_map": str(result.report_dir / "skills_map.csv")},
            "report": {"dir": str(tmp_path / "validated")},
        },
        environ={},
    )
    report = validate_files([source], mapped)
    with (report.report_dir / "results.csv").open(encoding="utf-8-sig", newline="") as f:
        names = [row["displayName"] for row in csv.DictReader(f) if row["action"] != "invalid"]
    assert set(names) == {"Excel", "'=cmd"}  # the employee id's row is invalid as a UPN


def test_inspect_reads_names_before_the_configured_map(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "legacy.csv", _rows(), ("user", "skill", "level", "tags"))
    skills_map = tmp_path / "map.csv"
    skills_map.write_text("from,to\nMS Excel,Excel\n", "utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"input:\n  skills_map: {skills_map}\nreport:\n  dir: {tmp_path / 'reports'}\n", "utf-8"
    )
    result = CliRunner().invoke(cli, ["inspect", "-c", str(config), str(source)])
    assert result.exit_code == 0, result.output
    assert "'MS Excel'" in result.stdout
    assert "skills_map.csv" in result.stdout
    assert len(list((tmp_path / "reports").glob("*/inspect.txt"))) == 1


def test_inspect_of_a_broken_source_is_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["inspect", "--report-dir", str(tmp_path), str(tmp_path / "missing.csv")]
    )
    assert result.exit_code == 2
    assert "file not found" in result.stderr
