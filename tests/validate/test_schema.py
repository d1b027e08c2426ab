"""Enum spellings, suggestions, lenient parsing of Graph's answers, user and URL rules."""

from __future__ import annotations

import pytest

from importer.errors import ConfigError, EnumValueError
from importer.validate.schema import (
    ALLOWED_AUDIENCES,
    COLLABORATION_TAGS,
    PROFICIENCY_LEVELS,
    EnumNormaliser,
    normalise_audiences,
    parse_audiences,
    parse_proficiency,
    user_problem,
    web_url_problem,
)

LEVELS = EnumNormaliser("proficiency", PROFICIENCY_LEVELS, {"1": "elementary", "Pro": "expert"})
TAGS = EnumNormaliser("collaborationTags", COLLABORATION_TAGS, {"mentor": "ableToMentor"})
AUDIENCES = EnumNormaliser("allowedAudiences", ALLOWED_AUDIENCES, {"org": "organization"})


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("ADVANCED PROFESSIONAL", "advancedProfessional"),
        ("advanced_professional", "advancedProfessional"),
        ("Limited-Working", "limitedWorking"),
        ("expert", "expert"),
        ("1", "elementary"),
        ("pro", "expert"),
        (" P R O ", "expert"),
    ],
)
def test_proficiency_matches_any_case_and_spacing_then_synonyms(
    written: str, canonical: str
) -> None:
    assert LEVELS(written.strip()) == canonical


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("able to mentor", "ableToMentor"),
        ("ASK-ME-ABOUT", "askMeAbout"),
        ("Mentor", "ableToMentor"),
    ],
)
def test_collaboration_tags_match_loosely(written: str, canonical: str) -> None:
    assert TAGS(written) == canonical


def test_unknown_value_lists_allowed_values_and_suggests_a_meaning() -> None:
    with pytest.raises(EnumValueError) as caught:
        LEVELS("Guru")

    assert str(caught.value) == (
        "proficiency 'Guru' is not one of elementary, limitedWorking, generalProfessional, "
        "advancedProfessional, expert; did you mean 'expert'?"
    )


def test_typo_gets_the_closest_value_suggested() -> None:
    with pytest.raises(EnumValueError) as caught:
        LEVELS("Advanced Profesional")

    assert caught.value.suggestion == "advancedProfessional"


def test_nothing_close_means_no_suggestion() -> None:
    with pytest.raises(EnumValueError) as caught:
        LEVELS("zzzz")

    assert "did you mean" not in str(caught.value)
    assert caught.value.suggestion is None


def test_future_enum_member_is_not_accepted_as_input() -> None:
    with pytest.raises(EnumValueError):
        LEVELS("unknownFutureValue")


def test_synonym_pointing_at_no_canonical_value_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"values\.proficiency\.guru: 'master' is not one of"):
        EnumNormaliser("proficiency", PROFICIENCY_LEVELS, {"guru": "master"})


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("Organization", "organization"),
        ("everyone, contacts", "contacts,everyone"),
        ("org; family; org", "family,organization"),
        ("FEDERATED ORGANIZATIONS", "federatedOrganizations"),
    ],
)
def test_audiences_accept_a_list_and_come_out_canonical(written: str, canonical: str) -> None:
    assert normalise_audiences(written, AUDIENCES) == canonical


def test_audiences_reject_an_unknown_member() -> None:
    with pytest.raises(EnumValueError, match="'friends' is not one of me, family"):
        normalise_audiences("organization, friends", AUDIENCES)


@pytest.mark.parametrize(
    ("answer", "parsed"),
    [
        ("4", "expert"),
        (4, "expert"),
        (0, "elementary"),
        ("ADVANCED professional", "advancedProfessional"),
        ("unknownFutureValue", "unknownFutureValue"),
        ("somethingNew", "somethingNew"),
        ("", None),
        (None, None),
    ],
)
def test_graph_proficiency_answers_parse_leniently(answer: object, parsed: str | None) -> None:
    assert parse_proficiency(answer) == parsed


@pytest.mark.parametrize(
    ("answer", "parsed"),
    [
        ("8", "organization"),
        (8, "organization"),
        ("10", "contacts,organization"),
        (0, "me"),
        ("Everyone,organization", "organization,everyone"),
        (None, None),
        ("", None),
        ("weird", "weird"),
    ],
)
def test_graph_audience_answers_parse_leniently(answer: object, parsed: str | None) -> None:
    assert parse_audiences(answer) == parsed


@pytest.mark.parametrize(
    "user",
    [
        "adele.vance@contoso.com",
        "ann_fabrikam.com#EXT#@contoso.onmicrosoft.com",
        "sean.o'neil@contoso.com",
        "zoë.müller@contoso.com",
        "4d0ac649-cef8-551c-9cc8-ae2b2b0472a5",
        "4D0AC649-CEF8-551C-9CC8-AE2B2B0472A5",
    ],
)
def test_real_user_ids_are_accepted(user: str) -> None:
    assert user_problem(user) is None


@pytest.mark.parametrize(
    "user",
    [
        "../../me",
        "..",
        "a@b.com/x",
        "a@b.com?x=1",
        "a@b.com\\..\\x",
        "a%2F@contoso.com",
        "a b@contoso.com",
        "a@contoso.com\t",
        "a\x00@contoso.com",
        ".a@contoso.com",
        "a.@contoso.com",
        "a..b@contoso.com",
        "a@contoso.com.",
        "a@contoso",
        "@contoso.com",
        "a@",
        "Adele Vance",
        "me",
        "4d0ac649-cef8-551c-9cc8",
    ],
)
def test_hostile_or_malformed_user_values_are_rejected(user: str) -> None:
    assert user_problem(user) is not None


@pytest.mark.parametrize(
    "url",
    ["https://wiki.contoso.com/skills/python", "http://intranet/wiki?id=4#top", "HTTPS://X.COM"],
)
def test_absolute_http_urls_are_accepted(url: str) -> None:
    assert web_url_problem(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "not a link",
        "www.contoso.com/python",
        "/skills/python",
        "//contoso.com/x",
        "ftp://contoso.com/x",
        "javascript:alert(1)",
        "https://",
        "https://contoso.com/a b",
        "http://[::1",
    ],
)
def test_other_urls_are_rejected(url: str) -> None:
    assert web_url_problem(url) is not None
