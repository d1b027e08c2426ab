"""The reader on delimited text: encodings, delimiters, row numbers, headers, broken files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from importer.config import ColumnsSettings, InputSettings, Settings, load_settings
from importer.errors import InputError
from importer.read.reader import InputReader
from tests.data.inputs import HEADER, SAMPLES, read_rows, write_text


def test_sample_skills_csv_reads_every_row_with_its_line_number() -> None:
    reader, rows = read_rows(SAMPLES / "skills.csv")

    assert len(rows) == 80
    assert [r.row for r in rows] == list(range(2, 82))
    assert rows[0].get("user") == "adele.vance@contoso.com"
    assert rows[0].get("displayName") == "Python"
    assert reader.warnings == []
    [summary] = reader.summaries()
    assert summary.rows == 80
    assert summary.blank_rows == 0
    assert summary.sha256 == hashlib.sha256((SAMPLES / "skills.csv").read_bytes()).hexdigest()


def test_cp1252_semicolon_export_is_read_with_its_config(tmp_path: Path) -> None:
    settings = load_settings(SAMPLES / "legacy.config.yaml", environ={})

    reader, rows = read_rows(SAMPLES / "legacy_export.csv", settings=settings)

    assert rows[0].get("user") == "zoë.müller@contoso.com"
    assert rows[0].get("displayName") == "Créativité"
    assert rows[0].get("proficiency") == "4"
    assert rows[0].get("webUrl") == "https://wiki.contoso.com/créativité"
    assert reader.warnings == []


def test_cp1252_is_detected_without_config(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "legacy.csv",
        "Employee E-Mail;Skill Name;Skill Level\r\nrené@contoso.com;Négociation;3\r\n",
        encoding="cp1252",
    )

    _, [row] = read_rows(path)

    assert row.get("user") == "rené@contoso.com"
    assert row.get("displayName") == "Négociation"


def test_utf8_bom_does_not_hide_the_first_header(tmp_path: Path) -> None:
    path = write_text(tmp_path / "bom.csv", "\ufeffuser,skill\nzoë@contoso.com,Python\n")

    _, [row] = read_rows(path)

    assert row.get("user") == "zoë@contoso.com"


def test_utf16_unicode_text_from_excel_is_read(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "unicode.txt", "user\tskill\r\nzoë@contoso.com\tPython\r\n", "utf-16"
    )

    _, [row] = read_rows(path)

    assert (row.get("user"), row.get("displayName")) == ("zoë@contoso.com", "Python")


@pytest.mark.parametrize(
    ("name", "delimiter"),
    [("tab.txt", "\t"), ("pipe.csv", "|"), ("semi.csv", ";"), ("comma.csv", ",")],
)
def test_each_delimiter_is_sniffed(tmp_path: Path, name: str, delimiter: str) -> None:
    lines = (
        ["upn", "skill name", "level", "category"],
        ["a@contoso.com", "SQL, advanced", "4", "Tech"],
    )
    text = "".join(
        delimiter.join(f'"{c}"' if "," in c else c for c in line) + "\n" for line in lines
    )
    path = write_text(tmp_path / name, text)

    _, [row] = read_rows(path)

    assert row.cells == ("a@contoso.com", "SQL, advanced", "4", "Tech")


def test_configured_delimiter_wins_over_sniffing(tmp_path: Path) -> None:
    # Commas outnumber semicolons here; the config says the file is semicolon-separated.
    path = write_text(tmp_path / "x.csv", "user;skill\na@contoso.com;Sales, B2B, EMEA\n")
    settings = Settings(input=InputSettings(delimiter=";"))

    _, [row] = read_rows(path, settings=settings)

    assert row.get("displayName") == "Sales, B2B, EMEA"


def test_crlf_line_endings_leave_no_carriage_return_in_cells(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "crlf.csv", "user,skill\r\na@contoso.com,Python\r\nb@contoso.com,SQL\r\n"
    )

    _, rows = read_rows(path)

    assert [(r.row, r.cells) for r in rows] == [
        (2, ("a@contoso.com", "Python")),
        (3, ("b@contoso.com", "SQL")),
    ]


def test_multi_line_quoted_cell_keeps_later_row_numbers_as_an_editor_shows(tmp_path: Path) -> None:
    text = (
        "user,skill,notes\r\n"
        'a@contoso.com,Python,"first line\r\nsecond line\r\nthird line"\r\n'
        "b@contoso.com,SQL,\r\n"
        'c@contoso.com,Go,"x\ny"\n'
        "d@contoso.com,Rust,\n"
    )
    path = write_text(tmp_path / "multi.csv", text)

    reader, rows = read_rows(path)

    assert [(r.row, r.get("user")) for r in rows] == [
        (2, "a@contoso.com"),
        (5, "b@contoso.com"),
        (6, "c@contoso.com"),
        (8, "d@contoso.com"),
    ]
    assert rows[0].cells[2] == "first line\r\nsecond line\r\nthird line"
    assert reader.warnings == [f"{path}: ignoring column 'notes'"]


def test_blank_rows_are_skipped_counted_and_do_not_shift_row_numbers(tmp_path: Path) -> None:
    text = "user,skill,level\n\na@contoso.com,Python,4\n,,\n  , ,\nb@contoso.com,SQL,\n\n"
    path = write_text(tmp_path / "blanks.csv", text)

    reader, rows = read_rows(path)

    assert [r.row for r in rows] == [3, 6]
    assert reader.blank_rows == 4
    assert reader.summaries()[0].blank_rows == 4
    assert reader.summaries()[0].rows == 2


def test_title_rows_above_the_header_are_ignored(tmp_path: Path) -> None:
    text = "Skills export,,\nGenerated 2026-11-02,,\n\n" + HEADER + "\na@contoso.com,Python,4,,,,\n"
    path = write_text(tmp_path / "titled.csv", text)

    reader, [row] = read_rows(path)

    assert row.row == 5
    assert reader.tables[0].header_row == 4


def test_short_rows_are_padded_and_long_rows_cut_to_the_header(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "ragged.csv",
        "user,skill,level\na@contoso.com,Python\nb@contoso.com,SQL,3,extra\n",
    )

    _, rows = read_rows(path)

    assert [r.cells for r in rows] == [
        ("a@contoso.com", "Python", ""),
        ("b@contoso.com", "SQL", "3"),
    ]


def test_headers_match_ignoring_case_spaces_and_punctuation(tmp_path: Path) -> None:
    header = (
        "EMPLOYEE_E-MAIL,Skill-Name,proficiency level,Skill Category:,"
        "Collaboration Tags,VISIBILITY,Web URL"
    )
    path = write_text(
        tmp_path / "h.csv", header + "\na@contoso.com,Python,4,Tech,mentor,org,https://x.com\n"
    )

    reader, rows = read_rows(path)

    assert len(rows) == 1
    assert reader.tables[0].mapping == {
        "user": 0,
        "displayName": 1,
        "proficiency": 2,
        "categories": 3,
        "collaborationTags": 4,
        "allowedAudiences": 5,
        "webUrl": 6,
    }
    assert reader.warnings == []


def test_columns_from_config_add_header_aliases(tmp_path: Path) -> None:
    path = write_text(tmp_path / "de.csv", "Kennung,Fähigkeit,Stufe\na@contoso.com,Python,4\n")
    settings = Settings(
        columns=ColumnsSettings(
            user=("Kennung",), displayName=("Fähigkeit",), proficiency=("Stufe",)
        )
    )

    _, [row] = read_rows(path, settings=settings)

    assert (row.get("user"), row.get("displayName"), row.get("proficiency")) == (
        "a@contoso.com",
        "Python",
        "4",
    )


def test_unknown_columns_are_warned_about_once_per_file(tmp_path: Path) -> None:
    text = "user,Department,skill,Manager\n" + "a@contoso.com,HR,Python,bob\n" * 3
    one = write_text(tmp_path / "one.csv", text)
    two = write_text(tmp_path / "two.csv", text)

    reader, rows = read_rows(one, two)

    assert len(rows) == 6
    assert reader.warnings == [
        f"{one}: ignoring columns 'Department', 'Manager'",
        f"{two}: ignoring columns 'Department', 'Manager'",
    ]


def _error(tmp_path: Path, name: str, data: bytes | None) -> str:
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(InputError) as caught:
        InputReader([path], Settings())
    message = str(caught.value)
    assert str(path) in message
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("missing.csv", None, "file not found"),
        ("empty.csv", b"", "empty"),
        ("whitespace.csv", b"\r\n\r\n  \n", "empty"),
        ("header-only.csv", b"user,skill\n", "no data rows"),
        ("header-and-blanks.csv", b"user,skill\n,\n\n", "no data rows"),
        ("binary.csv", bytes(range(256)) * 4, "binary"),
        ("skills.json", b'{"user": "a"}', "unsupported file type '.json'"),
        ("old.xls", b"\xd0\xcf\x11\xe0", ".xls"),
        (
            "two-users.csv",
            b"upn,email,skill\na,b,c\n",
            "columns 'upn' and 'email' both map to user",
        ),
    ],
)
def test_broken_inputs_fail_up_front_naming_the_file(
    tmp_path: Path, name: str, data: bytes | None, expected: str
) -> None:
    assert expected in _error(tmp_path, name, data)


def test_missing_required_column_lists_headers_seen_and_aliases_accepted(tmp_path: Path) -> None:
    message = _error(tmp_path, "nouser.csv", b"Name,Skill,Level\nAnn,Python,4\n")

    assert "'Name', 'Skill', 'Level'" in message
    assert "userPrincipalName" in message
    assert "employee email" in message


def test_a_folder_is_not_an_input(tmp_path: Path) -> None:
    (tmp_path / "folder.csv").mkdir()

    assert "folder" in _error(tmp_path, "folder.csv", None)


def test_invalid_bytes_in_a_named_encoding_fail_naming_the_codec(tmp_path: Path) -> None:
    path = write_text(tmp_path / "bad.csv", "user,skill\na@contoso.com,Pyth\xe9n\n", "latin-1")

    with pytest.raises(InputError, match=r"bad\.csv: is not valid utf-8"):
        InputReader([path], Settings(input=InputSettings(encoding="utf-8")))


def test_first_broken_file_fails_before_any_row_is_read(tmp_path: Path) -> None:
    good = write_text(tmp_path / "good.csv", "user,skill\na@contoso.com,Python\n")

    with pytest.raises(InputError, match=r"later\.csv: file not found"):
        InputReader([good, tmp_path / "later.csv"], Settings())


@hyp_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.one_of(
        st.binary(max_size=400),
        st.binary(max_size=400).map(lambda tail: b"user,skill,level\n" + tail),
        st.text(max_size=200).map(lambda tail: ("upn;skill\r\n" + tail).encode("utf-8")),
    )
)
def test_arbitrary_bytes_give_rows_or_an_input_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    try:
        reader = InputReader([path], Settings())
    except InputError as exc:
        message = str(exc)
        reader = None
    if reader is None:
        assert message.startswith(f"{path}: ")
        return
    rows = list(reader.rows())
    assert rows
    assert all(len(r.cells) == len(r.table.header) for r in rows)
    assert reader.summaries()[0].rows == len(rows)


def test_excel_separator_hint_line_is_skipped_like_a_title(tmp_path: Path) -> None:
    path = write_text(tmp_path / "hint.csv", "sep=;\r\nuser;skill\r\na@contoso.com;Python\r\n")

    reader, [row] = read_rows(path)

    assert (row.row, row.get("displayName")) == (3, "Python")
    assert reader.tables[0].header_row == 2


def test_unknown_encoding_name_is_an_input_error(tmp_path: Path) -> None:
    path = write_text(tmp_path / "x.csv", "user,skill\na@contoso.com,Python\n")

    with pytest.raises(InputError, match=r"x\.csv: unknown encoding 'klingon'"):
        InputReader([path], Settings(input=InputSettings(encoding="klingon")))


def test_nul_bytes_after_non_utf8_text_still_mean_binary(tmp_path: Path) -> None:
    # The NULs come after the first megabyte, read after the file proved not to be UTF-8.
    # Runs of NULs mean binary content; a lone stray NUL is one bad cell (test_hostile_cells).
    text = "user,skill\n" + "rené@contoso.com,Négociation\n" * 40_000
    data = text.encode("cp1252") + b"\x00\x00\x01\x02" * 8

    assert "binary" in _error(tmp_path, "late-nul.csv", data)
