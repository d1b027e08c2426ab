"""``undo`` against the sandbox: a wrong sync run is reverted exactly, edits since are kept."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from importer.pipeline import RunResult
from importer.pipeline.undo import undo_run
from importer.sandbox import FIXED_TOKEN, RunningSandbox
from tests.conftest import BOB_UPN, GUEST_UPN, ONEIL_UPN, ZOE_UPN
from tests.importing import import_file, results, settings_for, skills_of, write_csv

HEADER = ("user", "skill", "level", "category", "tags", "audience", "url")
WIKI = "https://wiki.contoso.com/go"

FIRST = [
    (BOB_UPN, "Python", "expert", "Professional", "", "", ""),
    (BOB_UPN, "Go", "3", "Professional", "askMeAbout", "contacts", WIKI),
    (GUEST_UPN, "Python", "advancedProfessional", "", "", "", ""),
    (ONEIL_UPN, "Knitting", "beginner", "Hobby", "", "", ""),
    (ZOE_UPN, "SQL", "elementary", "Professional", "", "", ""),
]

#: Last month's file by mistake: levels shifted, Go and Knitting gone, a new skill, and
#: the guest's Python given other categories, tags, audience and link.
WRONG = [
    (BOB_UPN, "Python", "elementary", "Professional", "", "", ""),
    (GUEST_UPN, "Python", "expert", "Old", "ableToMentor", "contacts", f"{WIKI}/old"),
    (ONEIL_UPN, "Crochet", "expert", "Hobby", "", "", ""),
    (ZOE_UPN, "SQL", "elementary", "Professional", "", "", ""),
]

PEOPLE = (BOB_UPN, GUEST_UPN, ONEIL_UPN, ZOE_UPN)


async def state(sandbox: RunningSandbox) -> dict[str, set[tuple[Any, ...]]]:
    """Every person's skills by every value a run writes (ids aside)."""
    held: dict[str, set[tuple[Any, ...]]] = {}
    for person in PEOPLE:
        held[person] = {
            (
                skill["displayName"],
                skill.get("proficiency"),
                tuple(sorted(skill.get("categories") or [])),
                tuple(sorted(skill.get("collaborationTags") or [])),
                skill.get("allowedAudiences"),
                skill.get("webUrl"),
                (skill.get("source") or {}).get("type"),
            )
            for skill in await skills_of(sandbox, person)
        }
    return held


async def import_rows(
    sandbox: RunningSandbox, tmp_path: Path, name: str, rows: Sequence[Sequence[str]], **run: Any
) -> RunResult:
    return await import_file(sandbox, tmp_path, write_csv(tmp_path / name, rows, HEADER), **run)


async def undo(
    sandbox: RunningSandbox, tmp_path: Path, folder: Path, *, dry_run: bool = False, **run: Any
) -> RunResult:
    return await undo_run(folder, settings_for(sandbox, tmp_path, **run), dry_run=dry_run)


async def patch_skill(sandbox: RunningSandbox, user: str, name: str, body: dict[str, Any]) -> None:
    """Edit a skill as a person would, between the run and its undo."""
    skill = next(s for s in await skills_of(sandbox, user) if s["displayName"] == name)
    url = f"{sandbox.base_url}/beta/users/{user}/profile/skills/{skill['id']}"
    headers = {"Authorization": f"Bearer {FIXED_TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.patch(url, json=body, headers=headers) as response,
    ):
        assert response.status < 300


