"""A workbook renamed .csv is named for what it is, with the name to give it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from importer.config import load_settings
from importer.errors import InputError
from importer.read.reader import InputReader
from tests.conftest import invoke_cli
from tests.data.inputs import SAMPLES, write_xlsx


def _read(path: Path, tmp_path: Path) -> InputError:
    config = tmp_path / "config.yaml"
    config.write_text("", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        InputReader([path], load_settings(config, environ={}))
    return caught.value


def test_an_xlsx_renamed_csv_says_it_is_an_excel_workbook_and_how_to_name_it(
    tmp_path: Path,
) -> None:
    workbook = write_xlsx(tmp_path / "skills.xlsx", {"S": [("user", "skill"), ("a@b.com", "X")]})
    renamed = workbook.rename(tmp_path / "skills.csv")

    message = str(_read(renamed, tmp_path))

    assert message.startswith(f"{renamed}: this is an Excel workbook named .csv")
    assert "rename it skills.xlsx" in message
    assert "NUL" not in message


def test_an_xls_renamed_csv_is_recognised_by_its_ole2_signature(tmp_path: Path) -> None:
    renamed = tmp_path / "export.txt"
    renamed.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))

    message = str(_read(renamed, tmp_path))

    assert "this is an Excel workbook (Excel 97-2003, or password-protected) named .txt" in message
    assert "rename it export.xls" in message


def test_the_cli_refuses_a_renamed_workbook_with_exit_2_and_one_line(
    config: Path, tmp_path: Path
) -> None:
    renamed = tmp_path / "matrix.csv"
    shutil.copy(SAMPLES / "skills_matrix.xlsx", renamed)

    code, _, err = invoke_cli("validate", "-c", str(config), str(renamed))

    assert code == 2
    assert "this is an Excel workbook named .csv" in err
    assert "rename it matrix.xlsx" in err


def test_a_plain_zip_named_csv_is_still_binary(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "archive.csv"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "x" * 1000)

    assert "binary" in str(_read(path, tmp_path))
