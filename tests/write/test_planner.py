"""The planner: what a rerun, a changed level or a sync would send."""

from __future__ import annotations

from typing import Any

from importer.records import OpKind, SkillRow, SourceRow, Table
from importer.write.planner import plan_user_changes

TABLE = Table(source="skills.csv", sheet="", header=("user", "skill"), mapping={"user": 0})
USER = "ann@contoso.com"


def _row(name: str, line: int = 2, **fields: Any) -> SkillRow:
    return SkillRow(
        source=SourceRow(TABLE, line, (USER, name)), user=USER, display_name=name, **fields
    )


def _held(name: str, skill_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": skill_id, "displayName": name, **fields}


def test_missing_skills_are_created_with_every_set_field_and_the_source_tag() -> None:
    row = _row(
        "Python",
        proficiency="expert",
        categories=("Professional",),
        collaboration_tags=("ableToMentor",),
        allowed_audiences="organization",
        web_url="https://wiki/python",
    )
    plan = plan_user_changes(USER, [row], [], mode="upsert", source_tag="skills-import")
    [op] = plan.operations
    assert op.kind is OpKind.CREATE
    assert op.body == {
        "displayName": "Python",
        "proficiency": "expert",
        "categories": ["Professional"],
        "collaborationTags": ["ableToMentor"],
        "allowedAudiences": "organization",
        "webUrl": "https://wiki/python",
        "source": {"type": "skills-import"},
    }


def test_a_rerun_of_the_same_row_is_unchanged_even_when_graph_answers_enums_as_numbers() -> None:
    row = _row(
        "Python", proficiency="expert", allowed_audiences="organization", categories=("b", "a")
    )
    held = _held("python ", "s1", proficiency="4", allowedAudiences="8", categories=["a", "b"])
    held["displayName"] = "Python"
    plan = plan_user_changes(USER, [row], [held], mode="upsert", source_tag="skills-import")
    [op] = plan.operations
    assert op.kind is OpKind.UNCHANGED
    assert op.skill_id == "s1"


def test_a_changed_level_patches_only_the_proficiency() -> None:
    row = _row("Python", proficiency="expert", allowed_audiences="organization")
    held = _held(
        "Python",
        "s1",
        proficiency="advancedProfessional",
        allowedAudiences="organization",
        categories=["Professional"],
    )
    plan = plan_user_changes(USER, [row], [held], mode="upsert", source_tag="skills-import")
    [op] = plan.operations
    assert op.kind is OpKind.UPDATE
    assert op.body == {"proficiency": "expert"}
    assert op.skill_id == "s1"


def test_empty_cells_leave_existing_values_alone() -> None:
    row = _row("Python")  # every optional field empty
    held = _held("Python", "s1", proficiency="expert", categories=["x"], webUrl="https://a")
    plan = plan_user_changes(USER, [row], [held], mode="upsert", source_tag="skills-import")
    assert plan.operations[0].kind is OpKind.UNCHANGED


def test_create_mode_never_updates_but_still_skips_existing_names() -> None:
    rows = [_row("Python", proficiency="expert"), _row("Go", 3, proficiency="expert")]
    held = _held("PYTHON", "s1", proficiency="elementary")
    plan = plan_user_changes(USER, rows, [held], mode="create", source_tag="skills-import")
    assert [op.kind for op in plan.operations] == [OpKind.UNCHANGED, OpKind.CREATE]


def test_a_name_held_twice_updates_the_oldest_and_warns() -> None:
    row = _row("Python", proficiency="expert")
    held = [
        _held("Python", "old", proficiency="elementary"),
        _held("python", "new", proficiency="elementary"),
    ]
    plan = plan_user_changes(USER, [row], held, mode="upsert", source_tag="skills-import")
    assert plan.operations[0].skill_id == "old"
    assert any("2 times" in warning for warning in plan.warnings)


def test_sync_deletes_only_owned_skills_missing_from_the_file() -> None:
    rows = [_row("Python")]
    held = [
        _held("Python", "keep", source={"type": "skills-import"}),
        _held("Cobol", "gone", source={"type": ["skills-import"]}),
        _held("Knitting", "mine", source=None),
        _held("Rust", "other-tool", source={"type": "hr-sync"}),
    ]
    plan = plan_user_changes(USER, rows, held, mode="sync", source_tag="skills-import")
    deletes = [op.skill_id for op in plan.operations if op.kind is OpKind.DELETE]
    assert deletes == ["gone"]
    assert plan.owned == 2


def test_upsert_never_deletes() -> None:
    held = [_held("Cobol", "gone", source={"type": "skills-import"})]
    plan = plan_user_changes(
        USER, [_row("Python")], held, mode="upsert", source_tag="skills-import"
    )
    assert all(op.kind is not OpKind.DELETE for op in plan.operations)
