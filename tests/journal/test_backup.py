"""``run.backup: auto``: the affected people's skills in ``backup/skills.csv`` before any write."""

from __future__ import annotations

import csv
from pathlib import Path

from importer.pipeline import run_import
from importer.sandbox import RunningSandbox, SandboxConfig, start_sandbox
from tests.conftest import BOB_UPN, GUEST_UPN, ONEIL_UPN
from tests.importing import import_file, settings_for, skills_of, write_csv
from tests.journal.test_undo import FIRST, WRONG, import_rows, state


def backup_rows(report: Path) -> list[dict[str, str]]:
    with (report / "backup" / "skills.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


async def test_a_sync_run_backs_up_the_people_it_changes_and_the_backup_restores_them(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await import_rows(running_sandbox, tmp_path, "first.csv", FIRST)
    after_first = await state(running_sandbox)

    wrong = await import_rows(
        running_sandbox, tmp_path, "wrong.csv", WRONG, mode="sync", max_delete_ratio=1.0
    )

    rows = backup_rows(wrong.report_dir)
    assert {(r["user"], r["displayName"], r["proficiency"]) for r in rows} == {
        (BOB_UPN, "Python", "expert"),
        (BOB_UPN, "Go", "generalProfessional"),
        (GUEST_UPN, "Python", "advancedProfessional"),
        (ONEIL_UPN, "Knitting", "elementary"),
    }  # Zoë's skill is unchanged by the run: she is not backed up
    assert any("backup" in warning for warning in wrong.warnings)

    # Fed to run, the backup puts the levels back and the deleted skills again.
    restored = await import_file(
        running_sandbox, tmp_path, wrong.report_dir / "backup" / "skills.csv"
    )
    assert restored.exit_code == 0, restored.reason
    now = await state(running_sandbox)
    for person in (BOB_UPN, ONEIL_UPN):
        assert after_first[person] <= now[person]


async def test_an_upsert_below_the_threshold_makes_no_backup(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await import_rows(running_sandbox, tmp_path, "first.csv", FIRST)

    result = await import_rows(running_sandbox, tmp_path, "wrong.csv", WRONG)

    assert result.counts["updated"] == 2
    assert not (result.report_dir / "backup").exists()


async def test_an_upsert_above_the_threshold_backs_up_first(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await import_rows(running_sandbox, tmp_path, "first.csv", FIRST)

    result = await import_rows(running_sandbox, tmp_path, "wrong.csv", WRONG, backup_threshold=1)

    people = {r["user"] for r in backup_rows(result.report_dir)}
    assert people == {BOB_UPN, GUEST_UPN}  # the two people whose level changes


async def test_backup_off_makes_none_even_for_sync(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await import_rows(running_sandbox, tmp_path, "first.csv", FIRST)

    result = await import_rows(
        running_sandbox, tmp_path, "w.csv", WRONG, mode="sync", max_delete_ratio=1.0, backup="off"
    )

    assert result.counts["deleted"] == 2
    assert not (result.report_dir / "backup").exists()


async def test_a_chunked_run_backs_up_every_chunk_it_changes(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await import_rows(running_sandbox, tmp_path, "first.csv", FIRST)

    result = await import_rows(running_sandbox, tmp_path, "wrong.csv", WRONG, rows_per_chunk=1)

    people = {r["user"] for r in backup_rows(result.report_dir)}
    assert people == {BOB_UPN, GUEST_UPN}


async def test_a_backup_of_a_run_by_employee_id_feeds_back_with_the_same_configuration(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "directory.csv"
    directory.write_text(
        "id,userPrincipalName,employeeId\n"
        "0b0c3f3a-1c52-4c1e-9a55-7d0c5a2d0042,kim@contoso.com,00042\n",
        encoding="utf-8",
    )
    async with await start_sandbox(SandboxConfig(directory=directory)) as sandbox:
        header = ("employee id", "skill", "level")
        first = write_csv(tmp_path / "first.csv", [("00042", "Go", "expert")], header)
        wrong = write_csv(tmp_path / "wrong.csv", [("00042", "Go", "elementary")], header)
        settings = settings_for(sandbox, tmp_path, backup_threshold=0)
        settings = settings.model_copy(
            update={"input": settings.input.model_copy(update={"user_key": "employeeId"})}
        )
        await run_import([first], settings)
        result = await run_import([wrong], settings)

        restored = await run_import([result.report_dir / "backup" / "skills.csv"], settings)

        assert restored.exit_code == 0, restored.reason
        assert [s["proficiency"] for s in await skills_of(sandbox, "kim@contoso.com")] == ["expert"]
