"""The skills library file: which names it holds, how they are spelt, what is suggested."""

from __future__ import annotations

from pathlib import Path

import pytest

from importer.errors import ConfigError
from importer.orgdata import SkillsLibrary, load_library


def _library(tmp_path: Path, text: str, encoding: str = "utf-8") -> SkillsLibrary:
    path = tmp_path / "library.csv"
    path.write_bytes(text.encode(encoding))
    library = load_library(path)
    assert library is not None
    return library


def test_the_people_skills_export_is_read_by_its_name_column(tmp_path: Path) -> None:
    library = _library(
        tmp_path,
        "\ufeffexternalCode,Name.en_US,Description.en_US\r\n"
        "S1,Python,x\r\nS2,Microsoft Excel,y\r\n",
    )

    assert len(library) == 2
    assert library.spelling("  python ") == "Python"
    assert library.spelling("MICROSOFT EXCEL") == "Microsoft Excel"
    assert library.spelling("Excel") is None


def test_a_semicolon_list_with_a_skill_column_in_cp1252_works_too(tmp_path: Path) -> None:
    library = _library(tmp_path, "skill;owner\nRésumé Writing;HR\n", encoding="cp1252")

    assert library.spelling("résumé writing") == "Résumé Writing"


def test_an_unknown_name_gets_the_closest_library_names(tmp_path: Path) -> None:
    library = _library(
        tmp_path,
        "name\nPython\nPython (Programming Language)\nProject Management\nMicrosoft Excel\n",
    )

    assert library.suggest("Pyhton")[0] == "Python"
    assert "Microsoft Excel" in library.suggest("Excel")
    assert library.suggest("Underwater basket weaving") == []


def test_no_configured_library_means_no_check(tmp_path: Path) -> None:
    assert load_library(None) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("code,label\nS1,Python\n", r"no column of skill names.*Name\.en_US.*found code, label"),
        ("Name.en_US\n\n", r"lists no skill names"),
    ],
)
def test_a_library_that_cannot_be_used_stops_the_run_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "library.csv"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError, match=message) as caught:
        load_library(path)
    assert str(path) in str(caught.value)


def test_a_missing_library_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"orgdata\.library: .*missing\.csv: cannot read"):
        load_library(tmp_path / "missing.csv")
