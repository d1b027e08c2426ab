"""The run lock: one writer per target and tenant; a dead run's lock is taken over; no links."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from importer.config import load_settings
from importer.errors import ConfigError, LockError
from importer.lock import RunLock, default_lock_dir, lock_key
from importer.sandbox import SandboxConfig, start_sandbox
from tests.conftest import invoke_cli, start_import_process, wait_for_writes
from tests.importing import write_csv

ROOT = Path(__file__).resolve().parents[2]


def test_a_second_run_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    with RunLock("sandbox one", tmp_path) as first:
        holder = json.loads(first.path.read_text())
        with pytest.raises(LockError) as refused:
            RunLock("sandbox one", tmp_path).acquire()
    assert f"pid {holder['pid']}" in str(refused.value)
    assert holder["started"] in str(refused.value)
    assert refused.value.exit_code == 4
    # Released: the next run gets it.
    with RunLock("sandbox one", tmp_path):
        pass


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from importer.lock import RunLock\n"
        "RunLock('sandbox one', Path(sys.argv[1])).acquire()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=False)
    assert done.returncode == -9
    [path] = tmp_path.glob("*.lock")
    stale = json.loads(path.read_text())
    assert stale["pid"] != 0  # the dead run's record is still in the file
    with RunLock("sandbox one", tmp_path) as lock:
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()


def test_different_targets_do_not_exclude_each_other(tmp_path: Path) -> None:
    with (
        RunLock("https://graph.microsoft.com tenant contoso", tmp_path),
        RunLock("https://graph.microsoft.com tenant fabrikam", tmp_path),
    ):
        pass


def test_the_key_is_the_target_and_tenant_never_the_report_folder(tmp_path: Path) -> None:
    db = str(tmp_path / "graph.sqlite")
    one = load_settings(overrides={"report": {"dir": "a"}, "target": {"sandbox_db": db}})
    two = load_settings(overrides={"report": {"dir": "b"}, "target": {"sandbox_db": db}})
    assert lock_key(one) == lock_key(two)
    other_db = load_settings(overrides={"target": {"sandbox_db": str(tmp_path / "x.sqlite")}})
    assert lock_key(other_db) != lock_key(one)
    cloud = {"graph": "https://graph.microsoft.com"}
    contoso = load_settings(overrides={"target": cloud, "auth": {"tenant_id": "Contoso.com"}})
    same = load_settings(overrides={"target": cloud, "auth": {"tenant_id": "contoso.com"}})
    other = load_settings(overrides={"target": cloud, "auth": {"tenant_id": "fabrikam.com"}})
    assert lock_key(contoso) == lock_key(same) != lock_key(other)


def test_locks_live_in_the_per_user_state_folder(private_user_dirs: Path) -> None:
    assert default_lock_dir() == private_user_dirs / "xdg_state_home" / "skills-import" / "locks"
    lock = RunLock("sandbox one")
    with lock:
        assert lock.path.parent == default_lock_dir()
        assert oct(lock.path.stat().st_mode & 0o777) == oct(0o600)


def test_a_lock_file_that_is_a_symlink_is_refused_and_its_target_untouched(
    tmp_path: Path,
) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("payroll data\n", encoding="utf-8")
    locks = tmp_path / "locks"
    locks.mkdir()
    lock = RunLock("sandbox one", locks)
    lock.path.symlink_to(precious)
    with pytest.raises(ConfigError, match="link") as refused:
        lock.acquire()
    assert refused.value.exit_code == 2
    assert precious.read_text(encoding="utf-8") == "payroll data\n"
    assert lock.path.is_symlink()


def test_a_lock_file_hard_linked_to_another_file_is_refused(tmp_path: Path) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("payroll data\n", encoding="utf-8")
    locks = tmp_path / "locks"
    locks.mkdir()
    lock = RunLock("sandbox one", locks)
    os.link(precious, lock.path)
    with pytest.raises(ConfigError, match="not a plain file"):
        lock.acquire()
    assert precious.read_text(encoding="utf-8") == "payroll data\n"


@pytest.mark.slow
async def test_two_runs_with_different_report_folders_against_one_tenant_never_overlap(
    tmp_path: Path,
) -> None:
    users = [(f"00000000-0000-4000-8000-{n:012d}", f"user{n:03d}@contoso.com") for n in range(20)]
    sandbox_config = SandboxConfig(users=users)
    sandbox_config.faults.latency_ms = 300  # the first run lasts a few seconds
    rows = [(upn, f"Skill {s}", "expert", "") for _, upn in users for s in range(6)]
    csv_file = write_csv(tmp_path / "s.csv", rows)
    async with await start_sandbox(sandbox_config) as sandbox:
        config = tmp_path / "config.yaml"
        config.write_text(f"target:\n  graph: {sandbox.base_url}\n", encoding="utf-8")
        first = await start_import_process(
            config, csv_file, "--report-dir", str(tmp_path / "reports-a")
        )
        await wait_for_writes(sandbox, 1)
        sandbox.hold()  # the first run stays busy, however slowly the second one starts
        try:
            second = await start_import_process(
                config, csv_file, "--report-dir", str(tmp_path / "reports-b")
            )
            _, second_err = await second.communicate()
        finally:
            sandbox.release()

        assert second.returncode == 4
        assert f"pid {first.pid}".encode() in second_err
        assert not (tmp_path / "reports-b").exists()  # refused before any report
        assert await first.wait() == 0
        assert sandbox.stats_view()["duplicates"] == {}
        assert sandbox.stats_view()["skills_total"] == len(rows)


def test_a_full_disk_while_the_lock_record_is_written_is_one_line_and_exit_2(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write

    def disk_full(fd: int, data: bytes) -> int:
        if data.startswith(b'{"pid"'):  # the lock record, nothing else
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", disk_full)
    csv_file = write_csv(tmp_path / "skills.csv", [("ann@contoso.com", "Python", "expert", "")])

    code, _out, err = invoke_cli("run", "-c", str(config), str(csv_file))

    assert code == 2
    [line] = err.strip().splitlines()
    assert line.startswith("error: cannot write the lock file ")
    assert "No space left on device" in line
    assert "nothing was sent" in line
    assert not (tmp_path / "reports").exists() or not list((tmp_path / "reports").iterdir())
    # Nothing is left held: the next run takes the lock.
    monkeypatch.setattr(os, "write", real_write)
    with RunLock(lock_key(load_settings(config)), default_lock_dir()):
        pass
