"""Validation: normalised rows, messages an HR admin can act on, duplicates and conflicts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from importer.config import DefaultsSettings, Settings, load_settings
from importer.errors import ConfigError
from importer.read.headers import HeaderMatcher
from importer.records import FIELDS, Action, RowOutcome, SkillRow, SourceRow, Table
from importer.validate.row_model import (
    CELL_ADAPTERS,
    CellRules,
    SkillInput,
    is_plain_name,
    is_plain_user,
)
from importer.validate.validator import Validator
from tests.data.inputs import SAMPLES, read_rows

HEADER = ("Employee Email", "Skill", "Level", "Category", "Tags", "Visibility", "Link")


def table(header: Sequence[str] = HEADER, source: str = "skills.csv", sheet: str = "") -> Table:
    mapping = HeaderMatcher(Settings().columns).match_row(header)
    assert mapping is not None
    return Table(source, sheet, tuple(header), mapping)


def source_rows(*lines: Sequence[str], within: Table | None = None) -> list[SourceRow]:
    where = within or table()
    width = len(where.header)
    return [
        SourceRow(where, number, tuple((*line, *[""] * width)[:width]))
        for number, line in enumerate(lines, start=2)
    ]


def validate(
    *lines: Sequence[str], settings: Settings | None = None
) -> tuple[list[SkillRow | RowOutcome], list[RowOutcome]]:
    validator = Validator(settings or Settings())
    items = list(validator.feed(source_rows(*lines)))
    return items, validator.finish()


def test_valid_row_becomes_a_normalised_skill_row() -> None:
    [row], corrections = validate(
        (
            " ann@contoso.com ",
            " Python ",
            "ADVANCED PROFESSIONAL",
            "Tech; Cloud;;",
            "able to mentor;mentor;wants-to-learn",
            "Everyone, organization",
            "https://wiki.contoso.com/python",
        )
    )

    assert isinstance(row, SkillRow)
    assert (row.user, row.display_name, row.proficiency) == (
        "ann@contoso.com",
        "Python",
        "advancedProfessional",
    )
    assert row.categories == ("Tech", "Cloud")
    assert row.collaboration_tags == ("ableToMentor", "wantsToLearn")
    assert row.allowed_audiences == "organization,everyone"
    assert row.web_url == "https://wiki.contoso.com/python"
    assert row.source.row == 2
    assert corrections == []


def test_collaboration_tags_may_also_be_separated_by_commas() -> None:
    [row], _ = validate(("ann@contoso.com", "Python", "", "Sales, B2B", "mentor, ask me about"))

    assert isinstance(row, SkillRow)
    assert row.collaboration_tags == ("ableToMentor", "askMeAbout")
    assert row.categories == ("Sales, B2B",)


def test_empty_optional_cells_leave_values_alone_but_audience_takes_the_default() -> None:
    [row], _ = validate(("ann@contoso.com", "Python"))

    assert isinstance(row, SkillRow)
    assert (row.proficiency, row.categories, row.collaboration_tags, row.web_url) == (
        None,
        None,
        None,
        None,
    )
    assert row.allowed_audiences == "organization"


def test_audience_default_can_be_switched_off_or_changed() -> None:
    [off], _ = validate(
        ("a@contoso.com", "P"), settings=Settings(defaults=DefaultsSettings(allowedAudiences=None))
    )
    [me], _ = validate(
        ("a@contoso.com", "P"), settings=Settings(defaults=DefaultsSettings(allowedAudiences="Me"))
    )

    assert isinstance(off, SkillRow)
    assert off.allowed_audiences is None
    assert isinstance(me, SkillRow)
    assert me.allowed_audiences == "me"


def test_a_default_that_is_no_audience_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"defaults\.allowedAudiences"):
        Validator(Settings(defaults=DefaultsSettings(allowedAudiences="company-wide")))


def test_unknown_level_names_column_value_allowed_values_and_a_suggestion() -> None:
    [outcome], _ = validate(("ann@contoso.com", "Python", "Guru"))

    assert isinstance(outcome, RowOutcome)
    assert outcome.action is Action.INVALID
    assert outcome.error_type == "invalid-enum"
    assert outcome.error == (
        "column 'Level' (proficiency): 'Guru' is not one of elementary, limitedWorking, "
        "generalProfessional, advancedProfessional, expert; did you mean 'expert'?"
    )
    assert (outcome.source, outcome.row, outcome.user, outcome.display_name) == (
        "skills.csv",
        2,
        "ann@contoso.com",
        "Python",
    )
    assert outcome.cells[:3] == ("ann@contoso.com", "Python", "Guru")
    assert outcome.header == HEADER


def test_every_problem_of_a_row_is_reported_and_the_first_is_its_type() -> None:
    [outcome], _ = validate(("", "Python", "top", "", "wizard", "", "www.contoso.com"))

    assert isinstance(outcome, RowOutcome)
    assert outcome.error_type == "missing-user"
    parts = outcome.error.split("; column ")
    assert [p.split(":")[0].removeprefix("column ") for p in parts] == [
        "'Employee Email' (user)",
        "'Level' (proficiency)",
        "'Tags' (collaborationTags)",
        "'Link' (webUrl)",
    ]


@pytest.mark.parametrize(
    ("cells", "error_type"),
    [
        (("", "Python"), "missing-user"),
        (("   ", "Python"), "missing-user"),
        (("ann@contoso.com", " "), "missing-display-name"),
        (("../../me", "Python"), "invalid-user"),
        (("a@b.com/x", "Python"), "invalid-user"),
        (("a@b.com?x=1", "Python"), "invalid-user"),
        (("ann@contoso.com", "Py\x07thon"), "control-character"),
        (("ann@contoso.com", "Python\nSQL"), "control-character"),
        (("ann@contoso.com", "P" * 256), "too-long"),
        (("ann@contoso.com", "Python", "", "", "", "", "ftp://x.com"), "invalid-url"),
        (("ann@contoso.com", "Python", "", "", "", "friends"), "invalid-enum"),
        (("ann@contoso.com", "Python", "", "Tech\x1b[31m"), "control-character"),
    ],
)
def test_bad_cells_make_the_row_invalid_with_a_kebab_case_type(
    cells: tuple[str, ...], error_type: str
) -> None:
    [outcome], _ = validate(cells)

    assert isinstance(outcome, RowOutcome)
    assert outcome.action is Action.INVALID
    assert outcome.error_type == error_type


def test_control_characters_are_escaped_in_the_message() -> None:
    [outcome], _ = validate(("ann@contoso.com", "Python\nSQL"))

    assert isinstance(outcome, RowOutcome)
    assert "\n" not in outcome.error
    assert "'Python\\nSQL' contains a control character (\\n)" in outcome.error


def test_display_name_of_255_characters_is_still_valid() -> None:
    [row], _ = validate(("ann@contoso.com", "P" * 255))

    assert isinstance(row, SkillRow)


def test_identical_repeat_is_a_duplicate_naming_the_first_row() -> None:
    items, corrections = validate(
        ("ann@contoso.com", "Python", "expert"),
        ("bob@contoso.com", "Python", "expert"),
        ("ANN@contoso.com ", " python", "Expert"),
    )

    assert [type(i).__name__ for i in items] == ["SkillRow", "SkillRow", "RowOutcome"]
    duplicate = items[2]
    assert isinstance(duplicate, RowOutcome)
    assert duplicate.action is Action.DUPLICATE
    assert duplicate.error_type == ""
    assert duplicate.error == "same as row 2"
    assert corrections == []


def test_repeat_that_only_differs_by_an_applied_default_is_a_duplicate() -> None:
    items, _ = validate(
        ("ann@contoso.com", "Python", "4", "", "", "organization"),
        ("ann@contoso.com", "Python", "advancedProfessional", "", "", ""),
    )

    assert isinstance(items[1], RowOutcome)
    assert items[1].action is Action.DUPLICATE


def test_conflicting_repeats_make_every_row_of_the_key_invalid() -> None:
    items, corrections = validate(
        ("ann@contoso.com", "Python", "expert"),
        ("ann@contoso.com", "Python", "expert"),
        ("bob@contoso.com", "Python", "3"),
        ("ann@contoso.com", "python", "elementary"),
    )

    assert isinstance(items[0], SkillRow)
    assert isinstance(items[1], RowOutcome)
    assert items[1].action is Action.DUPLICATE
    assert isinstance(items[2], SkillRow)
    late = items[3]
    assert isinstance(late, RowOutcome)
    assert (late.action, late.error_type) == (Action.INVALID, "conflicting-duplicate")
    assert "also in rows 2, 3" in late.error
    assert sorted((c.row, c.action, c.error_type) for c in corrections) == [
        (2, Action.INVALID, "conflicting-duplicate"),
        (3, Action.INVALID, "conflicting-duplicate"),
    ]
    first = next(c for c in corrections if c.row == 2)
    assert "also in rows 3, 5" in first.error
    assert (first.source, first.user.casefold(), first.display_name.casefold()) == (
        "skills.csv",
        "ann@contoso.com",
        "python",
    )


def test_conflicts_across_files_name_the_other_file() -> None:
    validator = Validator(Settings())
    one = source_rows(("ann@contoso.com", "Python", "expert"), within=table(source="a.csv"))
    two = source_rows(("ann@contoso.com", "Python", "3"), within=table(source="b.xlsx", sheet="HR"))

    items = list(validator.feed([*one, *two]))
    [correction] = validator.finish()

    assert isinstance(items[1], RowOutcome)
    assert "also in a.csv row 2" in items[1].error
    assert "also in b.xlsx [HR] row 2" in correction.error


def test_rows_invalid_for_other_reasons_take_no_part_in_duplicates() -> None:
    items, corrections = validate(
        ("ann@contoso.com", "Python", "Guru"),
        ("ann@contoso.com", "Python", "expert"),
    )

    assert [getattr(i, "error_type", "valid") for i in items] == ["invalid-enum", "valid"]
    assert corrections == []


def test_legacy_sample_validates_clean_with_levels_mapped_through_config() -> None:
    settings = load_settings(SAMPLES / "legacy.config.yaml", environ={})
    _, rows = read_rows(SAMPLES / "legacy_export.csv", settings=settings)

    items = list(Validator(settings).feed(rows))

    assert all(isinstance(i, SkillRow) for i in items)
    levels = [i.proficiency for i in items if isinstance(i, SkillRow)]
    assert levels[:6] == [
        "advancedProfessional",
        "expert",
        "generalProfessional",
        "limitedWorking",
        "expert",
        "elementary",
    ]


def test_sample_skills_have_exactly_the_documented_problems() -> None:
    _, rows = read_rows(SAMPLES / "skills.csv", SAMPLES / "skills.xlsx")
    validator = Validator(Settings())

    items = list(validator.feed(rows))

    outcomes = [(i.row, i.action, i.error_type) for i in items if isinstance(i, RowOutcome)]
    assert outcomes == [
        (7, Action.INVALID, "invalid-enum"),
        (24, Action.INVALID, "missing-display-name"),
        (43, Action.INVALID, "invalid-url"),
        (62, Action.DUPLICATE, ""),
    ]
    assert validator.finish() == []
    assert len(items) == 110


def test_whole_row_model_and_streamed_validation_agree() -> None:
    rules = CellRules.from_settings(Settings())
    cells = ("ann@contoso.com", "Python", "4", "a;b", "mentor", "", "https://x.com")
    [row], _ = validate(cells)

    model = SkillInput.model_validate(
        dict(
            zip(
                FIELDS,
                cells,
                strict=True,
            )
        ),
        context=rules,
    )

    assert isinstance(row, SkillRow)
    assert (model.user, model.displayName, model.proficiency, model.categories) == (
        row.user,
        row.display_name,
        row.proficiency,
        row.categories,
    )
    assert (model.collaborationTags, model.allowedAudiences, model.webUrl) == (
        row.collaboration_tags,
        row.allowed_audiences,
        row.web_url,
    )


_USERS = st.sampled_from(["ann@contoso.com", "ANN@contoso.com", "bob@contoso.com", "../x", ""])
_NAMES = st.sampled_from(["Python", "python ", "SQL", "", "Go\n"])
_LEVELS = st.sampled_from(["", "expert", "4", "Guru", "1"])
_CELLS = st.tuples(_USERS, _NAMES, _LEVELS, st.sampled_from(["", "x;y", "Y"]), st.text(max_size=3))


@hyp_settings(max_examples=200, deadline=None)
@given(lines=st.lists(_CELLS, max_size=25))
def test_every_row_yields_exactly_one_item_and_corrections_only_replace(
    lines: list[tuple[str, ...]],
) -> None:
    validator = Validator(Settings())
    inputs = source_rows(*lines)

    items = list(validator.feed(inputs))
    corrections = validator.finish()

    assert len(items) == len(inputs)
    assert [i.source.row if isinstance(i, SkillRow) else i.row for i in items] == [
        r.row for r in inputs
    ]
    replaceable = {
        i.source.row if isinstance(i, SkillRow) else i.row
        for i in items
        if isinstance(i, SkillRow) or i.action is Action.DUPLICATE
    }
    rows = [c.row for c in corrections]
    assert len(rows) == len(set(rows))
    assert set(rows) <= replaceable
    assert all(c.error_type == "conflicting-duplicate" for c in corrections)


def test_validator_reads_a_real_file_end_to_end(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(
        "UPN|Skill Name|Skill Level\nann@contoso.com|Python|5\nann@contoso.com|Python|1\n",
        encoding="utf-8",
    )
    _, rows = read_rows(path)
    validator = Validator(Settings())

    items = list(validator.feed(rows))
    [correction] = validator.finish()

    assert isinstance(items[0], SkillRow)
    assert isinstance(items[1], RowOutcome)
    assert items[1].error_type == "conflicting-duplicate"
    assert (correction.source, correction.row) == (str(path), 2)


def test_corrections_get_their_original_cells_back_from_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(
        "UPN,Skill Name,Skill Level,Notes\n"
        "ann@contoso.com,Python,5,from HR\n"
        "bob@contoso.com,SQL,2,\n"
        "ann@contoso.com,Python,1,from survey\n",
        encoding="utf-8",
    )
    reader, rows = read_rows(path)
    validator = Validator(Settings())
    list(validator.feed(rows))

    [correction] = validator.finish(reader.lookup_cells)

    assert correction.row == 2
    assert correction.cells == ("ann@contoso.com", "Python", "5", "from HR")
    assert correction.header == ("UPN", "Skill Name", "Skill Level", "Notes")
    assert reader.summaries()[0].rows == 3


_UPN_LIKE = st.from_regex(
    r"[A-Za-z0-9_'+#.\-]{0,8}@[A-Za-z0-9.\-_]{0,10}\.[a-z]{1,4}", fullmatch=True
)


@hyp_settings(max_examples=400, deadline=None)
@given(raw=st.one_of(_UPN_LIKE, st.text(max_size=20)))
def test_plain_user_prescreen_only_accepts_what_the_model_accepts_unchanged(raw: str) -> None:
    if is_plain_user(raw):
        assert CELL_ADAPTERS["user"].validate_python(raw, context=_RULES) == raw


@hyp_settings(max_examples=400, deadline=None)
@given(raw=st.text(max_size=300))
def test_plain_name_prescreen_only_accepts_what_the_model_accepts_unchanged(raw: str) -> None:
    if is_plain_name(raw):
        assert CELL_ADAPTERS["displayName"].validate_python(raw, context=_RULES) == raw


_RULES = CellRules.from_settings(Settings())
