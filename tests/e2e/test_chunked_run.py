"""Runs whose rows are planned and written a chunk of users at a time (``run.rows_per_chunk``).

A large file is held on disk and handed to the Graph stages whole users at a time; these tests
make the chunks tiny so that a handful of rows crosses several chunk boundaries, with every
person's rows spread over the file (sorted by skill, not by person).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from importer.pipeline import run_import
from importer.records import Action
from importer.sandbox import RunningSandbox
from tests.conftest import BOB_UPN, GUEST_UPN, ONEIL_UPN, ZOE_UPN
from tests.importing import import_file, results, settings_for, skills_of, write_csv

USERS = (BOB_UPN, GUEST_UPN, ONEIL_UPN, ZOE_UPN)
SKILLS = ("Python", "SQL", "Go", "Excel", "Rust")
#: Sorted by skill: each user's five rows are spread over the whole file.
ROWS = [(user, skill, "expert", "Work") for skill in SKILLS for user in USERS]


async def test_every_row_lands_once_and_a_rerun_writes_nothing(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "skills.csv", ROWS)
    first = await import_file(running_sandbox, tmp_path, path, rows_per_chunk=6)
    assert first.exit_code == 0
    assert first.counts[Action.CREATED.value] == len(ROWS)
    for user in USERS:
        names = sorted(s["displayName"] for s in await skills_of(running_sandbox, user))
        assert names == sorted(SKILLS)
    # Every input row is in results.csv exactly once.
    lines = Counter((r["source"], r["row"]) for r in results(first))
    assert len(lines) == len(ROWS)
    assert set(lines.values()) == {1}
    writes = running_sandbox.stats.writes

    second = await import_file(running_sandbox, tmp_path, path, rows_per_chunk=6)

    assert second.counts[Action.UNCHANGED.value] == len(ROWS)
    assert running_sandbox.stats.writes == writes


async def _imported_then_two_skills_dropped(
    sandbox: RunningSandbox, tmp_path: Path
) -> tuple[int, list[tuple[str, str, str, str]], Path]:
    """Import ROWS in chunks; return the writes so far, and a file without Go and Rust.

    Each user drops two of five skills: 8 of 20 owned skills (40%) would go, above 20%.
    """
    await import_file(sandbox, tmp_path, write_csv(tmp_path / "skills.csv", ROWS), rows_per_chunk=6)
    kept = [row for row in ROWS if row[1] not in ("Go", "Rust")]
    return sandbox.stats.writes, kept, write_csv(tmp_path / "smaller.csv", kept)


async def test_sync_counts_deletes_over_every_chunk_before_writing(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    writes, kept, smaller = await _imported_then_two_skills_dropped(running_sandbox, tmp_path)

    refused = await import_file(running_sandbox, tmp_path, smaller, mode="sync", rows_per_chunk=6)

    assert refused.exit_code == 3
    assert "max_delete_ratio" in refused.reason or "delete" in refused.reason
    assert running_sandbox.stats.writes == writes, "a write was sent before the guard decided"
    assert Counter(r["action"] for r in results(refused))[Action.CREATED.value] == 0

    allowed = await import_file(
        running_sandbox, tmp_path, smaller, mode="sync", rows_per_chunk=6, max_delete_ratio=0.5
    )

    assert allowed.exit_code == 0
    assert allowed.counts[Action.DELETED.value] == 8
    assert allowed.counts[Action.UNCHANGED.value] == len(kept)
    for user in USERS:
        names = sorted(s["displayName"] for s in await skills_of(running_sandbox, user))
        assert names == ["Excel", "Python", "SQL"]


async def test_a_dry_run_over_several_chunks_lists_every_row(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "skills.csv", ROWS)
    result = await import_file(running_sandbox, tmp_path, path, rows_per_chunk=6)
    assert result.exit_code == 0
    changed = [(u, s, "elementary" if s == "SQL" else lvl, c) for u, s, lvl, c in ROWS]
    writes = running_sandbox.stats.writes

    dry = await run_import(
        [write_csv(tmp_path / "changed.csv", changed)],
        settings_for(running_sandbox, tmp_path, rows_per_chunk=6),
        dry_run=True,
    )

    assert dry.counts[Action.WOULD_UPDATE.value] == len(USERS)
    assert dry.counts[Action.UNCHANGED.value] == len(ROWS) - len(USERS)
    assert running_sandbox.stats.writes == writes


async def test_a_dry_run_sync_over_several_chunks_gives_the_guards_verdict(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    writes, _kept, smaller = await _imported_then_two_skills_dropped(running_sandbox, tmp_path)

    dry = await run_import(
        [smaller],
        settings_for(running_sandbox, tmp_path, mode="sync", rows_per_chunk=6),
        dry_run=True,
    )

    assert dry.exit_code == 3  # what the real run would do: 8 of 20 owned skills is above 20%
    assert dry.counts[Action.WOULD_DELETE.value] == 8
    assert running_sandbox.stats.writes == writes
