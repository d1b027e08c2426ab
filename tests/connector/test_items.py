"""The connector's item shapes and per-row verdicts, without a network."""

from __future__ import annotations

import json

from importer.connector.confirmed import Recorded
from importer.connector.items import person_item
from importer.connector.outcomes import gone_skills, narrower_audience, object_id_of, row_actions
from importer.records import Action, SkillRow, SourceRow, Table

PERSON = "0B0C3F3A-1C52-4C1E-9A55-7D0C5A2D0004"
TABLE = Table("skills.csv", "", ("user", "skill"), {"user": 0, "displayName": 1})


def row(name: str, level: str | None = "expert", **fields: object) -> SkillRow:
    source = SourceRow(TABLE, 2, ("bob", name))
    return SkillRow(source, "bob", name, level, user_id=PERSON, **fields)  # type: ignore[arg-type]


def test_the_same_skills_in_another_order_make_the_same_item() -> None:
    first = person_item(PERSON, [row("Python"), row("sql", "elementary")])
    second = person_item(PERSON, [row("sql", "elementary"), row("Python")])

    assert first.content_hash == second.content_hash
    assert first.item_id == "0b0c3f3a1c524c1e9a557d0c5a2d0004"
    assert object_id_of(first.item_id) == PERSON.lower()


def test_empty_fields_are_left_out_of_each_skill_and_the_tenant_is_the_acl_value() -> None:
    item = person_item(PERSON, [row("Python", None, categories=("Data",))], "tenant-guid")

    skills = [json.loads(text) for text in item.body["properties"]["skills"]]
    assert skills == [{"displayName": "Python", "categories": ["Data"]}]
    assert item.body["acl"] == [{"type": "everyone", "value": "tenant-guid", "accessType": "grant"}]


def test_each_row_is_created_updated_or_unchanged_against_the_last_confirmed_item() -> None:
    before_item = person_item(PERSON, [row("Python"), row("SQL", "elementary"), row("Go")])
    before = Recorded(before_item.content_hash, before_item.skills)
    rows = [row("Python"), row("SQL", "expert"), row("Rust")]
    item = person_item(PERSON, rows)

    actions = [action for _row, action in row_actions(rows, item, before, dry_run=False)]

    assert actions == [Action.UNCHANGED, Action.UPDATED, Action.CREATED]
    assert gone_skills(item, before) == ["Go"]


def test_only_audiences_narrower_than_the_organisation_are_left_out() -> None:
    assert narrower_audience("me")
    assert narrower_audience("contacts, groupMembers")
    assert not narrower_audience("organization")
    assert not narrower_audience("contacts, everyone")
    assert not narrower_audience(None)
