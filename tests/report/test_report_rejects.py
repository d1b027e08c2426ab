"""rejects.csv: the original columns of invalid and failed rows plus ``error``, ready to fix."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from importer.config import Settings
from importer.read.reader import InputReader
from importer.records import Action, RowOutcome, SkillRow, header_key
from importer.report.csv_files import neutralise
from importer.report.writer import ReportWriter, new_run_id
from importer.validate.validator import Validator
from tests.report.test_report import make_summary, make_table, new_writer, outcome, read_csv

HOSTILE = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1,2)", "-2+3"]


def test_rejects_hold_the_original_columns_plus_error_for_invalid_and_failed_rows(
    tmp_path: Path,
) -> None:
    table = make_table(header=("E-Mail", "Skill", "Level", "Notes"))
    writer = new_writer(tmp_path)
    writer.add(outcome(table, 2, ["ann@contoso.com", "Python", "4", "ok"]))
    writer.add(
        outcome(
            table,
            3,
            ["ann@contoso.com", "SQL", "Guru", "x"],
            Action.INVALID,
            error_type="invalid-enum",
            error="proficiency 'Guru' is not one of ...",
        )
    )
    writer.add(
        outcome(
            table,
            4,
            ["zed@contoso.com", "Go", "5", ""],
            Action.FAILED,
            status=404,
            error_type="user-not-found",
            error="user zed@contoso.com not found",
        )
    )
    folder = writer.finish(make_summary(writer.path.name))

    assert read_csv(folder / "rejects.csv") == [
        ["E-Mail", "Skill", "Level", "Notes", "error"],
        ["ann@contoso.com", "SQL", "Guru", "x", "proficiency 'Guru' is not one of ..."],
        ["zed@contoso.com", "Go", "5", "", "user zed@contoso.com not found"],
    ]


def test_rejects_csv_exists_with_the_input_header_when_nothing_failed(tmp_path: Path) -> None:
    writer = new_writer(tmp_path)
    writer.add(outcome(make_table(), 2, ["ann@contoso.com", "Python", "4"]))
    folder = writer.finish(make_summary(writer.path.name, exit_code=0))

    assert read_csv(folder / "rejects.csv") == [["Employee Email", "Skill", "Level", "error"]]


def test_rows_from_tables_with_different_headers_share_the_union_of_columns(
    tmp_path: Path,
) -> None:
    first = make_table("a.xlsx", "Team A", ("Email", "Skill", "Level"))
    second = make_table("a.xlsx", "Team B", ("email", "Skill", "Category", "Level"))
    writer = new_writer(tmp_path)
    writer.add(outcome(first, 3, ["ann@contoso.com", "Go", "Guru"], Action.INVALID, error="e1"))
    writer.add(outcome(second, 5, ["bob@contoso.com", "", "IT", "4"], Action.INVALID, error="e2"))
    writer.add(outcome(first, 4, ["cy@contoso.com", "Go", "9"], Action.INVALID, error="e3"))
    folder = writer.finish(make_summary(writer.path.name))

    assert read_csv(folder / "rejects.csv") == [
        ["Email", "Skill", "Level", "Category", "error"],
        ["ann@contoso.com", "Go", "Guru", "", "e1"],
        ["bob@contoso.com", "", "4", "IT", "e2"],
        ["cy@contoso.com", "Go", "9", "", "e3"],
    ]


def test_a_fed_back_rejects_file_gets_its_error_column_replaced_not_repeated(
    tmp_path: Path,
) -> None:
    fed_back = make_table("rejects.csv", header=("Email", "Skill", "Level", "error"))
    writer = new_writer(tmp_path)
    writer.add(
        outcome(
            fed_back,
            2,
            ["ann@contoso.com", "Go", "Guru", "old message"],
            Action.INVALID,
            error="new message",
        )
    )
    folder = writer.finish(make_summary(writer.path.name))

    assert read_csv(folder / "rejects.csv") == [
        ["Email", "Skill", "Level", "error"],
        ["ann@contoso.com", "Go", "Guru", "new message"],
    ]


def test_formula_like_cells_are_neutralised_in_rejects(tmp_path: Path) -> None:
    table = make_table()
    writer = new_writer(tmp_path)
    for row, value in enumerate(HOSTILE, start=2):
        writer.add(
            outcome(table, row, ["ann@contoso.com", value, value], Action.INVALID, error=value)
        )
    folder = writer.finish(make_summary(writer.path.name))

    lines = read_csv(folder / "rejects.csv")[1:]
    assert [line[1:] for line in lines] == [["'" + v] * 3 for v in HOSTILE]


def test_a_failed_sync_delete_stays_in_results_but_not_in_rejects(tmp_path: Path) -> None:
    writer = new_writer(tmp_path)
    writer.add(
        RowOutcome(
            "",
            "",
            0,
            "ann@contoso.com",
            "Cobol",
            Action.FAILED,
            status=403,
            error_type="forbidden",
            error="delete refused",
        )
    )
    folder = writer.finish(make_summary(writer.path.name))

    (line,) = read_csv(folder / "results.csv")[1:]
    assert (line[2], line[4], line[6], line[12]) == ("", "ann@contoso.com", "Cobol", "failed")
    assert len(read_csv(folder / "rejects.csv")) == 1


def validate_into_report(path: Path, root: Path) -> Path:
    """Read, validate and report ``path`` the way ``validate`` does; return the run folder."""
    settings = Settings()
    reader = InputReader([path], settings)
    validator = Validator(settings)
    writer = ReportWriter(root, ["csv"], new_run_id(root))
    for item in validator.feed(reader.rows()):
        if isinstance(item, RowOutcome):
            writer.add(item)
        else:
            writer.add_source_row(item.source)
    writer.correct(validator.finish())
    return writer.finish(make_summary(writer.path.name))


def test_rejects_fed_back_give_the_same_errors_and_validate_clean_once_fixed(
    tmp_path: Path,
) -> None:
    source = tmp_path / "skills.csv"
    source.write_text(
        "Employee Email;Skill;Level;Notes\r\n"
        "ann@contoso.com;Python;expert;fine\r\n"
        "bob@contoso.com;SQL;Guru;typo\r\n"
        "../../me;Go;4;bad user\r\n"
        "cy@contoso.com;;3;no skill\r\n",
        encoding="cp1252",
    )
    first = validate_into_report(source, tmp_path / "r1")
    rejects = first / "rejects.csv"
    second = validate_into_report(rejects, tmp_path / "r2")

    def errors(folder: Path) -> list[tuple[str, str, str]]:
        lines = read_csv(folder / "results.csv")[1:]
        return [(line[4], line[6], line[17]) for line in lines if line[12] == "invalid"]

    assert len(errors(first)) == 3
    assert errors(second) == errors(first)
    assert read_csv(second / "rejects.csv") == read_csv(rejects)

    fixed = tmp_path / "fixed.csv"
    text = rejects.read_text("utf-8-sig")
    for bad, good in (("Guru", "expert"), ("../../me", "dan@contoso.com"), (",,3", ",Rust,3")):
        text = text.replace(bad, good)
    fixed.write_text(text, "utf-8-sig")
    third = validate_into_report(fixed, tmp_path / "r3")
    assert [line[12] for line in read_csv(third / "results.csv")[1:]] == ["valid"] * 3
    assert read_csv(third / "rejects.csv") == [
        ["Employee Email", "Skill", "Level", "Notes", "error"]
    ]


_CELL = st.text(st.characters(blacklist_categories=["Cs"]), max_size=10)
_NAME = _CELL.filter(lambda name: header_key(name) != "error")


@settings(max_examples=50, deadline=None)
@given(
    header=st.lists(_NAME, min_size=2, max_size=5),
    rows=st.lists(
        st.tuples(st.lists(_CELL, min_size=5, max_size=5), _CELL), min_size=1, max_size=6
    ),
)
def test_any_rejected_cells_come_back_in_their_columns_neutralised(
    header: list[str], rows: list[tuple[list[str], str]]
) -> None:
    table = make_table(header=header)
    with tempfile.TemporaryDirectory() as folder:
        writer = new_writer(Path(folder))
        for number, (cells, error) in enumerate(rows, start=2):
            writer.add(outcome(table, number, cells[: len(header)], Action.INVALID, error=error))
        lines = read_csv(writer.finish(make_summary(writer.path.name)) / "rejects.csv")

    assert lines[0] == [*map(neutralise, header), "error"]
    assert len(lines) == len(rows) + 1
    for line, (cells, error) in zip(lines[1:], rows, strict=True):
        assert line == [neutralise(cell) for cell in cells[: len(header)]] + [neutralise(error)]


def test_a_formula_like_skill_name_comes_back_without_the_added_quote_once_fixed(
    tmp_path: Path,
) -> None:
    source = tmp_path / "skills.csv"
    source.write_text(
        "Employee Email,Skill,Level\r\nann@contoso.com,-2+3 Arithmetic,Guru\r\n", encoding="utf-8"
    )
    rejects = validate_into_report(source, tmp_path / "r1") / "rejects.csv"
    assert "'-2+3 Arithmetic" in rejects.read_text("utf-8-sig")  # neutralised for Excel

    fixed = tmp_path / "fixed.csv"
    fixed.write_text(rejects.read_text("utf-8-sig").replace("Guru", "expert"), "utf-8-sig")
    config = Settings()
    [row] = Validator(config).feed(InputReader([fixed], config).rows())

    assert isinstance(row, SkillRow)
    assert row.display_name == "-2+3 Arithmetic"
