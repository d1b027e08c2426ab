"""A skipped person's rows reported as one block: results.csv reads exactly as row by row."""

from __future__ import annotations

from pathlib import Path

import pytest

from importer.records import Action, RowOutcome, SkillRow, SourceRow
from tests.report.test_report import make_summary, make_table, new_writer

NOTE = "not listed: same as confirmed on 2026-03-02 (state)"


def skill_row(
    table_name: str, row: int, user: str, name: str, column: str = "", **values: object
) -> SkillRow:
    """A valid row as the resolve stage hands it to the write stage."""
    table = make_table(table_name)
    source = SourceRow(table, row, (user, name, "4"), column)
    return SkillRow(
        source,
        user,
        name,
        values.get("proficiency", "expert"),  # type: ignore[arg-type]
        values.get("categories", ("Data", "BI")),  # type: ignore[arg-type]
        values.get("tags"),  # type: ignore[arg-type]
        None,
        values.get("web_url"),  # type: ignore[arg-type]
        "00000000-0000-4000-8000-000000000001",
    )


CASES = {
    "plain": [skill_row("in.csv", r, "ann@contoso.com", f"Skill {r}") for r in range(2, 6)],
    "cells that need quoting or guarding": [
        skill_row("in.csv", 2, "ann@contoso.com", "Sales, EMEA"),
        skill_row("in.csv", 3, "ann@contoso.com", '=HYPERLINK("x")'),
        skill_row("in.csv", 4, "ann@contoso.com", "Go\u202e"),
        skill_row("in.csv", 5, "ann@contoso.com", "Rust", web_url="-https://x"),
        skill_row("in.csv", 6, "ann@contoso.com", "Java", categories=("A, B", "C")),
    ],
    "a file name that needs quoting": [
        skill_row('HR "exports", 2026.csv', r, "ann@contoso.com", "Go") for r in (3, 9)
    ],
    "a user that needs guarding": [skill_row("in.csv", 2, "+ann@contoso.com", "Go")],
    "the user spelt two ways, matrix columns": [
        skill_row("in.csv", 2, "ann@contoso.com", "Go", column="Skill 1"),
        skill_row("in.csv", 2, "Ann@Contoso.com", "Rust", column="Skill 2"),
    ],
}


@pytest.mark.parametrize("rows", CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("changes", [NOTE, "same, as before"])
def test_a_persons_rows_as_a_block_read_as_each_rows_outcome(
    tmp_path: Path, rows: list[SkillRow], changes: str
) -> None:
    block, one_by_one = new_writer(tmp_path / "block"), new_writer(tmp_path / "rows")
    for writer in (block, one_by_one):  # as in a run: validation reported a row first
        writer.add(
            RowOutcome.for_row(skill_row("in.csv", 1, "bob@contoso.com", "Go"), Action.VALID)
        )
    block.add_person_rows(rows, Action.UNCHANGED, changes)
    for row in rows:
        one_by_one.add(RowOutcome.for_row(row, Action.UNCHANGED, changes=changes))
    block_folder = block.finish(make_summary(block.path.name))
    rows_folder = one_by_one.finish(make_summary(one_by_one.path.name))

    expected = (rows_folder / "results.csv").read_bytes()
    assert (block_folder / "results.csv").read_bytes() == expected
    assert block.counts == one_by_one.counts
    assert block.counts["unchanged"] == len(rows)
    assert block_folder.joinpath("results.csv").read_text().count("unchanged") == len(rows)
