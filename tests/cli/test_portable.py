"""The CLI on a system without ``fcntl`` (Windows), with the Windows code paths selected.

CI runs on Linux, so each test starts the CLI in a subprocess whose ``sitecustomize``
(``tests/platform_stub``) makes ``import fcntl`` fail, as it does on Windows. With
``SKILLS_IMPORT_TEST_WINDOWS=1`` it also provides an ``msvcrt`` whose ``locking`` answers as
Windows' does, and a ``signal.SIGBREAK`` (Ctrl-Break, delivered here as SIGUSR1), so the lock and
the interrupt handling take their Windows paths.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from importer.sandbox import RunningSandbox, SandboxConfig, start_sandbox
from tests.conftest import start_import_process, wait_for_writes
from tests.importing import write_csv

ROOT = Path(__file__).resolve().parents[2]
STUB = Path(__file__).resolve().parents[1] / "platform_stub"
DIRECTORY = ROOT / "samples" / "directory.csv"
ADELE = "adele.vance@contoso.com"
ALEX = "alex.wilber@contoso.com"

pytestmark = pytest.mark.slow


def _env(*, windows: bool, block: str = "fcntl") -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(STUB), str(ROOT)]),
        SKILLS_IMPORT_TEST_BLOCK=block,
        SKILLS_IMPORT_TEST_WINDOWS="1" if windows else "0",
    )
    return env


def _python(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )


def _cli(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "importer", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )


def _config(tmp_path: Path, graph: str = "sandbox") -> Path:
    path = tmp_path / "config.yaml"
    settings = {
        "target": {
            "graph": graph,
            "sandbox_db": str(tmp_path / "graph.sqlite"),
            "sandbox_directory": str(DIRECTORY),
        },
        "report": {"dir": str(tmp_path / "reports")},
    }
    path.write_text(json.dumps(settings), encoding="utf-8")
    return path


def test_the_stub_really_hides_fcntl_and_selects_the_windows_lock() -> None:
    hidden = _python(_env(windows=False), "import fcntl")
    assert hidden.returncode == 1
    assert "No module named 'fcntl'" in hidden.stderr
    chosen = _python(_env(windows=True), "from importer.lock import os_lock; print(os_lock().name)")
    assert chosen.stdout.strip() == "msvcrt", chosen.stderr


def test_every_module_imports_without_posix_only_modules() -> None:
    code = (
        "import importlib, pkgutil, importer\n"
        "names = [m.name for m in pkgutil.walk_packages(importer.__path__, 'importer.')\n"
        "         if not m.name.endswith('__main__')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "print(len(names))\n"
    )
    done = _python(_env(windows=True, block="fcntl,termios,resource,pwd,grp"), code)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 40


@pytest.mark.parametrize("windows", [False, True], ids=["no-fcntl", "windows-paths"])
def test_validate_works_without_fcntl(tmp_path: Path, windows: bool) -> None:
    source = write_csv(tmp_path / "s.csv", [(ADELE, "Python", "expert", "")])
    done = _cli(_env(windows=windows), tmp_path, "validate", "-c", str(_config(tmp_path)), "s.csv")
    assert done.returncode == 0, done.stderr
    [report] = (tmp_path / "reports").iterdir()
    assert (report / "summary.json").is_file()
    assert source.is_file()


_HOLD_LOCK = (
    "import sys\n"
    "from pathlib import Path\n"
    "from importer.config import load_settings\n"
    "from importer.lock import RunLock\n"
    "with RunLock.for_settings(load_settings(Path(sys.argv[1]))):\n"
    "    print('held', flush=True)\n"
    "    sys.stdin.read()\n"
)


def test_a_system_with_no_file_lock_at_all_refuses_to_run_in_one_line(tmp_path: Path) -> None:
    write_csv(tmp_path / "s.csv", [(ADELE, "Python", "expert", "")])
    done = _cli(_env(windows=False), tmp_path, "run", "-c", str(_config(tmp_path)), "s.csv")
    assert done.returncode == 2
    assert "no file lock" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "graph.sqlite").exists()  # nothing was sent


def test_a_locked_run_into_the_sandbox_works_with_the_windows_lock(tmp_path: Path) -> None:
    env = _env(windows=True)
    config = _config(tmp_path)
    write_csv(tmp_path / "s.csv", [(ADELE, "Python", "expert", ""), (ALEX, "Go", "3", "")])

    first = _cli(env, tmp_path, "run", "-c", str(config), "s.csv")
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout

    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(config)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        refused = _cli(
            env, tmp_path, "run", "-c", str(config), "--report-dir", "elsewhere", "s.csv"
        )
    finally:
        holder.communicate("")
    assert refused.returncode == 4
    assert f"pid {holder.pid}" in refused.stderr

    again = _cli(env, tmp_path, "run", "-c", str(config), "s.csv")
    assert again.returncode == 0, again.stderr
    assert "unchanged" in again.stdout


@pytest.fixture
async def slow_sandbox() -> AsyncIterator[RunningSandbox]:
    users = [(f"00000000-0000-4000-8000-{n:012d}", f"user{n:03d}@contoso.com") for n in range(30)]
    config = SandboxConfig(users=users)
    config.faults.latency_ms = 40
    async with await start_sandbox(config) as sandbox:
        yield sandbox


@pytest.mark.parametrize(
    ("sent", "name"),
    [
        (signal.SIGUSR1, "Ctrl-Break"),  # the stub's SIGBREAK
        (signal.SIGINT, "Ctrl-C"),
        (signal.SIGTERM, "SIGTERM"),
    ],
    ids=["ctrl-break", "ctrl-c", "sigterm"],
)
async def test_an_interrupt_on_the_windows_paths_stops_the_run_with_130_and_the_report(
    slow_sandbox: RunningSandbox, tmp_path: Path, sent: int, name: str
) -> None:
    rows = [
        (f"user{u:03d}@contoso.com", f"Skill {s}", "expert", "")
        for u in range(30)
        for s in range(8)
    ]
    write_csv(tmp_path / "s.csv", rows)
    config = _config(tmp_path, slow_sandbox.base_url)
    process = await start_import_process(
        config, tmp_path / "s.csv", cwd=tmp_path, env=_env(windows=True)
    )
    await wait_for_writes(slow_sandbox, 20)
    process.send_signal(sent)
    _, err = await process.communicate()

    assert process.returncode == 130, f"{name}: {err.decode()}"
    [report] = (tmp_path / "reports").iterdir()
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert summary["exit_code"] == 130
    with (report / "results.csv").open(encoding="utf-8-sig", newline="") as handle:
        actions = Counter(line["action"] for line in csv.DictReader(handle))
    assert sum(actions.values()) == len(rows)  # every row accounted for
    assert actions["created"] == slow_sandbox.stats_view()["skills_total"]
    assert actions["created"] < len(rows)  # it really stopped part-way
