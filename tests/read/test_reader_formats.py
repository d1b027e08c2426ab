"""Every workbook format reads alike (.xls, .ods, .xlsb next to .xlsx), and within bounds."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import importer.read.workbook as workbook
from importer.cli import cli
from importer.config import InputSettings, Settings
from importer.errors import InputError
from importer.read.reader import InputReader
from tests.data.inputs import read_rows, write_xlsx
from tests.data.workbooks import WRITERS

SHEETS: dict[str, Sequence[Sequence[Any]]] = {
    "Notes": [("Read me first",)],
    "People": [
        ("Skills export — people", None, None, None),
        (),
        ("UPN", "Skill", "Level", "Since"),
        ("a@contoso.com", "007", 4, dt.date(2024, 3, 1)),
        ("b@contoso.com", "SQL", "3", None),
        (),
        ("c@contoso.com", "Go", 2.5, None),
    ],
}


@pytest.mark.parametrize("suffix", [".xls", ".ods", ".xlsb", ".xlsx"])
def test_every_format_gives_the_same_rows_numbers_and_texts(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"skills{suffix}"
    if suffix == ".xlsx":
        write_xlsx(path, SHEETS)
    else:
        WRITERS[suffix](path, SHEETS)

    reader, rows = read_rows(path)

    # The title row and the blank row above the header are skipped; row numbers are Excel's.
    assert [(r.table.sheet, r.row, r.cells) for r in rows] == [
        ("People", 4, ("a@contoso.com", "007", "4", "2024-03-01")),
        ("People", 5, ("b@contoso.com", "SQL", "3", "")),
        ("People", 7, ("c@contoso.com", "Go", "2.5", "")),
    ]
    assert reader.warnings == [
        f"{path} [Notes]: no header row found; sheet skipped",
        f"{path} [People]: ignoring column 'Since'",
    ]
    assert reader.blank_rows == 1


@pytest.mark.parametrize("suffix", [".xls", ".ods", ".xlsb"])
def test_sheet_selection_works_in_every_format(tmp_path: Path, suffix: str) -> None:
    sheets: dict[str, Sequence[Sequence[Any]]] = {
        "One": [("UPN", "Skill"), ("a@contoso.com", "Python")],
        "Two": [("UPN", "Skill"), ("b@contoso.com", "SQL")],
    }
    path = WRITERS[suffix](tmp_path / f"two{suffix}", sheets)

    _, rows = read_rows(path, settings=Settings(input=InputSettings(sheets=("two",))))

    assert [(r.table.sheet, r.get("user")) for r in rows] == [("Two", "b@contoso.com")]


def test_a_csv_renamed_xls_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "export.xls"
    path.write_text("user,skill\na@contoso.com,Python\n", encoding="utf-8")

    with pytest.raises(InputError, match=r"export\.xls: is not an Excel 97-2003 workbook"):
        InputReader([path], Settings())


def _bomb(path: Path, size: int) -> Path:
    """A workbook whose shared strings unpack to ``size`` bytes from a few kilobytes."""
    plain = write_xlsx(path.with_name("plain.xlsx"), {"S": [("UPN", "Skill"), ("a@x.com", "P")]})
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            out.writestr(item.filename, source.read(item.filename))
        with out.open("xl/padding.xml", "w") as member:
            chunk = b"A" * (1 << 20)
            for _ in range(size >> 20):
                member.write(chunk)
    return path


def test_a_zip_bomb_is_refused_before_it_is_unpacked_into_memory(tmp_path: Path) -> None:
    path = _bomb(tmp_path / "bomb.xlsx", 64 << 20)
    assert path.stat().st_size < 1 << 20  # small on disk

    result = CliRunner().invoke(cli, ["validate", str(path), "--report-dir", str(tmp_path / "r")])

    assert result.exit_code == 2
    assert "bomb.xlsx: is refused" in result.output
    assert "zip bomb" in result.output
    assert not (tmp_path / "r").exists()  # refused before any report folder


def test_a_workbook_unpacking_past_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workbook, "MAX_DECOMPRESSED_BYTES", 4 << 20)
    path = _bomb(tmp_path / "big.xlsx", 8 << 20)

    with pytest.raises(InputError, match=r"big\.xlsx: is refused: it unpacks to more than"):
        InputReader([path], Settings())


def test_a_cell_at_or_past_excels_limit_stops_the_read_naming_the_cell(tmp_path: Path) -> None:
    long = "x" * (workbook.MAX_CELL_CHARS + 1)
    path = write_xlsx(
        tmp_path / "long.xlsx",
        {"S": [("UPN", "Skill", "Notes"), ("a@x.com", "P", ""), ("b@x.com", "Q", long)]},
    )

    with pytest.raises(InputError) as caught:
        InputReader([path], Settings())

    assert str(caught.value) == (
        f"{path} [sheet 'S']: cell C3 reaches Excel's limit of 32,767 characters in a cell (a "
        f"longer cell is cut there when read); shorten it"
    )


def test_merged_cells_read_in_their_top_left_cell_only(tmp_path: Path) -> None:
    # What calamine does not show: the other cells of a merged range read empty (as openpyxl's
    # reader did). A merged skill name over two rows gives the second row an empty name.
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["UPN", "Skill", "Level"])
    sheet.append(["a@x.com", "Python", 3])
    sheet.append(["b@x.com", None, 2])
    sheet.merge_cells("B2:B3")
    path = tmp_path / "merged.xlsx"
    book.save(path)

    _, rows = read_rows(path)

    assert [r.get("displayName") for r in rows] == ["Python", ""]


def test_a_utf16_tsv_export_reads_like_any_csv(tmp_path: Path) -> None:
    path = tmp_path / "export.tsv"
    path.write_bytes(
        "Employee Email\tSkill\tLevel\r\nzoë@contoso.com\tRésumé writing\t3\r\n".encode("utf-16")
    )

    _, [row] = read_rows(path)

    assert (row.get("user"), row.get("displayName"), row.get("proficiency")) == (
        "zoë@contoso.com",
        "Résumé writing",
        "3",
    )


def test_hidden_rows_are_read_like_visible_ones(tmp_path: Path) -> None:
    # What calamine does not show: whether a row is hidden. A hidden row is imported like any
    # other (as the openpyxl reader did); README says so.
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["UPN", "Skill"])
    sheet.append(["a@x.com", "Python"])
    sheet.append(["b@x.com", "SQL"])
    sheet.row_dimensions[3].hidden = True
    path = tmp_path / "hidden.xlsx"
    book.save(path)

    _, rows = read_rows(path)

    assert [r.get("displayName") for r in rows] == ["Python", "SQL"]