async def test_the_journal_holds_every_confirmed_write_with_the_values_before(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await import_rows(running_sandbox, tmp_path, "first.csv", FIRST)
    wrong = await import_rows(
        running_sandbox, tmp_path, "wrong.csv", WRONG, mode="sync", max_delete_ratio=1.0
    )

    lines = (wrong.report_dir / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    header, entries = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]
    assert header["journal"] == 1
    assert header["command"] == "run"
    assert header["runId"] == wrong.report_dir.name
    by_name = {(e["userAsWritten"], e["displayName"]): e for e in entries}
    assert len(entries) == 5  # 2 updates, 1 create, 2 deletes; SQL unchanged is no write
    python = by_name[(BOB_UPN, "Python")]
    assert python["action"] == "update"
    assert python["changed"] == ["proficiency"]
    assert python["before"]["proficiency"] == "expert"
    assert python["after"]["proficiency"] == "elementary"
    guest = by_name[(GUEST_UPN, "Python")]
    assert set(guest["changed"]) == {
        "proficiency",
        "categories",
        "collaborationTags",
        "allowedAudiences",
        "webUrl",
    }
    assert guest["before"]["webUrl"] is None
    go = by_name[(BOB_UPN, "Go")]
    assert go["action"] == "delete"
    assert go["before"]["proficiency"] == "generalProfessional"
    assert go["after"] is None
    crochet = by_name[(ONEIL_UPN, "Crochet")]
    assert crochet["action"] == "create"
    assert crochet["before"] is None
    assert crochet["skillId"] == crochet["after"]["id"]


@pytest.mark.parametrize("rows_per_chunk", [20_000, 1])
async def test_undo_of_a_wrong_sync_run_restores_the_state_before_it(
    running_sandbox: RunningSandbox, tmp_path: Path, rows_per_chunk: int
) -> None:
    await import_rows(running_sandbox, tmp_path, "first.csv", FIRST)
    after_first = await state(running_sandbox)
    wrong = await import_rows(
        running_sandbox, tmp_path, "wrong.csv", WRONG, mode="sync", max_delete_ratio=1.0
    )
    after_wrong = await state(running_sandbox)
    assert after_wrong != after_first

    undone = await undo(running_sandbox, tmp_path, wrong.report_dir, rows_per_chunk=rows_per_chunk)

    assert undone.exit_code == 0, undone.reason
    assert await state(running_sandbox) == after_first
    actions = sorted(row["action"] for row in results(undone))
    assert actions == ["created", "created", "deleted", "updated", "updated"]
    recreated = [row for row in results(undone) if row["action"] == "created"]
    assert all(row["skillId"] for row in recreated)  # the new ids are in the undo's report

    again = await undo(running_sandbox, tmp_path, undone.report_dir, rows_per_chunk=rows_per_chunk)

    assert again.exit_code == 0, again.reason
    assert await state(running_sandbox) == after_wrong


async def test_an_edit_made_after_the_run_is_kept_and_reported_changed_since(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await import_rows(running_sandbox, tmp_path, "first.csv", FIRST)
    wrong = await import_rows(
        running_sandbox, tmp_path, "wrong.csv", WRONG, mode="sync", max_delete_ratio=1.0
    )
    await patch_skill(running_sandbox, BOB_UPN, "Python", {"proficiency": "limitedWorking"})
    await patch_skill(running_sandbox, ONEIL_UPN, "Crochet", {"proficiency": "elementary"})

    undone = await undo(running_sandbox, tmp_path, wrong.report_dir)

    assert undone.exit_code == 0
    skipped = {
        (row["user"], row["displayName"]): row
        for row in results(undone)
        if row["action"] == "skipped"
    }
    assert set(skipped) == {(BOB_UPN, "Python"), (ONEIL_UPN, "Crochet")}
    assert {row["errorType"] for row in skipped.values()} == {"changed-since"}
    bob = {s["displayName"]: s for s in await skills_of(running_sandbox, BOB_UPN)}
    assert bob["Python"]["proficiency"] == "limitedWorking"  # the person's edit stays
    assert bob["Go"]["proficiency"] == "generalProfessional"  # the rest is undone
    oneil = {s["displayName"] for s in await skills_of(running_sandbox, ONEIL_UPN)}
    assert oneil == {"Knitting", "Crochet"}


async def test_a_dry_run_undo_says_what_it_would_do_and_sends_nothing(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await import_rows(running_sandbox, tmp_path, "first.csv", FIRST)
    wrong = await import_rows(
        running_sandbox, tmp_path, "wrong.csv", WRONG, mode="sync", max_delete_ratio=1.0
    )
    writes = running_sandbox.stats.writes

    dry = await undo(running_sandbox, tmp_path, wrong.report_dir, dry_run=True)

    assert running_sandbox.stats.writes == writes
    assert sorted(row["action"] for row in results(dry)) == [
        "would-create",
        "would-create",
        "would-delete",
        "would-update",
        "would-update",
    ]
    assert not (dry.report_dir / "journal.jsonl").exists()


async def test_undo_puts_levels_back_by_name_when_graph_answers_them_as_numbers(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    running_sandbox.faults.enums_as_numbers = True
    await import_rows(running_sandbox, tmp_path, "first.csv", FIRST)
    after_first = await state(running_sandbox)
    wrong = await import_rows(
        running_sandbox, tmp_path, "wrong.csv", WRONG, mode="sync", max_delete_ratio=1.0
    )

    undone = await undo(running_sandbox, tmp_path, wrong.report_dir)

    assert undone.exit_code == 0, undone.reason
    assert await state(running_sandbox) == after_first
