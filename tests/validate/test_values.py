"""Level and tag spellings: built-in synonyms always apply, values: extends them; numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from importer.config import Settings, load_settings
from importer.errors import ConfigError, InputError
from importer.records import RowOutcome, SkillRow
from importer.validate import Validator
from tests.data.inputs import read_rows, write_text


def _settings(tmp_path: Path, values: dict[str, Any] | None = None) -> Settings:
    config = tmp_path / "config.yaml"
    config.write_text("", encoding="utf-8")
    return load_settings(config, {"values": values} if values else {}, environ={})


def _validate(tmp_path: Path, text: str, values: dict[str, Any] | None = None) -> list[Any]:
    settings = _settings(tmp_path, values)
    path = write_text(tmp_path / "in.csv", text)
    _, rows = read_rows(path, settings=settings)
    validator = Validator(settings)
    checked = list(validator.feed(rows))
    error = validator.scale_error()
    if error is not None:
        raise error
    return checked


def _levels(items: list[Any]) -> list[str | None]:
    return [i.proficiency if isinstance(i, SkillRow) else i.error_type for i in items]


def _rows(levels: list[str], column: str = "level") -> str:
    lines = [f"a{n}@contoso.com,Skill{n},{level}" for n, level in enumerate(levels)]
    return f"user,skill,{column}\n" + "\n".join(lines) + "\n"


def test_built_in_words_apply_without_any_values_section(tmp_path: Path) -> None:
    words = ["beginner", "Novice", "basic", "intermediate", "Advanced", "expert", "MASTER"]
    checked = _validate(tmp_path, _rows(words))

    assert _levels(checked) == [
        "elementary",
        "elementary",
        "elementary",
        "generalProfessional",
        "advancedProfessional",
        "expert",
        "expert",
    ]


def test_values_add_to_the_built_in_words_and_override_them_key_by_key(tmp_path: Path) -> None:
    values = {"proficiency": {"guru": "expert", "advanced": "expert"}}

    checked = _validate(tmp_path, _rows(["guru", "beginner", "advanced", "4"]), values)

    # beginner still works, advanced is overridden, and the 1-5 scale still applies (no number
    # was configured).
    assert _levels(checked) == ["expert", "elementary", "expert", "advancedProfessional"]


def test_numbers_compare_as_numbers(tmp_path: Path) -> None:
    checked = _validate(tmp_path, _rows(["3.0", "3", " 4.00 ", "2.5"]))

    assert _levels(checked) == [
        "generalProfessional",
        "generalProfessional",
        "advancedProfessional",
        "invalid-enum",  # within 1-5 but not a level of it: that row only
    ]


def test_ranges_define_the_whole_numeric_scale(tmp_path: Path) -> None:
    values = {
        "proficiency": {
            "0-2": "elementary",
            "3-4": "limitedWorking",
            "5-6": "generalProfessional",
            "7-8": "advancedProfessional",
            "9-10": "expert",
        }
    }

    checked = _validate(tmp_path, _rows(["1", "3", "4.0", "6", "10", "expert"]), values)

    # "3-4": limitedWorking is never contradicted by the default "3".
    assert _levels(checked) == [
        "elementary",
        "limitedWorking",
        "limitedWorking",
        "generalProfessional",
        "expert",
        "expert",
    ]


def test_a_level_column_beyond_the_scale_is_an_error_for_the_whole_source(tmp_path: Path) -> None:
    text = _rows(["5", "1", "7", "10", "3", "7"], column="Skill Level")

    with pytest.raises(InputError) as caught:
        _validate(tmp_path, text)

    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'in.csv'}: levels beyond the numeric scale configured")
    assert "(1-5)" in message
    assert "column 'Skill Level' holds 7, 10 (first on row 4), 3 of 6 levels" in message
    assert "values.proficiency" in message


def test_a_synonym_mapped_to_nothing_means_no_value(tmp_path: Path) -> None:
    values = {"collaborationTags": {"1": "ableToMentor", "0": ""}}
    text = "user,skill,tags\na@contoso.com,Python,1\nb@contoso.com,SQL,0\nc@contoso.com,Go,mentor\n"

    checked = _validate(tmp_path, text, values)

    assert [c.collaboration_tags for c in checked] == [("ableToMentor",), None, ("ableToMentor",)]


def test_built_in_tag_and_audience_synonyms_survive_a_values_section(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {"collaborationTags": {"learn": "wantsToLearn"}})
    text = "user,skill,tags\na@contoso.com,Python,mentor;learn\n"
    _, rows = read_rows(write_text(tmp_path / "in.csv", text), settings=settings)

    [row] = list(Validator(settings).feed(rows))

    assert isinstance(row, SkillRow)
    assert row.collaboration_tags == ("ableToMentor", "wantsToLearn")


def test_redefining_a_canonical_name_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"values\.proficiency\.elementary"):
        Validator(_settings(tmp_path, {"proficiency": {"elementary": "expert"}}))


def test_a_synonym_to_an_unknown_level_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"values.proficiency.1-2: 'guru' is not one of"):
        Validator(_settings(tmp_path, {"proficiency": {"1-2": "guru"}}))


@pytest.mark.parametrize(
    "url",
    [
        "mailto:someone@contoso.com",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "//wiki.contoso.com/python",
        "wiki.contoso.com/python",
    ],
)
def test_web_url_must_be_absolute_http_or_https(tmp_path: Path, url: str) -> None:
    text = f"user,skill,link\na@contoso.com,Python,{url}\n"

    [row] = _validate(tmp_path, text)

    assert isinstance(row, RowOutcome)
    assert row.error_type == "invalid-url"


def test_list_like_skill_names_are_invalid_in_the_rows_layout(tmp_path: Path) -> None:
    text = (
        "user,skill,level\n"
        'a@contoso.com,"Python; SQL",3\n'
        "b@contoso.com,Python (Expert),3\n"
        "c@contoso.com,C++ (Microsoft),3\n"
        "d@contoso.com,Python (3),\n"
    )

    checked = _validate(tmp_path, text)

    assert [getattr(c, "error_type", "valid") for c in checked] == [
        "looks-like-a-list",
        "looks-like-a-list",
        "valid",  # a parenthesis that is not a level is part of the name
        "looks-like-a-list",
    ]
    first = checked[0]
    assert isinstance(first, RowOutcome)
    assert "--layout list" in first.error
