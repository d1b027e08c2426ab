"""The shape stage: matrix and list sources become one row per skill; auto tells them apart."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from importer.config import Settings, load_settings
from importer.errors import InputError
from importer.pipeline import validate_files
from importer.records import SourceRow
from importer.shape import Shaper
from tests.data.inputs import read_rows, write_text, write_xlsx


def _settings(tmp_path: Path, **input_settings: Any) -> Settings:
    config = tmp_path / "config.yaml"
    config.write_text("", encoding="utf-8")
    overrides: dict[str, Any] = {"report": {"dir": str(tmp_path / "reports")}}
    if input_settings:
        overrides["input"] = input_settings
    return load_settings(config, overrides, environ={})


def _shape(path: Path, settings: Settings) -> tuple[Shaper, list[SourceRow]]:
    _, rows = read_rows(path, settings=settings)
    shaper = Shaper(settings)
    return shaper, list(shaper.shape(rows))


def _skills(rows: list[SourceRow]) -> list[tuple[int, str, str, str, str]]:
    return [
        (r.row, r.column, r.get("user"), r.get("displayName"), r.get("proficiency")) for r in rows
    ]


MATRIX: dict[str, Sequence[Sequence[Any]]] = {
    "Matrix": [
        ("Skills matrix 2026",),
        ("Email", "Department", "Python", "SQL", "Excel"),
        ("a@contoso.com", "IT", 5, None, "beginner"),
        ("b@contoso.com", "Sales", None, None, None),
        ("c@contoso.com", "IT", 2, 3, 4),
    ]
}


def test_auto_reads_a_matrix_one_row_per_non_blank_skill_cell(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "m.xlsx", MATRIX)

    shaper, rows = _shape(path, _settings(tmp_path))

    assert _skills(rows) == [
        (3, "C", "a@contoso.com", "Python", "5"),
        (3, "E", "a@contoso.com", "Excel", "beginner"),
        (5, "C", "c@contoso.com", "Python", "2"),
        (5, "D", "c@contoso.com", "SQL", "3"),
        (5, "E", "c@contoso.com", "Excel", "4"),
    ]
    [decision] = shaper.decisions
    assert (decision.layout, decision.skill_columns) == ("matrix", ("Python", "SQL", "Excel"))
    assert shaper.warnings == [
        f"{path} [Matrix]: ignoring column 'Department' (not skill columns: their cells are not "
        f"levels; list them under input.skill_columns if they are skills)"
    ]


@pytest.mark.parametrize("columns", [("Python", "sql"), ("C:D",), ("C", "D")])
def test_skill_columns_pick_the_matrix_columns_by_name_or_letter(
    tmp_path: Path, columns: tuple[str, ...]
) -> None:
    path = write_xlsx(tmp_path / "m.xlsx", MATRIX)

    _, rows = _shape(path, _settings(tmp_path, layout="matrix", skill_columns=list(columns)))

    assert {r.get("displayName") for r in rows} == {"Python", "SQL"}


def test_an_unknown_skill_column_is_an_input_error(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "m.xlsx", MATRIX)

    with pytest.raises(InputError, match=r"input.skill_columns names 'Java'"):
        _shape(path, _settings(tmp_path, layout="matrix", skill_columns=["Java"]))


def test_a_list_cell_gives_one_row_per_skill_with_its_level(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "l.csv",
        "Employee Email,Skills\n"
        'a@contoso.com,"Python (Expert); SQL (Advanced); Excel"\n'
        'b@contoso.com,"Cooking (Guru); Go(2)"\n'
        "c@contoso.com,\n",
    )

    shaper, rows = _shape(path, _settings(tmp_path))

    assert _skills(rows) == [
        (2, "B", "a@contoso.com", "Python", "Expert"),
        (2, "B", "a@contoso.com", "SQL", "Advanced"),
        (2, "B", "a@contoso.com", "Excel", ""),
        (3, "B", "b@contoso.com", "Cooking", "Guru"),  # never part of the name
        (3, "B", "b@contoso.com", "Go", "2"),
        (4, "B", "c@contoso.com", "", ""),  # reported as a missing skill name, not lost
    ]
    assert [d.layout for d in shaper.decisions] == ["list"]


def test_auto_refuses_a_table_it_cannot_tell_naming_the_layout_to_use(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "x.xlsx",
        {"S": [("Email", "Department", "Manager"), ("a@contoso.com", "IT", "Bob")]},
    )

    with pytest.raises(InputError) as caught:
        _shape(path, _settings(tmp_path))

    assert "cannot tell the layout" in str(caught.value)
    assert "--layout" in str(caught.value)


def test_auto_refuses_list_like_cells_beside_a_level_column(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "x.csv",
        'user,skill,level\na@contoso.com,"Python; SQL",3\nb@contoso.com,"Go; Rust",2\n',
    )

    with pytest.raises(InputError, match=r"--layout list .* or --layout rows"):
        _shape(path, _settings(tmp_path))


def test_layout_list_needs_a_skill_column(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "m.xlsx", MATRIX)

    with pytest.raises(InputError) as caught:
        _shape(path, _settings(tmp_path, layout="list"))

    assert "no header row with both a user and a displayName column" in str(caught.value)
    assert str(caught.value).endswith("run with --layout matrix")


def _two_row_header(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "S"
    sheet.append(["Employee Email", "Skill", None, "Category"])
    sheet.append([None, "Name", "Level", None])
    sheet.append(["a@contoso.com", "Python", 4, "IT"])
    sheet.merge_cells("B1:C1")
    sheet.merge_cells("A1:A2")
    book.save(path)
    return path


def test_a_two_row_merged_header_is_read_as_one_and_keeps_the_level(tmp_path: Path) -> None:
    path = _two_row_header(tmp_path / "two.xlsx")

    reader, rows = read_rows(path, settings=_settings(tmp_path))

    [row] = rows
    assert row.row == 3
    assert row.table.header == ("Employee Email", "Skill Name", "Skill Level", "Category")
    assert (row.get("displayName"), row.get("proficiency"), row.get("categories")) == (
        "Python",
        "4",
        "IT",
    )
    assert reader.warnings == []


def test_a_two_row_header_that_does_not_make_sense_is_refused(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "bad.xlsx",
        {"S": [("Email", "Skill", None), (None, "Level", "Level"), ("a@contoso.com", "P", 3)]},
    )

    with pytest.raises(InputError, match=r"the header spans rows 1 and 2"):
        read_rows(path, settings=_settings(tmp_path))


def test_summary_records_the_layout_and_a_missing_level_column_once(tmp_path: Path) -> None:
    path = write_text(tmp_path / "s.csv", "user,skill\na@contoso.com,Python\nb@contoso.com,Go\n")

    result = validate_files([path], _settings(tmp_path))

    summary = json.loads((result.report_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["layout"] == "rows"
    assert summary["layouts"][0]["layout"] == "rows"
    missing = [w for w in summary["warnings"] if "no level column" in w]
    assert len(missing) == 1


def _results(result_dir: Path) -> list[dict[str, str]]:
    import csv

    with (result_dir / "results.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_skill_twice_in_one_matrix_row_keeps_every_other_cell_reported(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "dup.xlsx",
        {
            "M": [
                ("Email", "Python", "SQL", "Python"),
                ("a@contoso.com", 5, 3, 2),
                ("b@contoso.com", 4, None, 4),
            ]
        },
    )

    result = validate_files([path], _settings(tmp_path))

    lines = [
        (r["row"], r["column"], r["displayName"], r["action"]) for r in _results(result.report_dir)
    ]
    assert lines == [
        ("2", "B", "Python", "invalid"),  # conflicting with D2
        ("2", "C", "SQL", "valid"),
        ("2", "D", "Python", "invalid"),
        ("3", "B", "Python", "valid"),
        ("3", "D", "Python", "duplicate"),
    ]
    assert result.counts["invalid"] == 2
    assert result.counts["valid"] == 2


def test_a_skill_twice_in_one_list_cell_corrects_only_that_skill(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "l.csv", 'Email,Skills\na@contoso.com,"Python (3); SQL; Python (5)"\n'
    )

    result = validate_files([path], _settings(tmp_path))

    lines = [(r["column"], r["displayName"], r["action"]) for r in _results(result.report_dir)]
    assert lines == [
        ("B", "Python", "invalid"),
        ("B", "SQL", "valid"),
        ("B", "Python", "invalid"),
    ]


def test_inspect_reads_a_matrix_through_the_shape_stage(tmp_path: Path) -> None:
    from importer.inspect import inspect_sources
    from tests.data.inputs import SAMPLES

    result = inspect_sources([SAMPLES / "skills_matrix.xlsx"], _settings(tmp_path))

    assert "layout: matrix" in result.text
    assert "skill columns      <- 'Python', 'SQL', 'Excel'" in result.text
    assert set(result.survey.names) >= {"Python", "Negotiation", "Public Speaking"}


def test_values_under_a_column_without_header_are_named_once(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "m.xlsx",
        {"M": [("Email", "Python", None), ("a@contoso.com", 4, 3), ("b@contoso.com", 2, 5)]},
    )

    shaper, rows = _shape(path, _settings(tmp_path))

    assert [r.get("displayName") for r in rows] == ["Python", "Python"]
    assert shaper.warnings == [
        f"{path} [M]: column C holds values but no header; it is ignored (give it a header to "
        f"import it)"
    ]
