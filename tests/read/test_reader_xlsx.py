"""The reader on Excel workbooks: sheets, title rows, Excel row numbers, typed cells, bad files."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from importer.config import InputSettings, Settings
from importer.errors import InputError
from importer.read.reader import InputReader
from tests.data.inputs import SAMPLES, read_rows, write_xlsx

HEADER = ("UPN", "Skill Name", "Level")


def test_sample_workbook_reads_both_sheets_below_their_title_rows() -> None:
    reader, rows = read_rows(SAMPLES / "skills.xlsx")

    by_sheet = {
        sheet: [r for r in rows if r.table.sheet == sheet] for sheet in ("Engineering", "Sales")
    }
    assert [len(v) for v in by_sheet.values()] == [15, 15]
    # Row 1 is the title, row 2 blank, row 3 the header: data starts on Excel row 4.
    assert [r.row for r in by_sheet["Sales"]] == list(range(4, 19))
    assert by_sheet["Engineering"][0].cells[:3] == ("adele.vance@contoso.com", "Kubernetes", "4")
    [summary] = reader.summaries()
    assert summary.sheets == ("Engineering", "Sales")
    assert summary.rows == 30
    assert reader.warnings == []


def test_numbers_dates_and_booleans_read_as_the_text_excel_shows(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "typed.xlsx",
        {
            "S": [
                ("user", "skill", "level", "since", "active", "score", "at"),
                (
                    "a@contoso.com",
                    "Python",
                    4.0,
                    dt.datetime(2024, 3, 1),
                    True,
                    2.5,
                    dt.time(9, 30),
                ),
                ("b@contoso.com", 2024, 3, dt.date(2023, 12, 31), False, None, None),
            ]
        },
    )

    _, rows = read_rows(path)

    assert rows[0].cells == (
        "a@contoso.com",
        "Python",
        "4",
        "2024-03-01",
        "TRUE",
        "2.5",
        "09:30:00",
    )
    assert rows[1].cells == ("b@contoso.com", "2024", "3", "2023-12-31", "FALSE", "", "")


def test_blank_rows_are_skipped_counted_and_row_numbers_stay_excels(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "gaps.xlsx",
        {
            "S": [
                HEADER,
                ("a@contoso.com", "Python", 3),
                (),
                (None, "  ", None),
                ("b@contoso.com", "SQL", 2),
            ]
        },
    )

    reader, rows = read_rows(path)

    assert [r.row for r in rows] == [2, 5]
    assert reader.blank_rows == 2


def test_sheet_option_reads_only_the_chosen_sheet_matched_ignoring_case(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "two.xlsx",
        {
            "One": [HEADER, ("a@contoso.com", "Python", 3)],
            "Two": [HEADER, ("b@contoso.com", "SQL", 2)],
        },
    )

    reader, rows = read_rows(path, settings=Settings(input=InputSettings(sheets=("two",))))

    assert [(r.table.sheet, r.get("user")) for r in rows] == [("Two", "b@contoso.com")]
    assert reader.summaries()[0].sheets == ("Two",)


def test_unknown_sheet_fails_listing_the_sheets(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "two.xlsx", {"One": [HEADER, ("a@x.com", "P", 1)], "Two": [HEADER]}
    )

    with pytest.raises(InputError) as caught:
        InputReader([path], Settings(input=InputSettings(sheets=("Three",))))

    assert str(caught.value) == f"{path}: has no sheet named 'Three' (sheets: One, Two)"


def test_sheet_without_header_is_skipped_with_a_warning_when_others_have_one(
    tmp_path: Path,
) -> None:
    path = write_xlsx(
        tmp_path / "notes.xlsx",
        {
            "Notes": [("Read me first",), ("This workbook holds skills",)],
            "Data": [HEADER, ("a@x.com", "P", 1)],
        },
    )

    reader, rows = read_rows(path)

    assert len(rows) == 1
    assert reader.warnings == [f"{path} [Notes]: no header row found; sheet skipped"]


def test_workbook_where_no_sheet_has_a_header_fails(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "none.xlsx", {"A": [("x", "y")], "B": [("Name", "Skill")]})

    with pytest.raises(InputError, match="no sheet has a header row"):
        InputReader([path], Settings())


def test_single_sheet_without_header_names_the_sheet_and_what_it_saw(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "one.xlsx", {"People": [("Name", "Skill"), ("Ann", "Python")]})

    with pytest.raises(InputError) as caught:
        InputReader([path], Settings())

    assert str(caught.value).startswith(f"{path} [sheet 'People']: no header row")
    assert "'Name', 'Skill'" in str(caught.value)


def test_header_only_workbook_fails(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "header.xlsx", {"S": [HEADER, (), (None, None)]})

    with pytest.raises(InputError, match="no data rows"):
        InputReader([path], Settings())


def test_csv_renamed_to_xlsx_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "renamed.xlsx"
    shutil.copy(SAMPLES / "skills.csv", path)

    with pytest.raises(InputError, match="renamed"):
        InputReader([path], Settings())


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_truncated_workbook_fails_up_front(tmp_path: Path, keep: float) -> None:
    data = (SAMPLES / "skills.xlsx").read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(data[: int(len(data) * keep)])

    with pytest.raises(InputError, match=r"cut\.xlsx: .*(truncated or corrupt|workbook)"):
        InputReader([path], Settings())


def test_corrupted_member_is_caught_before_any_row_is_read(tmp_path: Path) -> None:
    data = bytearray((SAMPLES / "skills.xlsx").read_bytes())
    middle = len(data) // 2
    data[middle : middle + 40] = bytes(40)
    path = tmp_path / "flipped.xlsx"
    path.write_bytes(bytes(data))

    with pytest.raises(InputError, match=r"flipped\.xlsx"):
        InputReader([path], Settings())


def test_empty_xlsx_file_fails(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")

    with pytest.raises(InputError, match="empty"):
        InputReader([path], Settings())


def test_csv_and_workbook_rows_stream_in_the_order_given(tmp_path: Path) -> None:
    book = write_xlsx(tmp_path / "b.xlsx", {"S": [HEADER, ("b@contoso.com", "SQL", 2)]})
    text = tmp_path / "a.csv"
    text.write_text("user,skill\na@contoso.com,Python\n", encoding="utf-8")

    reader, rows = read_rows(text, book)

    assert [(r.table.source, r.row) for r in rows] == [(str(text), 2), (str(book), 2)]
    assert [s.rows for s in reader.summaries()] == [1, 1]


def test_stopping_early_closes_the_workbook(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "w.xlsx", {"S": [HEADER, *[("a@x.com", f"S{i}", 1) for i in range(5)]]}
    )
    reader = InputReader([path], Settings())
    rows = reader.rows()

    first = next(rows)
    rows.close()  # an unclosed workbook would raise ResourceWarning (warnings are errors)

    assert first.row == 2


def test_workbook_openpyxl_warns_about_still_reads(tmp_path: Path) -> None:
    # Workbooks written by other tools often lack a default cell style; openpyxl warns about
    # it (warnings are errors in this test suite), the reader must not care.
    plain = write_xlsx(tmp_path / "plain.xlsx", {"S": [HEADER, ("a@contoso.com", "Python", 3)]})
    path = tmp_path / "nostyle.xlsx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/styles.xml":
                data = re.sub(rb"<cellStyles .*?</cellStyles>", b"", data)
            target.writestr(item, data)

    _, rows = read_rows(path)

    assert [r.get("proficiency") for r in rows] == ["3"]


def test_chosen_sheet_without_header_fails_even_when_others_have_one(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "chosen.xlsx",
        {"Notes": [("Read me",)], "Data": [HEADER, ("a@contoso.com", "Python", 3)]},
    )

    with pytest.raises(InputError, match=r"\[sheet 'Notes'\]: no header row"):
        InputReader([path], Settings(input=InputSettings(sheets=("Notes", "Data"))))
