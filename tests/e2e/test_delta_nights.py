"""Nightly runs with the confirmed state (``run.delta: auto``), night after night.

A "night" is a run whose clock is moved a day at a time (``run_import(now=...)``): nothing
sleeps. The sandbox is the truth: a skill changed by hand there must come back, a leaver's
skills must go, and nobody may ever be skipped whose skills did not land.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from importer.config import load_settings
from importer.pipeline import RunResult, run_import
from importer.progress import RunProgress
from importer.sandbox import FIXED_TOKEN, RunningSandbox, SandboxConfig, start_sandbox
from importer.state import is_due
from tests.conftest import (
    BOB_ID,
    BOB_UPN,
    GUEST_UPN,
    ONEIL_ID,
    ONEIL_UPN,
    ZOE_ID,
    ZOE_UPN,
    invoke_cli,
)
from tests.importing import results, settings_for, skills_of, write_csv

NIGHT_1 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
PEOPLE = (GUEST_UPN, ONEIL_UPN, ZOE_UPN, BOB_UPN)
ROWS = [(user, name, "expert", "Tech") for user in PEOPLE for name in ("Python", "SQL")]
SKIPPED = "not listed: same as confirmed on"


def night(number: int) -> datetime:
    """The clock of night ``number`` (night 1 is ``NIGHT_1``)."""
    return NIGHT_1 + timedelta(days=number - 1)


async def run_night(
    sandbox: RunningSandbox,
    tmp_path: Path,
    path: Path,
    number: int,
    *,
    full: bool = False,
    dry_run: bool = False,
    progress: RunProgress | None = None,
    **run: Any,
) -> RunResult:
    settings = settings_for(sandbox, tmp_path, **run)
    return await run_import(
        [path], settings, now=night(number), full=full, dry_run=dry_run, progress=progress
    )


def listings(sandbox: RunningSandbox) -> int:
    """Skill listings the sandbox answered so far: GETs that were not directory reads.

    Each run also asks once which database the sandbox serves (``GET /organization``).
    """
    gets = sandbox.stats.requests_by_method_status["GET 200"]
    return gets - sandbox.stats.directory_reads


def state_file() -> Path:
    """The one state file the test's runs made (the per-user folder is the test's own)."""
    import platformdirs

    folder = Path(platformdirs.user_state_dir("skills-import", appauthor=False)) / "state"
    [found] = list(folder.glob("*.sqlite"))
    return found


def people_in_state() -> list[tuple[Any, ...]]:
    """Every row of the state file's people table."""
    with contextlib.closing(sqlite3.connect(state_file())) as db:
        return db.execute("SELECT * FROM people ORDER BY person").fetchall()


def state_of(line: dict[str, str]) -> str:
    """How a results.csv line fared: skipped by the state, or listed."""
    return "skipped" if line["changes"].startswith(SKIPPED) else "listed"


def summary(result: RunResult) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((result.report_dir / "summary.json").read_text())
    return document


async def by_hand(sandbox: RunningSandbox, method: str, user: str, name: str) -> None:
    """Change one of ``user``'s skills straight in the sandbox, as someone in the portal would."""
    [skill] = [s for s in await skills_of(sandbox, user) if s["displayName"] == name]
    url = f"{sandbox.base_url}/beta/users/{quote(user, safe='')}/profile/skills/{skill['id']}"
    body = {"proficiency": "elementary"} if method == "PATCH" else None
    headers = {"Authorization": f"Bearer {FIXED_TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, json=body, headers=headers) as response,
    ):
        assert response.status in (200, 204), await response.text()


def levels(skills: Sequence[dict[str, Any]]) -> dict[str, str]:
    return {skill["displayName"]: skill["proficiency"] for skill in skills}


# --- a quiet night costs what changed -------------------------------------------------------


async def test_an_unchanged_night_lists_only_the_rotation_and_reports_the_rest_unchanged(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "s.csv", ROWS)
    first = await run_night(running_sandbox, tmp_path, path, 1)
    assert first.counts["created"] == len(ROWS)
    assert summary(first)["state"]["planned"] == len(PEOPLE)

    seen: set[str] = set()
    for number in range(2, 9):
        before, writes = listings(running_sandbox), running_sandbox.stats.writes
        result = await run_night(running_sandbox, tmp_path, path, number)

        lines = results(result)
        assert {line["action"] for line in lines} == {"unchanged"}
        assert running_sandbox.stats.writes == writes
        listed = {line["user"] for line in lines if state_of(line) == "listed"}
        figures = summary(result)["state"]
        assert figures["skipped"] + figures["verified"] == len(PEOPLE)
        assert figures["verified"] == len(listed)
        # One GET /organization, then one listing per verified person and none for the rest.
        assert listings(running_sandbox) - before == 1 + len(listed)
        seen |= listed
    # Every person was listed at least once in verify_days (7) nights.
    assert seen == set(PEOPLE)


