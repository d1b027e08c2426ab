"""What the pipeline relies on when it joins the reader and the validator, shown by behaviour."""

from __future__ import annotations

from pathlib import Path

from importer.config import Settings
from importer.read import InputReader
from importer.records import Action, RowOutcome, SkillRow
from importer.validate import Validator
from importer.validate.schema import parse_audiences, parse_proficiency
from tests.importing import write_csv


def test_the_reader_streams_rows_numbered_as_excel_shows_them_and_counts_blank_ones(
    tmp_path: Path,
) -> None:
    path = write_csv(
        tmp_path / "skills.csv",
        [
            ["ann@contoso.com", "Python", "expert", "Work"],
            ["", "", "", ""],
            ["bob@contoso.com", "Excel", "3", ""],
        ],
    )
    reader = InputReader([path], Settings())

    rows = list(reader.rows())

    assert [(row.row, row.get("user"), row.get("displayName")) for row in rows] == [
        (2, "ann@contoso.com", "Python"),
        (4, "bob@contoso.com", "Excel"),
    ]
    assert reader.blank_rows == 1
    (summary,) = reader.summaries()
    assert (summary.rows, summary.blank_rows) == (2, 1)


def test_an_earlier_row_of_a_conflicting_skill_is_corrected_with_its_original_cells(
    tmp_path: Path,
) -> None:
    path = write_csv(
        tmp_path / "skills.csv",
        [
            ["ann@contoso.com", "Python", "expert", "Work"],
            ["ann@contoso.com", "Python", "elementary", "Work"],
        ],
    )
    reader = InputReader([path], Settings())
    validator = Validator(Settings())

    streamed = list(validator.feed(reader.rows()))
    corrections = validator.finish(reader.lookup_cells)

    first, second = streamed
    assert isinstance(first, SkillRow)
    assert first.proficiency == "expert"
    assert isinstance(second, RowOutcome)
    assert (second.row, second.action, second.error_type) == (
        3,
        Action.INVALID,
        "conflicting-duplicate",
    )
    (correction,) = corrections
    assert (correction.row, correction.action) == (2, Action.INVALID)
    assert correction.cells == ("ann@contoso.com", "Python", "expert", "Work")
    assert "row 3" in correction.error


def test_graph_numbers_for_enums_are_read_as_their_names() -> None:
    assert parse_proficiency("4") == "expert"
    assert parse_audiences("10") == "contacts,organization"
