"""The run lock: one writer at a time, and a dead run's lock is taken over."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from importer.errors import LockError
from importer.lock import LOCK_NAME, RunLock


def test_a_second_run_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    with RunLock(tmp_path):
        holder = json.loads((tmp_path / LOCK_NAME).read_text())
        with pytest.raises(LockError) as refused:
            RunLock(tmp_path).acquire()
    assert f"pid {holder['pid']}" in str(refused.value)
    assert refused.value.exit_code == 4
    # Released: the next run gets it.
    with RunLock(tmp_path):
        pass


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from importer.lock import RunLock\n"
        "RunLock(Path(sys.argv[1])).acquire()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=False)
    assert done.returncode == -9
    stale = json.loads((tmp_path / LOCK_NAME).read_text())
    assert stale["pid"] != 0  # the dead run's record is still in the file
    with RunLock(tmp_path) as lock:
        assert json.loads(lock.path.read_text())["pid"] != stale["pid"]
