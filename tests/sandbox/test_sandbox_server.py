"""Running the sandbox on a real port: persistence, the user directory, the offline dump."""

from __future__ import annotations

import ast
import asyncio
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import ClientSession

import importer.sandbox as sandbox_api
from importer.sandbox import (
    RunningSandbox,
    SandboxConfig,
    dump_user_skills,
    load_directory_csv,
    start_sandbox,
)
from tests.conftest import AUTH

DIRECTORY_CSV = (
    "\ufeffid,userPrincipalName,displayName\n"
    "6f1d6c1e-8a4b-4a59-9d1e-000000000001,ann_contoso.com#EXT#@fabrikam.onmicrosoft.com,Ann\n"
    "6f1d6c1e-8a4b-4a59-9d1e-000000000002,zoë@contoso.com,Zoë\n"
)
ZOE = "zoë@contoso.com"


@pytest.fixture
def directory_csv(tmp_path: Path) -> Path:
    path = tmp_path / "directory.csv"
    path.write_text(DIRECTORY_CSV, encoding="utf-8")
    return path


def skills_url(sandbox: RunningSandbox, user: str) -> str:
    return f"{sandbox.base_url}/beta/users/{quote(user, safe='')}/profile/skills"


async def create(session: ClientSession, url: str, name: str) -> dict[str, Any]:
    async with session.post(url, json={"displayName": name}, headers=AUTH) as response:
        assert response.status == 201
        body: dict[str, Any] = await response.json()
        return body


async def test_skills_survive_a_restart_with_the_same_db_file(
    tmp_path: Path, directory_csv: Path
) -> None:
    config = SandboxConfig(db_path=str(tmp_path / "graph.sqlite"), directory=directory_csv)
    async with ClientSession() as session:
        async with await start_sandbox(config) as first:
            created = await create(session, skills_url(first, ZOE), "Python")
        async with await start_sandbox(config) as second:
            async with session.get(skills_url(second, ZOE.upper()), headers=AUTH) as response:
                listed = (await response.json())["value"]
            second_stats = second.stats_view()

    assert listed == [created]
    assert second_stats["skills_total"] == 1


async def test_sandbox_listens_on_loopback_and_reports_its_base_url(
    running_sandbox: RunningSandbox,
) -> None:
    assert running_sandbox.base_url.startswith("http://127.0.0.1:")
    async with (
        ClientSession() as session,
        session.get(f"{running_sandbox.base_url}/_sandbox/stats") as response,
    ):
        assert response.status == 200


async def test_mutating_the_live_faults_changes_behaviour_immediately(
    running_sandbox: RunningSandbox,
) -> None:
    url = f"{running_sandbox.base_url}/beta/users/bob%40contoso.com/profile/skills"
    async with ClientSession() as session:
        running_sandbox.faults.error_503_rate = 1
        async with session.get(url, headers=AUTH) as failing:
            failing_status = failing.status
        running_sandbox.faults.error_503_rate = 0
        async with session.get(url, headers=AUTH) as working:
            working_status = working.status

    assert (failing_status, working_status) == (503, 200)
    assert running_sandbox.stats.requests_by_method_status["GET 503"] == 1


def test_directory_csv_users_are_found_by_id_or_upn_in_any_case(directory_csv: Path) -> None:
    directory = sandbox_api.Directory.from_sources(directory_csv, [("abc", "extra@contoso.com")])

    ann = directory.find("ANN_CONTOSO.COM#EXT#@FABRIKAM.ONMICROSOFT.COM")
    assert ann is not None
    assert ann.display_name == "Ann"
    assert directory.find("6F1D6C1E-8A4B-4A59-9D1E-000000000002") == directory.find(
        "Zoë@contoso.com"
    )
    assert directory.find("extra@contoso.com") is not None
    assert directory.find("nobody@contoso.com") is None
    assert len(directory) == 3


def test_directory_csv_without_a_upn_column_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("id,mail\n1,a@b.c\n", encoding="utf-8")

    with pytest.raises(ValueError, match="userPrincipalName"):
        load_directory_csv(path)


async def test_dump_user_skills_reads_a_users_skills_from_the_db_file(
    tmp_path: Path, directory_csv: Path
) -> None:
    db = str(tmp_path / "graph.sqlite")
    config = SandboxConfig(db_path=db, directory=directory_csv)
    async with ClientSession() as session, await start_sandbox(config) as sandbox:
        await create(session, skills_url(sandbox, ZOE), "Python")
        await create(session, skills_url(sandbox, ZOE), "Go")

    dumped = dump_user_skills(db, directory_csv, "ZOË@contoso.com")

    assert [skill["displayName"] for skill in dumped] == ["Python", "Go"]
    assert (
        dump_user_skills(db, directory_csv, "ann_contoso.com#EXT#@fabrikam.onmicrosoft.com") == []
    )
    with pytest.raises(LookupError):
        dump_user_skills(db, directory_csv, "nobody@contoso.com")
    with pytest.raises(FileNotFoundError):
        dump_user_skills(str(tmp_path / "missing.sqlite"), directory_csv, ZOE)


def test_public_api_names_stay_available() -> None:
    expected = {
        "FaultConfig",
        "SandboxConfig",
        "SandboxStats",
        "RunningSandbox",
        "create_app",
        "start_sandbox",
        "serve_forever",
        "dump_user_skills",
    }
    assert expected <= set(sandbox_api.__all__)
    assert all(hasattr(sandbox_api, name) for name in sandbox_api.__all__)


@pytest.mark.slow
async def test_serve_forever_serves_on_loopback_and_keeps_state_after_sigterm(
    tmp_path: Path, directory_csv: Path
) -> None:
    db = tmp_path / "graph.sqlite"
    # Port 0: the server binds a free port and prints it once it listens (no probe-then-bind
    # race with other processes).
    script = (
        "import sys; from pathlib import Path;"
        "from importer.sandbox import SandboxConfig, serve_forever;"
        "serve_forever(SandboxConfig(db_path=sys.argv[1], directory=Path(sys.argv[2])),"
        " port=0, ready=lambda port: print(port, flush=True))"
    )
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        str(db),
        str(directory_csv),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert server.stdout is not None
        port = int(await asyncio.wait_for(server.stdout.readline(), timeout=30))
        url = f"http://127.0.0.1:{port}/beta/users/{quote(ZOE, safe='')}/profile/skills"
        async with ClientSession() as session:
            await create(session, url, "Python")
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=10)

    assert [skill["displayName"] for skill in dump_user_skills(str(db), directory_csv, ZOE)] == [
        "Python"
    ]


def test_sandbox_imports_nothing_from_the_importer_outside_its_package() -> None:
    package = Path(sandbox_api.__file__).parent
    offenders = []
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{module.name}: {name}"
                for name in names
                if name.split(".")[0] in {"importer", "click", "rich"}
                and not name.startswith("importer.sandbox")
            ]
    assert offenders == []