async def test_a_changed_person_is_planned_and_the_rest_skipped(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await run_night(running_sandbox, tmp_path, write_csv(tmp_path / "s.csv", ROWS), 1)
    changed = [(u, n, "elementary" if u == ZOE_UPN else lvl, c) for u, n, lvl, c in ROWS]

    progress = RunProgress()
    result = await run_night(
        running_sandbox, tmp_path, write_csv(tmp_path / "t.csv", changed), 2, progress=progress
    )

    assert levels(await skills_of(running_sandbox, ZOE_UPN)) == {
        "Python": "elementary",
        "SQL": "elementary",
    }
    lines = results(result)
    assert sorted(line["action"] for line in lines if line["user"] == ZOE_UPN) == ["updated"] * 2
    figures = summary(result)["state"]
    assert figures["planned"] == 1
    # The progress counts the same people as summary.json.
    shown = progress.line()
    assert f"{figures['skipped']} skipped by the state" in shown
    assert "1 planned" in shown
    assert (f"{figures['verified']} verified" in shown) == bool(figures["verified"])
    skipped = [line for line in lines if state_of(line) == "skipped"]
    assert skipped, "nobody was skipped"
    assert {line["action"] for line in skipped} == {"unchanged"}
    assert skipped[0]["changes"] == "not listed: same as confirmed on 2026-03-02 (state)"


@pytest.mark.parametrize("mode", ["upsert", "sync"])
async def test_a_quiet_night_in_many_chunks_reports_every_row_once_in_input_order(
    running_sandbox: RunningSandbox, tmp_path: Path, mode: str
) -> None:
    # One person per chunk: listings start while later people are still being chosen, and
    # a sync run counts every chunk's deletes first; night 1 confirms every person either way.
    rows = [(user, name, "expert", "Tech") for name in ("Python", "SQL") for user in PEOPLE]
    await run_night(
        running_sandbox, tmp_path, write_csv(tmp_path / "s.csv", rows), 1, mode=mode,
        rows_per_chunk=1,
    )  # fmt: skip
    assert len(people_in_state()) == len(PEOPLE)
    changed = [(u, n, "elementary" if u == ZOE_UPN else lvl, c) for u, n, lvl, c in rows]

    result = await run_night(
        running_sandbox, tmp_path, write_csv(tmp_path / "t.csv", changed), 2, mode=mode,
        rows_per_chunk=1,
    )  # fmt: skip

    assert levels(await skills_of(running_sandbox, ZOE_UPN)) == {
        "Python": "elementary",
        "SQL": "elementary",
    }
    lines = results(result)
    assert [(line["user"], line["displayName"]) for line in lines] == [r[:2] for r in changed]
    assert [line["action"] for line in lines if line["user"] == ZOE_UPN] == ["updated"] * 2
    assert {line["action"] for line in lines if line["user"] != ZOE_UPN} == {"unchanged"}
    figures = summary(result)["state"]
    assert figures["planned"] == 1
    assert figures["skipped"] + figures["verified"] == len(PEOPLE) - 1


# --- drift made by hand ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["DELETE", "PATCH"])
async def test_a_skill_changed_by_hand_is_put_right_within_verify_days_nights(
    running_sandbox: RunningSandbox, tmp_path: Path, method: str
) -> None:
    path = write_csv(tmp_path / "s.csv", ROWS)
    await run_night(running_sandbox, tmp_path, path, 1)
    await by_hand(running_sandbox, method, BOB_UPN, "SQL")

    restored_on = None
    for number in range(2, 9):
        result = await run_night(running_sandbox, tmp_path, path, number)
        bob = [line for line in results(result) if line["user"] == BOB_UPN]
        if levels(await skills_of(running_sandbox, BOB_UPN)) == {
            "Python": "expert",
            "SQL": "expert",
        }:
            restored_on = number
            # Put right on the night Bob was listed again, by the write it needed.
            assert {line["action"] for line in bob} == {
                "created" if method == "DELETE" else "updated",
                "unchanged",
            }
            break
        assert {state_of(line) for line in bob} == {"skipped"}
    assert restored_on is not None, "not restored within verify_days nights"


@pytest.mark.parametrize("method", ["DELETE", "PATCH"])
async def test_full_puts_a_skill_changed_by_hand_right_at_once(
    running_sandbox: RunningSandbox, tmp_path: Path, method: str
) -> None:
    path = write_csv(tmp_path / "s.csv", ROWS)
    await run_night(running_sandbox, tmp_path, path, 1)
    await by_hand(running_sandbox, method, BOB_UPN, "SQL")
    before = listings(running_sandbox)

    result = await run_night(running_sandbox, tmp_path, path, 2, full=True)

    assert levels(await skills_of(running_sandbox, BOB_UPN)) == {
        "Python": "expert",
        "SQL": "expert",
    }
    assert listings(running_sandbox) - before == 1 + len(PEOPLE)
    figures = summary(result)["state"]
    assert figures["full_reason"] == "--full: every person is listed"
    assert figures.get("skipped", 0) == 0


async def test_delta_off_lists_everyone(running_sandbox: RunningSandbox, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", ROWS)
    await run_night(running_sandbox, tmp_path, path, 1, delta="off")
    before = listings(running_sandbox)

    result = await run_night(running_sandbox, tmp_path, path, 2, delta="off")

    assert listings(running_sandbox) - before == 1 + len(PEOPLE)
    assert summary(result)["state"]["full_reason"] == "run.delta is off: every person is listed"


# --- sync: a person who left the file ---------------------------------------------------------


def _quiet_night(people: Sequence[str]) -> int:
    """A night after night 1 on which none of ``people`` is due for re-verification."""
    verified = night(1).timestamp()
    for number in range(2, 9):
        now = night(number).timestamp()
        if not any(is_due(person, verified, now, 7) for person in people):
            return number
    raise AssertionError("every night re-verifies one of them")  # pragma: no cover


async def test_sync_deletes_a_leavers_owned_skills_listing_only_the_leaver(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    staying = [row for row in ROWS if row[0] in (BOB_UPN, ONEIL_UPN)]
    everyone = [row for row in ROWS if row[0] in (BOB_UPN, ONEIL_UPN, ZOE_UPN)]
    await run_night(
        running_sandbox, tmp_path, write_csv(tmp_path / "all.csv", everyone), 1, mode="sync"
    )
    number = _quiet_night([BOB_ID, ONEIL_ID])
    before, writes = listings(running_sandbox), running_sandbox.stats.writes

    result = await run_night(
        running_sandbox,
        tmp_path,
        write_csv(tmp_path / "kept.csv", staying),
        number,
        mode="sync",
        max_delete_ratio=0.5,  # 2 of the 6 skills the tool owns
    )

    assert result.exit_code == 0, result.reason
    assert await skills_of(running_sandbox, ZOE_UPN) == []
    assert len(await skills_of(running_sandbox, BOB_UPN)) == 2
    # One GET /organization and one listing: Zoe's. Bob and O'Neil cost nothing.
    assert listings(running_sandbox) - before == 2
    assert running_sandbox.stats.writes - writes == 2
    deleted = [line for line in results(result) if line["action"] == "deleted"]
    assert sorted((line["user"], line["displayName"]) for line in deleted) == [
        (ZOE_UPN, "Python"),
        (ZOE_UPN, "SQL"),
    ]
    assert summary(result)["state"]["leavers"] == 1
    assert ZOE_ID not in {row[0] for row in people_in_state()}


async def test_sync_leaves_a_person_whose_rows_are_all_invalid_alone(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    everyone = [row for row in ROWS if row[0] in (BOB_UPN, ZOE_UPN)]
    await run_night(
        running_sandbox, tmp_path, write_csv(tmp_path / "all.csv", everyone), 1, mode="sync"
    )
    broken = [(u, n, "guru" if u == ZOE_UPN else lvl, c) for u, n, lvl, c in everyone]

    result = await run_night(
        running_sandbox,
        tmp_path,
        write_csv(tmp_path / "broken.csv", broken),
        2,
        mode="sync",
        max_invalid_ratio=1,
    )

    assert len(await skills_of(running_sandbox, ZOE_UPN)) == 2
    assert summary(result)["state"].get("leavers", 0) == 0


# --- a changed config, a state that cannot be trusted -----------------------------------------


async def test_a_config_change_makes_the_next_run_full_and_says_why(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "s.csv", ROWS)
    await run_night(running_sandbox, tmp_path, path, 1)
    (tmp_path / "config.yaml").write_text("columns:\n  webUrl: [Profile link]\n")
    before = listings(running_sandbox)

    result = await run_night(running_sandbox, tmp_path, path, 2)

    assert listings(running_sandbox) - before == 1 + len(PEOPLE)
    reason = summary(result)["state"]["full_reason"]
    assert reason == "the config changed since the last run (columns): every person is listed"
    # The next night trusts the state again.
    again = await run_night(running_sandbox, tmp_path, path, 3)
    assert summary(again)["state"].get("skipped", 0) > 0


def _spoil(how: str) -> None:
    path = state_file()
    if how == "garbage":
        path.write_bytes(b"this is not a database" * 100)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name, value = {"tenant": ("tenant", "another-tenant"), "version": ("format", "0")}[how]
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE header SET value = ? WHERE name = ?", (value, name))


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("garbage", "cannot be read"),
        ("tenant", "another tenant"),
        ("version", "another format"),
    ],
)
async def test_a_state_file_that_cannot_be_trusted_gives_a_full_run_and_a_warning(
    running_sandbox: RunningSandbox, tmp_path: Path, how: str, says: str
) -> None:
    path = write_csv(tmp_path / "s.csv", ROWS)
    await run_night(running_sandbox, tmp_path, path, 1)
    await by_hand(running_sandbox, "DELETE", BOB_UPN, "SQL")
    _spoil(how)
    before = listings(running_sandbox)

    result = await run_night(running_sandbox, tmp_path, path, 2)

    assert result.exit_code == 0, result.reason
    assert listings(running_sandbox) - before == 1 + len(PEOPLE)
    assert len(await skills_of(running_sandbox, BOB_UPN)) == 2
    warnings = [w for w in summary(result)["warnings"] if says in w]
    assert len(warnings) == 1
    assert "every person is listed" in warnings[0]
    # The state was started afresh and is trusted the next night.
    again = await run_night(running_sandbox, tmp_path, path, 3)
    assert summary(again)["state"].get("skipped", 0) > 0


async def test_the_built_in_sandboxs_database_made_again_is_never_skipped(
    tmp_path: Path, config: Path
) -> None:
    """Same settings, same file, but a new database: the old state belongs to another tenant."""
    people = ("adele.vance@contoso.com", "alex.wilber@contoso.com")
    path = write_csv(tmp_path / "s.csv", [(u, "Python", "expert", "") for u in people])
    settings = load_settings(config)
    await run_import([path], settings, now=night(1))
    (tmp_path / "graph.sqlite").unlink()

    result = await run_import([path], settings, now=night(2))

    assert result.counts == {**result.counts, "created": 2}
    assert summary(result)["state"]["full_reason"] == (
        "no confirmed state yet for this target: every person is listed"
    )


# --- dry runs -------------------------------------------------------------------------------


async def test_a_dry_run_uses_the_state_but_never_writes_it(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "s.csv", ROWS)
    dry = await run_night(running_sandbox, tmp_path, path, 1, dry_run=True)
    assert dry.counts["would-create"] == len(ROWS)
    import platformdirs

    assert not (
        Path(platformdirs.user_state_dir("skills-import", appauthor=False)) / "state"
    ).exists()

    await run_night(running_sandbox, tmp_path, path, 1)
    saved = people_in_state()
    changed = [(u, n, "elementary" if u == ZOE_UPN else lvl, c) for u, n, lvl, c in ROWS]

    dry = await run_night(
        running_sandbox, tmp_path, write_csv(tmp_path / "t.csv", changed), 2, dry_run=True
    )

    lines = results(dry)
    assert (
        sorted(line["action"] for line in lines if line["user"] == ZOE_UPN) == ["would-update"] * 2
    )
    assert any(state_of(line) == "skipped" for line in lines)
    assert people_in_state() == saved


def test_the_full_flag_on_the_command_line_lists_everyone(config: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", [("adele.vance@contoso.com", "Python", "expert", "")])
    assert invoke_cli("run", "-c", str(config), str(path))[0] == 0

    code, _, _ = invoke_cli("run", "-c", str(config), "--full", str(path))

    assert code == 0
    [folder] = sorted((tmp_path / "reports").glob("2*"))[-1:]
    document = json.loads((folder / "summary.json").read_text())
    assert document["state"]["full_reason"] == "--full: every person is listed"
    assert document["state"]["verified"] == 1


async def test_a_leaver_whose_account_is_gone_is_forgotten_quietly(tmp_path: Path) -> None:
    db = str(tmp_path / "graph.sqlite")
    everyone = [row for row in ROWS if row[0] in (BOB_UPN, ZOE_UPN)]
    both = SandboxConfig(db_path=db, users=[(BOB_ID, BOB_UPN), (ZOE_ID, ZOE_UPN)])
    async with await start_sandbox(both) as sandbox:
        await run_night(sandbox, tmp_path, write_csv(tmp_path / "a.csv", everyone), 1, mode="sync")
    staying = [row for row in ROWS if row[0] == BOB_UPN]
    # Zoe's account was deleted from the directory: Graph answers 404 for her profile.
    async with await start_sandbox(SandboxConfig(db_path=db, users=[(BOB_ID, BOB_UPN)])) as sandbox:
        result = await run_night(
            sandbox, tmp_path, write_csv(tmp_path / "b.csv", staying), 2, mode="sync"
        )

    assert result.exit_code == 0, result.reason
    assert {line["action"] for line in results(result)} == {"unchanged"}
    assert summary(result)["state"]["leavers"] == 1
    assert ZOE_ID not in {row[0] for row in people_in_state()}
    assert summary(result)["warnings"] == []
