"""``skills-import undo``: exit codes, one-line refusals, the lock, and a real revert."""

from __future__ import annotations

import json
from pathlib import Path

from importer.config import load_settings
from importer.lock import RunLock
from tests.conftest import invoke_cli
from tests.importing import write_csv

ADELE = "adele.vance@contoso.com"
ALEX = "alex.wilber@contoso.com"


def _only_report(tmp_path: Path) -> Path:
    (folder,) = sorted((tmp_path / "reports").iterdir())
    return folder


def test_undo_of_an_import_removes_what_it_created_and_exits_0(
    config: Path, tmp_path: Path
) -> None:
    csv_file = write_csv(
        tmp_path / "s.csv", [(ADELE, "Python", "expert", ""), (ALEX, "Go", "3", "")]
    )
    assert invoke_cli("run", "-c", str(config), str(csv_file))[0] == 0
    folder = _only_report(tmp_path)

    code, out, _ = invoke_cli("undo", "-c", str(config), str(folder))

    assert code == 0, out
    assert "deleted" in out
    code, out, _ = invoke_cli("run", "-c", str(config), "--dry-run", str(csv_file))
    assert code == 0
    assert "would-create" in out  # both skills are gone again


def test_a_folder_without_a_journal_is_one_line_exit_2(config: Path, tmp_path: Path) -> None:
    folder = tmp_path / "reports" / "20260101T000000Z"
    folder.mkdir(parents=True)

    code, _, err = invoke_cli("undo", "-c", str(config), str(folder))

    assert code == 2
    assert "no journal.jsonl" in err
    assert len(err.strip().splitlines()) == 1


def test_a_journal_of_another_target_is_one_line_exit_2_and_nothing_is_sent(
    config: Path, tmp_path: Path
) -> None:
    csv_file = write_csv(tmp_path / "s.csv", [(ADELE, "Python", "expert", "")])
    assert invoke_cli("run", "-c", str(config), str(csv_file))[0] == 0
    folder = _only_report(tmp_path)
    journal = folder / "journal.jsonl"
    lines = journal.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    header["target"], header["tenant"] = "https://graph.microsoft.com", "contoso.onmicrosoft.com"
    journal.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n", encoding="utf-8")

    code, _, err = invoke_cli("undo", "-c", str(config), str(folder))

    assert code == 2
    assert "https://graph.microsoft.com" in err
    assert "contoso.onmicrosoft.com" in err
    assert len(err.strip().splitlines()) == 1
    assert len(list((tmp_path / "reports").iterdir())) == 1  # no undo report: nothing ran


def test_undo_while_another_run_holds_the_lock_is_exit_4(config: Path, tmp_path: Path) -> None:
    csv_file = write_csv(tmp_path / "s.csv", [(ADELE, "Python", "expert", "")])
    assert invoke_cli("run", "-c", str(config), str(csv_file))[0] == 0
    folder = _only_report(tmp_path)
    with RunLock.for_settings(load_settings(config)):
        code, _, err = invoke_cli("undo", "-c", str(config), str(folder))
    assert code == 4
    assert "another run holds the lock" in err


def test_the_top_level_help_lists_undo_and_export() -> None:
    code, out, _ = invoke_cli("--help")
    assert code == 0
    assert "undo" in out
    assert "export" in out
    code, out, _ = invoke_cli("undo", "--help")
    assert code == 0
    assert "--dry-run" in out
