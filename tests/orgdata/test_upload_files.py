"""One line per person, files cut below the size limit, and the cells the upload refuses."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from importer.orgdata import (
    FORBIDDEN_PREFIXES,
    HEADER,
    PeopleWriter,
    SkillsLibrary,
    UploadFiles,
)
from importer.records import Action, RowOutcome, SkillRow, SourceRow, Table

TABLE = Table(
    source="hr.csv",
    sheet="",
    header=("Work Email", "Skill", "Level"),
    mapping={"user": 0, "displayName": 1, "proficiency": 2},
)


def _row(number: int, user: str, skill: str, level: str = "") -> SkillRow:
    source = SourceRow(TABLE, number, (user, skill, level))
    return SkillRow(source, user, skill, proficiency=level or None)


def _people(people: int, skills: int) -> list[list[SkillRow]]:
    number = 1
    everyone = []
    for person in range(people):
        rows = []
        for skill in range(skills):
            number += 1
            rows.append(_row(number, f"p{person:03d}@contoso.com", f"Skill {skill:02d}"))
        everyone.append(rows)
    return everyone


def _lines(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_files_are_cut_below_the_limit_each_with_the_header_and_no_person_split(
    tmp_path: Path,
) -> None:
    outcomes: list[RowOutcome] = []
    files = UploadFiles(tmp_path / "orgdata", max_bytes=400)
    writer = PeopleWriter(files, None, outcomes.append)
    everyone = _people(people=25, skills=4)

    for rows in everyone:
        writer.person(rows[0].user, rows)
    files.close()

    assert len(files.paths) > 2
    assert [path.name for path in files.paths][:2] == [
        "people-skills-001.csv",
        "people-skills-002.csv",
    ]
    written: list[list[str]] = []
    for path in files.paths:
        assert path.stat().st_size <= 400
        lines = _lines(path)
        assert tuple(lines[0]) == HEADER
        written.extend(lines[1:])
    # Every person once, whole, in input order.
    assert [line[0] for line in written] == [f"p{n:03d}@contoso.com" for n in range(25)]
    assert all(line[1] == "Skill 00,Skill 01,Skill 02,Skill 03" for line in written)
    assert sum(files.people) == 25
    assert [outcome.action for outcome in outcomes] == [Action.VALID] * 100


@pytest.mark.parametrize("prefix", FORBIDDEN_PREFIXES)
def test_a_skill_starting_with_a_formula_character_is_refused_naming_the_cell(
    tmp_path: Path, prefix: str
) -> None:
    outcomes: list[RowOutcome] = []
    files = UploadFiles(tmp_path)
    rows = [_row(2, "ann@contoso.com", f"{prefix}SUM(A1)"), _row(3, "ann@contoso.com", "Python")]

    PeopleWriter(files, None, outcomes.append).person("ann@contoso.com", rows)
    files.close()

    refused, kept = outcomes
    assert (refused.row, refused.action, refused.error_type) == (2, "invalid", "refused-prefix")
    assert "column Skill" in refused.error
    assert kept.action == Action.VALID
    assert _lines(files.paths[0])[1:] == [["ann@contoso.com", "Python"]]


def test_a_name_with_a_comma_cannot_be_told_apart_from_two_skills(tmp_path: Path) -> None:
    outcomes: list[RowOutcome] = []
    rows = [_row(2, "ann@contoso.com", "Sales, Marketing")]

    PeopleWriter(None, None, outcomes.append).person("ann@contoso.com", rows)

    assert outcomes[0].error_type == "comma-in-name"
    assert "input.skills_map" in outcomes[0].error


def test_skills_too_long_for_one_field_make_the_persons_rows_invalid(tmp_path: Path) -> None:
    outcomes: list[RowOutcome] = []
    files = UploadFiles(tmp_path)
    rows = [_row(n, "ann@contoso.com", f"Skill number {n}") for n in range(2, 12)]

    PeopleWriter(files, None, outcomes.append, max_field_chars=50).person("ann@contoso.com", rows)
    files.close()

    assert {outcome.error_type for outcome in outcomes} == {"too-long"}
    assert len(outcomes) == 10
    assert files.paths == []


def test_library_names_are_written_as_the_library_spells_them_once_per_person(
    tmp_path: Path,
) -> None:
    outcomes: list[RowOutcome] = []
    files = UploadFiles(tmp_path)
    library = SkillsLibrary("library.csv", ["Python", "Microsoft Excel"])
    rows = [
        _row(2, "ann@contoso.com", "PYTHON", "expert"),
        _row(3, "ANN@contoso.com", "python"),
        _row(4, "ann@contoso.com", "Excell"),
    ]

    writer = PeopleWriter(files, library, outcomes.append)
    writer.person("ann@contoso.com", rows)
    files.close()

    assert [(o.row, o.action, o.display_name) for o in outcomes] == [
        (3, Action.DUPLICATE, "Python"),
        (4, Action.INVALID, "Excell"),
        (2, Action.VALID, "Python"),
    ]
    assert "did you mean 'Microsoft Excel'?" in outcomes[1].error
    assert _lines(files.paths[0])[1:] == [["ann@contoso.com", "Python"]]
    assert writer.not_written == ["proficiency"]
