"""Shared fixtures. Keep them generic and grouped by topic; add new groups below the last one."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from click.testing import CliRunner

from importer.cli import cli
from importer.sandbox import (
    FIXED_TOKEN,
    RunningSandbox,
    SandboxConfig,
    create_app,
    start_sandbox,
)

# --- sandbox (a local Graph on 127.0.0.1) ------------------------------------------------------

ANN_ID = "0b0c3f3a-1c52-4c1e-9a55-7d0c5a2d0001"
GUEST_UPN = "ann_contoso.com#EXT#@fabrikam.onmicrosoft.com"
ONEIL_ID = "0b0c3f3a-1c52-4c1e-9a55-7d0c5a2d0002"
ONEIL_UPN = "o'neil@contoso.com"
ZOE_ID = "0b0c3f3a-1c52-4c1e-9a55-7d0c5a2d0003"
ZOE_UPN = "zoë@contoso.com"
BOB_ID = "0b0c3f3a-1c52-4c1e-9a55-7d0c5a2d0004"
BOB_UPN = "bob@contoso.com"

SANDBOX_USERS: tuple[tuple[str, str], ...] = (
    (ANN_ID, GUEST_UPN),
    (ONEIL_ID, ONEIL_UPN),
    (ZOE_ID, ZOE_UPN),
    (BOB_ID, BOB_UPN),
)
"""Users every test sandbox knows: a guest (#EXT#), an apostrophe, a non-ASCII UPN, a plain one."""

AUTH = {"Authorization": f"Bearer {FIXED_TOKEN}"}
"""Headers of a delegated-like client (the fixed sandbox token: writes allowed)."""


class FakeClock:
    """A monotonic clock that only moves when told to (throttling windows, token expiry)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeTime:
    """A clock and a sleep that moves it forward at once: tests never really wait.

    Share one between the sandbox and the client to check Retry-After windows exactly.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # let other tasks run, as a real sleep would


class SleepRecorder:
    """An injectable ``sleep`` that records the delays it was asked for and never waits."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """An in-memory sandbox knowing :data:`SANDBOX_USERS`, all faults off."""
    return SandboxConfig(users=SANDBOX_USERS)


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock tests move by hand."""
    return FakeClock()


@pytest.fixture
def sleep_recorder() -> SleepRecorder:
    """A sleep that never waits."""
    return SleepRecorder()


SandboxClientFactory = Callable[..., Coroutine[Any, Any, TestClient[Any, Any]]]


@pytest.fixture
def make_sandbox_client(
    aiohttp_client: Any, fake_clock: FakeClock, sleep_recorder: SleepRecorder
) -> SandboxClientFactory:
    """Start a sandbox app on 127.0.0.1 and return a client for it (no auth header preset).

    Call it as ``await make_sandbox_client(config)``; the app runs on :func:`fake_clock` and
    :func:`sleep_recorder`, so tests move time instead of waiting.
    """

    async def factory(config: SandboxConfig) -> TestClient[Any, Any]:
        app = create_app(config, clock=fake_clock, sleep=sleep_recorder)
        client: TestClient[Any, Any] = await aiohttp_client(app)
        return client

    return factory


@pytest.fixture
async def sandbox_client(
    make_sandbox_client: SandboxClientFactory, sandbox_config: SandboxConfig
) -> TestClient[Any, Any]:
    """A client for a default sandbox (:func:`sandbox_config`)."""
    return await make_sandbox_client(sandbox_config)


@pytest.fixture
async def running_sandbox(sandbox_config: SandboxConfig) -> AsyncIterator[RunningSandbox]:
    """A real sandbox serving on a free 127.0.0.1 port (``.base_url``), closed afterwards."""
    async with await start_sandbox(sandbox_config) as sandbox:
        yield sandbox


#: How long a test waits for the sandbox to reach a state before it fails.
SANDBOX_WAIT_S = 60.0


async def wait_for_writes(sandbox: RunningSandbox, at_least: int) -> None:
    """Return once the sandbox has stored ``at_least`` writes (woken by each request it answers)."""
    try:
        async with asyncio.timeout(SANDBOX_WAIT_S):
            await sandbox.wait_until(lambda s: s.writes >= at_least)
    except TimeoutError:
        raise AssertionError(f"only {sandbox.stats.writes} writes arrived") from None


async def settled(sandbox: RunningSandbox) -> None:
    """Return once every request that reached the sandbox has been answered."""
    async with asyncio.timeout(SANDBOX_WAIT_S):
        await sandbox.wait_until(lambda s: s.in_flight == 0)


# --- per-user folders (run locks, saved sign-ins) -----------------------------------------------


@pytest.fixture(autouse=True)
def private_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: Any) -> Path:
    """Every test gets its own per-user state and config folders (platformdirs reads XDG_*).

    Run locks and saved sign-ins then never touch the real home folder, and tests running at
    the same time never share a lock. Subprocesses inherit the variables.
    """
    base = tmp_path_factory.mktemp("user-dirs")
    for variable in ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(variable, str(base / variable.lower()))
    return base


# --- no implicit ./config.yaml ----------------------------------------------------------------


@pytest.fixture(autouse=True)
def run_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own empty folder, so nothing reads the repository's config.yaml.

    A test that wants settings passes a config file (``-c``, ``load_settings(path)``); one that
    checks the "./config.yaml if present" rule writes that file into its folder.
    """
    monkeypatch.chdir(tmp_path)


# --- the command line ---------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIRECTORY = ROOT / "samples" / "directory.csv"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config file for CLI runs: a private sandbox database and report folder under tmp_path."""
    path = tmp_path / "config.yaml"
    path.write_text(
        "target:\n"
        f"  sandbox_db: {tmp_path / 'graph.sqlite'}\n"
        f"  sandbox_directory: {SAMPLE_DIRECTORY}\n"
        "report:\n"
        f"  dir: {tmp_path / 'reports'}\n",
        encoding="utf-8",
    )
    return path


def invoke_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run ``skills-import ARGS`` in-process; return (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


async def start_import_process(
    config: Path,
    csv_file: Path,
    *options: str,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
) -> Any:
    """Start ``skills-import run -c CONFIG --quiet --concurrency 2 --batch-size 5 [OPTIONS]``.

    A real process (signals, locks, a kill mid-run); stderr is piped, stdout dropped.
    """
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "importer",
        "run",
        "-c",
        str(config),
        "--quiet",
        "--concurrency",
        "2",
        "--batch-size",
        "5",
        *options,
        str(csv_file),
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def interrupted_cli(
    *args: str,
    ready: Callable[[], Awaitable[None]],
    signum: int = signal.SIGTERM,
) -> int:
    """Run ``python -m importer ARGS`` as a real process, send ``signum`` once ``ready``
    returns, and return the exit code (the process is killed if it outlives the wait)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "importer",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(SANDBOX_WAIT_S):
            await ready()
            process.send_signal(signum)
            return await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
