"""Hostile cells are bad rows, never a bad run: NUL bytes, invisible characters, huge values.

Each problem makes its own row invalid with a message naming the row and the column; every
other row is validated (or imported) as usual. Only a file that is not a table at all (binary,
absurdly wide) is refused before anything is read or sent.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from importer.config import Settings, load_settings
from importer.errors import InputError
from importer.pipeline import RunResult, validate_files
from importer.read.headers import MAX_COLUMNS
from importer.sandbox import RunningSandbox
from importer.validate.row_model import MAX_CATEGORIES, MAX_CELL, MAX_USER, MAX_WEB_URL
from tests.conftest import BOB_UPN, ZOE_UPN
from tests.importing import import_file, results, skills_of, write_csv


def _settings(tmp_path: Path) -> Settings:
    return load_settings(None, {"report": {"dir": str(tmp_path / "reports")}}, environ={})


def _validate(tmp_path: Path, path: Path) -> tuple[RunResult, dict[str, dict[str, str]]]:
    result = validate_files([path], _settings(tmp_path))
    return result, {line["row"]: line for line in results(result)}


def _rejects(result: RunResult) -> list[dict[str, str]]:
    with (result.report_dir / "rejects.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


# --- NUL bytes ---------------------------------------------------------------------------------


def test_one_nul_byte_makes_its_row_invalid_and_the_other_rows_valid(tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(
        b"user,skill,level\n"
        b"ann@contoso.com,Python,expert\n"
        b"bob@contoso.com,Ex\x00cel,expert\n"
        b"zoe@contoso.com,SQL,3\n"
    )

    result, lines = _validate(tmp_path, path)

    assert result.exit_code == 1
    assert [lines[row]["action"] for row in ("2", "3", "4")] == ["valid", "invalid", "valid"]
    assert lines["3"]["errorType"] == "control-character"
    assert "column 'skill'" in lines["3"]["error"]
    assert "\\x00" in lines["3"]["error"]
    assert [r["user"] for r in _rejects(result)] == ["bob@contoso.com"]


def test_a_file_full_of_nul_bytes_is_still_refused_as_binary(tmp_path: Path) -> None:
    path = tmp_path / "utf16-without-bom.csv"
    path.write_bytes("user,skill\nann@contoso.com,Python\n".encode("utf-16-le"))

    with pytest.raises(InputError, match=r"utf16-without-bom\.csv: looks like a binary file"):
        validate_files([path], _settings(tmp_path))


# --- invisible and text-direction characters ---------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "column", "code"),
    [
        (("ann@contoso.com", "Pyt\u200bhon", "expert", ""), "skill", "U+200B ZERO WIDTH SPACE"),
        (("ann@contoso.com", "\u202eexe.txt", "expert", ""), "skill", "U+202E RIGHT-TO-LEFT"),
        (("ann@contoso.com", "Py\u200dthon", "expert", ""), "skill", "U+200D ZERO WIDTH JOINER"),
        (("ann@contoso.com", "\u3164", "expert", ""), "skill", "U+3164 HANGUL FILLER"),
        (("ann@contoso.com", "Python", "expert", "Tech\u2066"), "category", "U+2066"),
        (("ann@contoso.com", "Python", "exp\u00adert", ""), "level", "U+00AD SOFT HYPHEN"),
        (("ann\u200e@contoso.com", "Python", "expert", ""), "user", "U+200E LEFT-TO-RIGHT"),
    ],
)
def test_an_invisible_or_direction_character_makes_the_row_invalid_naming_the_column(
    tmp_path: Path, cells: tuple[str, ...], column: str, code: str
) -> None:
    path = write_csv(
        tmp_path / "hidden.csv", [("bob@contoso.com", "Python", "expert", "Tech"), cells]
    )

    result, lines = _validate(tmp_path, path)

    assert lines["2"]["action"] == "valid"
    assert lines["3"]["action"] == "invalid"
    assert lines["3"]["errorType"] == "invisible-character"
    assert f"column '{column}'" in lines["3"]["error"]
    assert code in lines["3"]["error"]
    assert result.exit_code == 1


def test_joiners_that_spell_persian_and_emoji_are_accepted(tmp_path: Path) -> None:
    persian = "برنامه\u200cنویسی"  # "programming": the ZWNJ is part of the spelling
    emoji = "Cooking \U0001f469\u200d\U0001f373"
    path = write_csv(
        tmp_path / "scripts.csv",
        [("ann@contoso.com", persian, "expert", ""), ("ann@contoso.com", emoji, "3", "")],
    )

    _, lines = _validate(tmp_path, path)

    assert [lines["2"]["action"], lines["3"]["action"]] == ["valid", "valid"]
    assert lines["2"]["displayName"] == persian


def test_control_characters_keep_their_own_error_type(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bell.csv", [("ann@contoso.com", "Py\x07\u200bthon", "3", "")])

    _, lines = _validate(tmp_path, path)

    assert lines["2"]["errorType"] == "control-character"


# --- size limits -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "column", "words"),
    [
        (("ann@contoso.com", "Python", "3", "x" * 9_000_000), "category", f"at most {MAX_CELL:,}"),
        (
            ("ann@contoso.com", "Python", "3", ";".join(f"c{n}" for n in range(60))),
            "category",
            f"at most {MAX_CATEGORIES}",
        ),
        (("ann@contoso.com", "Python", "3", "y" * 300), "category", "at most 255"),
        (("ann@contoso.com", "Python", "Guru" * 100, ""), "level", "at most 255"),
        (("ann@contoso.com", "Python", "3", "", "https://x.org/" + "p" * MAX_WEB_URL), "link", ""),
        (("a" * MAX_USER + "@contoso.com", "Python", "3", ""), "user", f"at most {MAX_USER}"),
    ],
)
def test_an_oversized_value_makes_only_its_row_invalid(
    tmp_path: Path, cells: tuple[str, ...], column: str, words: str
) -> None:
    path = write_csv(
        tmp_path / "big.csv",
        [("bob@contoso.com", "Python", "3", "Tech", ""), (*cells, "")[:5]],
        header=("user", "skill", "level", "category", "link"),
    )

    _, lines = _validate(tmp_path, path)

    assert lines["2"]["action"] == "valid"
    assert lines["3"]["action"] == "invalid"
    assert lines["3"]["errorType"] == "too-long"
    assert f"column '{column}'" in lines["3"]["error"]
    assert words in lines["3"]["error"]
    assert len(lines["3"]["error"]) < 400  # the message quotes a short excerpt at most


async def test_an_oversized_categories_cell_does_not_take_other_rows_down_with_it(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    rows = [(BOB_UPN, f"Skill {n}", "3", "Tech") for n in range(19)]
    rows.insert(7, (ZOE_UPN, "Huge", "3", "x" * 9_000_000))
    path = write_csv(tmp_path / "huge.csv", rows)

    result = await import_file(running_sandbox, tmp_path, path)

    lines = results(result)
    assert [line["action"] for line in lines].count("created") == 19
    [bad] = [line for line in lines if line["action"] != "created"]
    assert (bad["row"], bad["action"], bad["errorType"]) == ("9", "invalid", "too-long")
    assert len(await skills_of(running_sandbox, BOB_UPN)) == 19
    assert await skills_of(running_sandbox, ZOE_UPN) == []


# --- over-wide tables --------------------------------------------------------------------------


def test_a_header_wider_than_excel_allows_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    columns = MAX_COLUMNS + 10
    path.write_text(
        "user,skill," + ",".join(f"c{n}" for n in range(columns)) + "\n"
        "ann@contoso.com,Python" + "," * columns + "\n",
        encoding="utf-8",
    )

    with pytest.raises(InputError) as caught:
        validate_files([path], _settings(tmp_path))

    message = str(caught.value)
    assert message.startswith(f"{path}: row 1 has {columns + 2:,} columns")
    assert f"at most {MAX_COLUMNS:,}" in message
    assert len(message) < 300


def test_many_ignored_columns_are_summarised_not_listed(tmp_path: Path) -> None:
    path = tmp_path / "extra.csv"
    path.write_text(
        "user,skill,level," + ",".join(f"extra{n}" for n in range(5000)) + "\n"
        "ann@contoso.com,Python,3" + ",x" * 5000 + "\n",
        encoding="utf-8",
    )

    result, lines = _validate(tmp_path, path)

    assert lines["2"]["action"] == "valid"
    [warning] = [w for w in result.warnings if "ignoring" in w]
    assert "ignoring 5,000 columns: 'extra0', 'extra1'" in warning
    assert "'extra9' and 4,990 more" in warning
    assert "extra10'" not in warning
    summary = (result.report_dir / "summary.json").read_text(encoding="utf-8")
    assert warning in json.loads(summary)["warnings"]
    assert len(summary) < 4000
