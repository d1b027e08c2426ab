"""results.xlsx: Summary and Results sheets, frozen header, filters, colours, and its bound."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from importer.records import Action, InputSummary
from importer.report.csv_files import RESULT_COLUMNS
from tests.report.test_report import make_summary, make_table, new_writer, outcome, read_csv
from tests.report.test_report_rejects import HOSTILE

ALL = ("csv", "xlsx", "json")


def sheet_values(path: Path, name: str) -> list[list[Any]]:
    """Every non-empty row of one sheet, as values."""
    workbook = load_workbook(path, read_only=True)
    try:
        rows = [list(row) for row in workbook[name].iter_rows(values_only=True)]
    finally:
        workbook.close()
    return [row for row in rows if any(value is not None for value in row)]


def summary_of(path: Path) -> dict[str, Any]:
    """The Summary sheet as label -> value."""
    return {row[0]: row[1] for row in sheet_values(path, "Summary") if len(row) > 1}


def test_results_sheet_has_frozen_header_filter_and_coloured_actions(tmp_path: Path) -> None:
    table = make_table()
    writer = new_writer(tmp_path, ALL)
    actions = [
        Action.CREATED,
        Action.UNCHANGED,
        Action.FAILED,
        Action.DUPLICATE,
        Action.WOULD_UPDATE,
        Action.INVALID,
    ]
    for row, action in enumerate(actions, start=2):
        writer.add(outcome(table, row, [f"u{row}@contoso.com", "Go", "4"], action))
    folder = writer.finish(make_summary(writer.path.name))

    workbook = load_workbook(folder / "results.xlsx")
    assert workbook.sheetnames == ["Summary", "Results"]
    sheet = workbook["Results"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:T7"
    assert [cell.value for cell in sheet[1]] == list(RESULT_COLUMNS)
    colours = {
        sheet.cell(row, 13).value: sheet.cell(row, 13).fill.fgColor.rgb[-6:] for row in range(2, 8)
    }
    assert colours == {
        "created": "C6EFCE",
        "unchanged": "D9D9D9",
        "failed": "FFC7CE",
        "duplicate": "FFEB9C",
        "would-update": "DDEBF7",
        "invalid": "FFC7CE",
    }
    assert sheet.cell(2, 3).value == 2
    workbook.close()


def test_summary_sheet_shows_run_counts_inputs_and_exit(tmp_path: Path) -> None:
    writer = new_writer(tmp_path, ALL)
    writer.add(outcome(make_table(), 2, ["ann@contoso.com", "Go", ""], Action.INVALID))
    folder = writer.finish(make_summary(writer.path.name))

    summary = summary_of(folder / "results.xlsx")
    assert summary["Run id"] == folder.name
    assert summary["Target"] == "none (offline validation)"
    assert summary["invalid"] == 1
    assert "valid" not in summary  # actions without rows are left to summary.json
    assert summary["Exit code"] == 1
    assert summary["Reason"] == "1 row(s) invalid or failed: see rejects.csv"
    assert summary["Results sheet"] == "all 1 rows of results.csv"
    assert summary["skills.csv"].startswith("3 rows, 1 blank; sha256 abab")


def test_formula_like_cells_are_neutralised_in_results_csv_and_xlsx(tmp_path: Path) -> None:
    table = make_table(header=("Email", "Skill", "Level"))
    writer = new_writer(tmp_path, ALL)
    for row, value in enumerate(HOSTILE, start=2):
        writer.add(
            outcome(
                table,
                row,
                ["ann@contoso.com", value, ""],
                Action.INVALID,
                error=value,
                skill_id=value,
            )
        )
    folder = writer.finish(make_summary(writer.path.name))

    expected = ["'" + value for value in HOSTILE]
    csv_lines = read_csv(folder / "results.csv")[1:]
    assert [line[6] for line in csv_lines] == expected
    assert [line[18] for line in csv_lines] == expected
    assert [line[15] for line in csv_lines] == expected
    workbook = load_workbook(folder / "results.xlsx")
    sheet = workbook["Results"]
    cells = [sheet.cell(row, 7) for row in range(2, 2 + len(HOSTILE))]
    assert [cell.value for cell in cells] == expected
    assert {cell.data_type for cell in cells} == {"s"}
    workbook.close()


def test_above_the_row_limit_the_results_sheet_holds_only_rows_needing_attention(
    tmp_path: Path,
) -> None:
    table = make_table()
    writer = new_writer(tmp_path, ALL, xlsx_row_limit=5)
    for row in range(2, 12):
        action = {4: Action.INVALID, 7: Action.DUPLICATE, 9: Action.FAILED}.get(row, Action.VALID)
        writer.add(outcome(table, row, [f"u{row}@contoso.com", "Go", ""], action))
    folder = writer.finish(make_summary(writer.path.name))

    rows = sheet_values(folder / "results.xlsx", "Results")
    assert [(r[2], r[12]) for r in rows[1:]] == [(4, "invalid"), (7, "duplicate"), (9, "failed")]
    note = summary_of(folder / "results.xlsx")["Results sheet"]
    assert "3 rows needing attention" in note
    assert "results.csv holds every row" in note
    assert len(read_csv(folder / "results.csv")) == 11


def test_attention_rows_beyond_the_limit_are_cut_and_the_summary_says_so(tmp_path: Path) -> None:
    table = make_table()
    writer = new_writer(tmp_path, ALL, xlsx_row_limit=2)
    for row in range(2, 7):
        writer.add(outcome(table, row, [f"u{row}@contoso.com", "", ""], Action.INVALID))
    folder = writer.finish(make_summary(writer.path.name))

    rows = sheet_values(folder / "results.xlsx", "Results")
    assert [r[2] for r in rows[1:]] == [2, 3]
    note = summary_of(folder / "results.xlsx")["Results sheet"]
    assert note.startswith("the first 2 of the 5 rows needing attention")


def test_control_characters_and_huge_cells_do_not_break_the_workbook(tmp_path: Path) -> None:
    table = make_table()
    writer = new_writer(tmp_path, ALL)
    writer.add(
        outcome(table, 2, ["ann@contoso.com", "Go\x07lang", ""], Action.INVALID, error="x" * 40_000)
    )
    folder = writer.finish(make_summary(writer.path.name))

    (row,) = sheet_values(folder / "results.xlsx", "Results")[1:]
    assert row[6] == "Go\ufffdlang"
    assert len(row[18]) == 32_767
    assert read_csv(folder / "results.csv")[1][6] == "Go\x07lang"


def test_bounded_sheet_keeps_cells_with_line_breaks_and_follows_corrections(
    tmp_path: Path,
) -> None:
    table = make_table()
    writer = new_writer(tmp_path, ALL, xlsx_row_limit=3)
    for row in range(2, 8):
        action = Action.INVALID if row in (3, 6) else Action.VALID
        writer.add(outcome(table, row, [f"u{row}@contoso.com", f"Go\nv{row}", ""], action))
    plain = new_writer(tmp_path / "plain", ALL, xlsx_row_limit=3)
    for row in range(2, 8):
        plain.add(outcome(table, row, [f"u{row}@contoso.com", "Go", ""]))
    plain.correct([outcome(table, 4, ["u4@contoso.com", "Go", ""], Action.INVALID, error="x")])
    folder = writer.finish(make_summary(writer.path.name))
    plain_folder = plain.finish(make_summary(plain.path.name))

    rows = sheet_values(folder / "results.xlsx", "Results")
    assert [(r[2], r[6]) for r in rows[1:]] == [(3, "Go\nv3"), (6, "Go\nv6")]
    rows = sheet_values(plain_folder / "results.xlsx", "Results")
    assert [(r[2], r[12]) for r in rows[1:]] == [(4, "invalid")]


def test_a_file_name_with_undecodable_bytes_does_not_break_any_report_file(
    tmp_path: Path,
) -> None:
    name = b"skills-\xff.csv".decode("utf-8", "surrogateescape")
    writer = new_writer(tmp_path, ALL)
    writer.add(outcome(make_table(name), 2, ["ann@contoso.com", "Go", ""], Action.INVALID))
    inputs = [InputSummary(name, "ab" * 32, 3, 1)]
    summary = make_summary(writer.path.name, inputs=inputs, warnings=[f"{name}: column ignored"])
    folder = writer.finish(summary)

    assert read_csv(folder / "results.csv")[1][0] == "skills-\\udcff.csv"
    assert sheet_values(folder / "results.xlsx", "Results")[1][0] == "skills-\\udcff.csv"
    assert summary_of(folder / "results.xlsx")["skills-\\udcff.csv"].startswith("3 rows")
    assert "skills-\\udcff.csv: column ignored" in (folder / "summary.json").read_text("utf-8")


def test_summary_sheet_charts_rows_per_action_and_lists_error_types_with_an_example(
    tmp_path: Path,
) -> None:
    table = make_table()
    writer = new_writer(tmp_path, ALL)
    writer.add(outcome(table, 2, ["ann@contoso.com", "Go", "4"], Action.VALID))
    for row in (3, 4, 5):
        writer.add(
            outcome(
                table,
                row,
                [f"u{row}@contoso.com", "Go", "Guru"],
                Action.INVALID,
                error_type="invalid-enum",
                error=f"level 'Guru' on row {row} is not a level",
            )
        )
    writer.add(
        outcome(table, 6, ["x", "Go", ""], Action.INVALID, error_type="invalid-user", error="x?")
    )
    folder = writer.finish(make_summary(writer.path.name))

    workbook = load_workbook(folder / "results.xlsx")
    summary = workbook["Summary"]
    (chart,) = summary._charts
    assert chart.title.tx.rich.p[0].r[0].t == "Rows per action"
    plotted = chart.series[0].val.numRef.f
    first, last = (int(part.split("$")[-1]) for part in plotted.split("!")[1].split(":"))
    assert [
        (summary.cell(r, 1).value, summary.cell(r, 2).value) for r in range(first, last + 1)
    ] == [
        ("invalid", 4),
        ("valid", 1),
    ]
    rows = sheet_values(folder / "results.xlsx", "Summary")
    table_at = rows.index(["error type", "rows", "example"])
    assert rows[table_at + 1] == [
        "invalid-enum",
        3,
        "skills.csv row 3: level 'Guru' on row 3 is not a level",
    ]
    assert rows[table_at + 2][:2] == ["invalid-user", 1]
    document = json.loads((folder / "summary.json").read_text("utf-8"))
    assert document["error_types"][0] == {
        "type": "invalid-enum",
        "rows": 3,
        "example": "skills.csv row 3: level 'Guru' on row 3 is not a level",
    }


def test_markup_spaces_and_line_ends_in_cells_read_back_exactly_as_in_results_csv(
    tmp_path: Path,
) -> None:
    table = make_table()
    writer = new_writer(tmp_path, ALL)
    values = ["R&D <team>", "  indented ", "one\r\ntwo", "a > b & c"]
    for row, value in enumerate(values, start=2):
        writer.add(outcome(table, row, ["ann@contoso.com", value, ""], Action.INVALID, error=value))
    folder = writer.finish(make_summary(writer.path.name))

    csv_lines = read_csv(folder / "results.csv")[1:]
    rows = sheet_values(folder / "results.xlsx", "Results")[1:]
    assert [r[6] for r in rows] == [line[6] or None for line in csv_lines]
    assert [r[18] for r in rows] == [line[18] for line in csv_lines] == values
    assert [r[12] for r in rows] == ["invalid"] * 4


def test_noncharacters_xml_cannot_hold_are_replaced_in_the_workbook_only(tmp_path: Path) -> None:
    table = make_table()
    writer = new_writer(tmp_path, ALL)
    writer.add(outcome(table, 2, ["ann@contoso.com", "Go\uffffX\ufffe", ""], Action.INVALID))
    folder = writer.finish(make_summary(writer.path.name))

    (row,) = sheet_values(folder / "results.xlsx", "Results")[1:]
    assert row[6] == "Go\ufffdX\ufffd"
    assert read_csv(folder / "results.csv")[1][6] == "Go\uffffX\ufffe"
