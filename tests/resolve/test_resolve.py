"""The resolve stage's pure parts: literals, filters, matching, cost rule, user keys, headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from importer.config import ColumnsSettings, Settings, load_settings
from importer.errors import ConfigError
from importer.read.headers import HeaderMatcher
from importer.resolve import (
    MatchIndex,
    filter_expression,
    lookup_requests,
    lookup_url,
    odata_literal,
    wanted_values,
)
from importer.resolve.matching import parse_user
from importer.validate.user_keys import user_value_problem


def test_an_apostrophe_is_doubled_and_mail_is_sent_in_lower_case() -> None:
    assert odata_literal("O'Brien@contoso.com", "mail") == "'o''brien@contoso.com'"
    assert odata_literal("E0042", "employeeId") == "'E0042'"


def test_an_injection_stays_inside_one_literal() -> None:
    expression = filter_expression("employeeId", ["x' or employeeId ne '"])
    assert expression == "employeeId eq 'x'' or employeeId ne '''"


def test_several_values_use_in_and_at_most_fifteen_fit() -> None:
    assert filter_expression("mail", ["a@x.com", "b@x.com"]) == "mail in ('a@x.com','b@x.com')"
    with pytest.raises(ValueError, match="1 to 15"):
        filter_expression("mail", [f"{n}@x.com" for n in range(16)])


def test_the_lookup_url_is_relative_and_encodes_the_filter_whole() -> None:
    url = lookup_url("mail", ["a+b@x.com"])
    assert url.startswith("/users?$filter=mail%20eq%20%27a%2Bb%40x.com%27&$select=")
    assert url.endswith("&$top=999")


def test_lookups_cost_fifteen_values_a_filter_and_batch_size_filters_a_request() -> None:
    assert lookup_requests({"employeeId": 300}, 20) == 1
    assert lookup_requests({"employeeId": 301}, 20) == 2
    assert lookup_requests({"employeeId": 50_000}, 20) == 167
    assert lookup_requests({"id": 1, "userPrincipalName": 1}, 1) == 2


def test_mail_matches_ignoring_case_and_employee_id_exactly() -> None:
    index = MatchIndex({"mail": ["ann@x.com"], "employeeId": ["0042"]})
    user = parse_user(
        {"id": "1", "userPrincipalName": "a@x", "mail": "Ann@X.com", "employeeId": "42"}
    )
    assert user is not None
    index.add(user)
    assert [found.id for found in index.users_for("mail", "ANN@x.com")] == ["1"]
    assert index.users_for("employeeId", "0042") == []


def test_only_an_explicit_false_disables_an_account() -> None:
    assert parse_user({"id": "1", "accountEnabled": False}).account_enabled is False  # type: ignore[union-attr]
    assert parse_user({"id": "1"}).account_enabled is True  # type: ignore[union-attr]
    assert parse_user({"userPrincipalName": "no id"}) is None


def test_auto_sends_guids_to_id_and_the_rest_to_upn_once_each() -> None:
    guid = "0b0c3f3a-1c52-4c1e-9a55-7d0c5a2d0001"
    wanted = wanted_values(["a@x.com", "A@X.com", guid, guid.upper()], "auto")
    assert wanted == {"userPrincipalName": ["a@x.com"], "id": [guid]}
    assert wanted_values(["E1", "e1"], "employeeId") == {"employeeId": ["E1", "e1"]}


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("00042", "employeeId"),
        ("x' or 'a' eq 'a", "employeeId"),
        ("o'brien@contoso.com", "mail"),
        ("0b0c3f3a-1c52-4c1e-9a55-7d0c5a2d0001", "id"),
        ("ann@contoso.com", "userPrincipalName"),
    ],
)
def test_well_formed_values(value: str, key: str) -> None:
    assert user_value_problem(value, key) is None


@pytest.mark.parametrize(
    ("value", "key", "says"),
    [
        ("x' or employeeId ne '", "employeeId", "at most 16"),
        ("ann@contoso.com", "id", "not an object id"),
        ("0b0c3f3a-1c52-4c1e-9a55-7d0c5a2d0001", "mail", "use --user-key id"),
        ("ann/../x@contoso.com", "userPrincipalName", "not allowed"),
        ("12345", "mail", "is not a mail"),
    ],
)
def test_a_value_not_well_formed_for_its_key_is_refused(value: str, key: str, says: str) -> None:
    problem = user_value_problem(value, key)
    assert problem is not None
    assert problem[0] == "invalid-user"
    assert says in problem[1]


WORKDAY = ("Employee ID", "Worker", "Work Email", "Skill", "Skill Level")


def test_each_key_takes_its_own_column_and_ignores_the_other_identity() -> None:
    by_id = HeaderMatcher(ColumnsSettings(), "employeeId")
    assert by_id.match_row(WORKDAY) == {"user": 0, "displayName": 3, "proficiency": 4}
    assert by_id.identity_key_of("Work Email") == "mail"
    by_mail = HeaderMatcher(ColumnsSettings(), "mail")
    assert by_mail.match_row(WORKDAY) == {"user": 2, "displayName": 3, "proficiency": 4}


def test_a_file_keyed_by_employee_id_names_the_user_key_to_use() -> None:
    matcher = HeaderMatcher(ColumnsSettings(), "auto")
    message = matcher.missing_header_message(["Employee ID", "Worker", "Skill"])
    assert "column 'Employee ID' holds employeeId values: use --user-key employeeId" in message


def test_a_built_in_alias_can_be_switched_off_and_a_configured_name_wins() -> None:
    header = ("ID", "Email", "Skill")
    with pytest.raises(ValueError, match="both map to user"):
        HeaderMatcher(ColumnsSettings(), "auto").match_row(header)
    off = HeaderMatcher(ColumnsSettings(ignore=("ID",)), "auto")
    assert off.match_row(header) == {"user": 1, "displayName": 2}
    moved = HeaderMatcher(ColumnsSettings(displayName=("Email",)), "auto")
    assert moved.field_of("Email") == "displayName"


def test_a_name_both_ignored_and_configured_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("columns:\n  user: [ID]\n  ignore: [id]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"both under columns\.user and columns\.ignore"):
        load_settings(config, environ={})
    assert Settings().columns.ignore == ()
