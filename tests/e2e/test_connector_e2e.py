"""The people-data connector target end to end against the sandbox: setup, runs, sync, faults."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from importer.config import Settings
from importer.connector.setup import SetupError, run_setup
from importer.errors import ExitCode
from importer.pipeline import RunResult, run_import
from importer.sandbox import FaultConfig, RunningSandbox, SandboxConfig, start_sandbox
from tests.conftest import ANN_ID, BOB_ID, BOB_UPN, ONEIL_ID, ONEIL_UPN, SANDBOX_USERS, ZOE_ID
from tests.importing import results, settings_for, write_csv

CONNECTION = "hrskills"
HEADER = ("user", "skill", "level", "category", "audience")


def connector_settings(sandbox: RunningSandbox, tmp_path: Path, **run: Any) -> Settings:
    """Settings for the connector target on a running sandbox."""
    (tmp_path / "config.yaml").write_text(
        f"target:\n  kind: connector\nconnector:\n  connection_id: {CONNECTION}\n",
        encoding="utf-8",
    )
    return settings_for(sandbox, tmp_path, **run)


async def items_of(sandbox: RunningSandbox) -> dict[str, dict[str, Any]]:
    """Every item the sandbox holds for the connection, by id (admin view)."""
    url = f"{sandbox.base_url}/_sandbox/external/{CONNECTION}/items"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = await response.json()
    return {item["id"]: item for item in body["value"]}


def puts(sandbox: RunningSandbox) -> int:
    """PUT requests the sandbox answered with 200 (items stored)."""
    return sandbox.stats.requests_by_method_status["PUT 200"]


@pytest.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    """A sandbox whose schemas are ready at once."""
    async with await start_sandbox(SandboxConfig(users=SANDBOX_USERS, schema_ready_s=0)) as box:
        yield box


def write_people(tmp_path: Path, rows: Sequence[Sequence[str]]) -> Path:
    return write_csv(tmp_path / "skills.csv", rows, HEADER)


PEOPLE = [
    (BOB_UPN, "Python", "expert", "Programming; Data", ""),
    (BOB_UPN, "SQL", "3", "", ""),
    (ONEIL_UPN, "Welding", "beginner", "", ""),
    (ONEIL_UPN, "Gardening", "Guru", "", ""),  # invalid level: reported, never sent
    (ONEIL_UPN, "Diary", "expert", "", "me"),  # only for themself: left out of the item
]


async def import_people(
    sandbox: RunningSandbox, tmp_path: Path, rows: Sequence[Sequence[str]], **run: Any
) -> RunResult:
    allow = run.pop("allow_deletes", None)
    settings = connector_settings(sandbox, tmp_path, **run)
    return await run_import([write_people(tmp_path, rows)], settings, allow_deletes=allow)


async def test_setup_twice_changes_nothing_the_second_time(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    settings = connector_settings(sandbox, tmp_path)

    first = await run_setup(settings, wait_s=30)
    writes = sandbox.stats.writes
    second = await run_setup(settings, wait_s=30)

    assert "created the connection 'hrskills' (contentCategory people)" in first.steps
    assert "registered the schema (personAccount, personSkills)" in first.steps
    assert f"registered '{CONNECTION}' as a profile source" in first.steps
    assert sandbox.stats.writes == writes
    assert "the connection 'hrskills' exists" in second.steps
    assert "the schema is registered" in second.steps
    assert any("prioritized profile sources" in step for step in second.admin_steps)


async def test_a_run_writes_one_item_per_person_in_the_documented_shape(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await run_setup(connector_settings(sandbox, tmp_path), wait_s=30)

    result = await import_people(sandbox, tmp_path, PEOPLE)

    items = await items_of(sandbox)
    bob_item, oneil_item = BOB_ID.replace("-", ""), ONEIL_ID.replace("-", "")
    assert set(items) == {bob_item, oneil_item}
    bob = items[bob_item]
    assert bob["acl"] == [{"type": "everyone", "value": "everyone", "accessType": "grant"}]
    props = bob["properties"]
    assert json.loads(props["accountInformation"]) == {"externalDirectoryObjectId": BOB_ID}
    assert props["skills@odata.type"] == "Collection(String)"
    skills = [json.loads(text) for text in props["skills"]]
    assert skills == [
        {
            "displayName": "Python",
            "proficiency": "expert",
            "categories": ["Programming", "Data"],
        },
        {"displayName": "SQL", "proficiency": "generalProfessional"},
    ]
    oneil_skills = [json.loads(text) for text in items[oneil_item]["properties"]["skills"]]
    assert oneil_skills == [{"displayName": "Welding", "proficiency": "elementary"}]
    actions = {(row["user"], row["displayName"]): row for row in results(result)}
    assert actions[(BOB_UPN, "Python")]["action"] == "created"
    assert actions[(BOB_UPN, "Python")]["skillId"] == bob_item
    assert actions[(ONEIL_UPN, "Gardening")]["action"] == "invalid"
    assert actions[(ONEIL_UPN, "Diary")]["action"] == "skipped"
    assert actions[(ONEIL_UPN, "Diary")]["errorType"] == "audience-not-supported"
    assert result.exit_code == ExitCode.ROWS_FAILED  # the invalid row


async def test_a_rerun_sends_no_write_and_a_changed_person_one_put(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await run_setup(connector_settings(sandbox, tmp_path), wait_s=30)
    valid = [row for row in PEOPLE if row[2] != "Guru"]
    await import_people(sandbox, tmp_path, valid)
    writes = sandbox.stats.writes

    rerun = await import_people(sandbox, tmp_path, valid)
    after_rerun = sandbox.stats.writes
    changed = [(BOB_UPN, "SQL", "expert", "", ""), *valid[:1], *valid[2:]]
    before_change = puts(sandbox)
    third = await import_people(sandbox, tmp_path, changed)

    assert after_rerun == writes
    assert {row["action"] for row in results(rerun) if row["errorType"] == ""} == {"unchanged"}
    assert rerun.exit_code == ExitCode.OK
    assert puts(sandbox) == before_change + 1
    before_full = puts(sandbox)
    await import_people(sandbox, tmp_path, changed, delta="off")
    assert puts(sandbox) == before_full + 2  # run.delta off: every person's item again
    actions = {(row["user"], row["displayName"]): row["action"] for row in results(third)}
    assert actions[(BOB_UPN, "SQL")] == "updated"
    assert actions[(BOB_UPN, "Python")] == "unchanged"
    assert actions[(ONEIL_UPN, "Welding")] == "unchanged"


async def test_a_skill_left_out_of_the_file_leaves_the_item_and_is_reported_deleted(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await run_setup(connector_settings(sandbox, tmp_path), wait_s=30)
    await import_people(sandbox, tmp_path, PEOPLE[:2])

    result = await import_people(sandbox, tmp_path, PEOPLE[:1])

    item = (await items_of(sandbox))[BOB_ID.replace("-", "")]
    assert [json.loads(text)["displayName"] for text in item["properties"]["skills"]] == ["Python"]
    lines = [(row["displayName"], row["action"], row["userId"]) for row in results(result)]
    assert lines == [("Python", "unchanged", BOB_ID), ("SQL", "deleted", BOB_ID)]


async def test_a_person_left_with_private_skills_only_keeps_an_item_without_skills(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await run_setup(connector_settings(sandbox, tmp_path), wait_s=30)
    await import_people(sandbox, tmp_path, PEOPLE[:1])

    result = await import_people(sandbox, tmp_path, [(BOB_UPN, "Python", "expert", "", "me")])

    item = (await items_of(sandbox))[BOB_ID.replace("-", "")]
    assert item["properties"]["skills"] == []
    assert [row["action"] for row in results(result)] == ["skipped", "deleted"]


async def test_sync_removes_a_leavers_item_only_past_the_delete_guard(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await run_setup(connector_settings(sandbox, tmp_path), wait_s=30)
    three = [
        (BOB_UPN, "Python", "expert", "", ""),
        (ONEIL_UPN, "Welding", "expert", "", ""),
        (ANN_ID, "Knitting", "expert", "", ""),
    ]
    await import_people(sandbox, tmp_path, three)
    leaver = ANN_ID.replace("-", "")

    guarded = await import_people(sandbox, tmp_path, three[:2], mode="sync")
    still_there = set(await items_of(sandbox))
    settings = connector_settings(sandbox, tmp_path, mode="sync")
    dry = await run_import([write_people(tmp_path, three[:2])], settings, dry_run=True)
    allowed = await import_people(sandbox, tmp_path, three[:2], mode="sync", allow_deletes=1)

    assert guarded.exit_code == ExitCode.SAFETY_ABORT
    assert "max_delete_ratio" in guarded.reason
    assert leaver in still_there
    assert dry.exit_code == ExitCode.SAFETY_ABORT
    assert {row["action"] for row in results(dry)} == {"unchanged", "would-delete"}
    assert allowed.exit_code == ExitCode.OK
    assert set(await items_of(sandbox)) == {BOB_ID.replace("-", ""), ONEIL_ID.replace("-", "")}
    removed = [row for row in results(allowed) if row["action"] == "deleted"]
    assert [(row["userId"], row["skillId"]) for row in removed] == [(ANN_ID, leaver)]


async def test_an_item_larger_than_graph_takes_fails_its_rows_and_sends_nothing(
    sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await run_setup(connector_settings(sandbox, tmp_path), wait_s=30)
    monkeypatch.setattr("importer.connector.writer.MAX_ITEM_BYTES", 400)  # Graph's is 4 MB
    rows = [(BOB_UPN, f"Skill number {n}", "expert", "", "") for n in range(8)]
    rows.append((ONEIL_UPN, "Welding", "expert", "", ""))

    result = await import_people(sandbox, tmp_path, rows)

    outcomes = results(result)
    bob = [row for row in outcomes if row["user"] == BOB_UPN]
    assert {(row["action"], row["errorType"]) for row in bob} == {("failed", "item-too-large")}
    assert "more than the 400 Graph accepts" in bob[0]["error"]
    assert set(await items_of(sandbox)) == {ONEIL_ID.replace("-", "")}


async def test_sync_keeps_the_item_of_a_person_the_file_still_names_in_an_invalid_row(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await run_setup(connector_settings(sandbox, tmp_path), wait_s=30)
    both = [(BOB_UPN, "Python", "expert", "", ""), (ONEIL_UPN, "Welding", "expert", "", "")]
    await import_people(sandbox, tmp_path, both)

    typo = [both[0], (ONEIL_UPN, "Welding", "Guru", "", "")]
    result = await import_people(sandbox, tmp_path, typo, mode="sync", allow_deletes=5)

    assert ONEIL_ID.replace("-", "") in await items_of(sandbox)
    assert "deleted" not in {row["action"] for row in results(result)}


@pytest.mark.parametrize(
    "faults",
    [
        FaultConfig(error_503_rate=0.4, seed=7),
        FaultConfig(commit_then_504_rate=0.5, seed=3),
        FaultConfig(throttle_rps=4, throttle_burst=2),
    ],
    ids=["503", "commit-then-504", "429-retry-after"],
)
async def test_faults_leave_exactly_one_item_per_person(
    tmp_path: Path, faults: FaultConfig
) -> None:
    config = SandboxConfig(users=SANDBOX_USERS, schema_ready_s=0)
    async with await start_sandbox(config) as box:
        await run_setup(connector_settings(box, tmp_path), wait_s=30)
        config.faults.__dict__.update(faults.__dict__)
        people = [ANN_ID, BOB_ID, ONEIL_ID, ZOE_ID]
        rows = [(person, f"Skill {n}", "expert", "", "") for person in people for n in range(3)]

        result = await import_people(box, tmp_path, rows, batch_size=1)

        items = await items_of(box)
        assert sorted(items) == sorted(person.replace("-", "") for person in people)
        assert all(len(item["properties"]["skills"]) == 3 for item in items.values())
        assert {row["action"] for row in results(result)} == {"created"}
        assert max(int(row["attempts"]) for row in results(result)) >= 2  # retried, reported
        hit = box.stats.throttled + box.stats.requests_by_method_status["PUT 503"]
        hit += box.stats.requests_by_method_status["PUT 504"]
        assert hit > 0


async def test_setup_waits_for_a_provisioning_schema(tmp_path: Path) -> None:
    config = SandboxConfig(users=SANDBOX_USERS, schema_ready_s=1.5)
    async with await start_sandbox(config) as box:
        lines: list[str] = []

        report = await run_setup(
            connector_settings(box, tmp_path), wait_s=60, progress=lines.append
        )

    assert "ok: registered the schema (personAccount, personSkills)" in lines
    assert "schema provisioning: 0 s of at most 60 s" in lines
    assert any(step.startswith("the schema is ready (waited") for step in report.steps)


async def test_a_schema_that_never_gets_ready_ends_setup_and_holds_back_runs(
    tmp_path: Path,
) -> None:
    config = SandboxConfig(users=SANDBOX_USERS, schema_ready_s=0, schema_never_ready=True)
    async with await start_sandbox(config) as box:
        settings = connector_settings(box, tmp_path)
        with pytest.raises(SetupError, match="still provisioning after") as raised:
            await run_setup(settings, wait_s=1)
        result = await import_people(box, tmp_path, PEOPLE[:2])

    assert raised.value.exit_code == ExitCode.ROWS_FAILED
    assert result.exit_code == ExitCode.SAFETY_ABORT
    assert "connector setup" in result.reason
    assert {row["action"] for row in results(result)} == {"not-sent"}
    assert box.stats.requests_by_method_status["PUT 200"] == 0
