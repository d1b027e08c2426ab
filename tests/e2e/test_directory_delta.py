"""The directory read from last night's snapshot plus Graph's changes since (``users/delta``).

Night 1 lists the directory and keeps a snapshot; night 2 reads only the changes, and must see
the directory exactly as a full listing would. Anything wrong with the snapshot or the link
gives the full listing, never a wrong resolution.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from importer.pipeline import RunResult, run_import
from importer.sandbox import RunningSandbox, SandboxConfig, start_sandbox
from importer.state.directory_snapshot import snapshot_path
from tests.importing import results, settings_for, write_csv

NIGHT_1 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
#: 17 people in the file, 20 in the directory: with one lookup a request, looking them up
#: would cost 2 requests, so night 1 lists the directory (and keeps a snapshot).
PEOPLE = 17
RUN = {"batch_size": 1, "max_attempts": 2, "max_retry_wait_s": 0.01}


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def upn(n: int) -> str:
    return f"user{n:02d}@contoso.com"


def directory_csv(folder: Path) -> Path:
    path = folder / "directory.csv"
    lines = ["id,userPrincipalName,displayName,mail,employeeId,accountEnabled"]
    lines += [f"{uid(n)},{upn(n)},User {n},{upn(n)},{n:05d},true" for n in range(20)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
async def sandbox(tmp_path: Path) -> Any:
    config = SandboxConfig(directory=directory_csv(tmp_path), db_path=str(tmp_path / "g.sqlite"))
    async with await start_sandbox(config) as running:
        yield running


def input_file(folder: Path, users: list[str], name: str = "night.csv") -> Path:
    return write_csv(folder / name, [(user, "Python", "expert", "Tech") for user in users])


async def night(
    sandbox: RunningSandbox,
    tmp_path: Path,
    path: Path,
    number: int,
    *,
    full: bool = False,
    dry_run: bool = False,
    **run: Any,
) -> RunResult:
    settings = settings_for(sandbox, tmp_path, **{**RUN, **run})
    now = NIGHT_1 + timedelta(days=number - 1)
    return await run_import([path], settings, now=now, full=full, dry_run=dry_run)


def directory(result: RunResult) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((result.report_dir / "summary.json").read_text())
    users: dict[str, Any] = document["users"]
    return users


def verdicts(result: RunResult) -> dict[str, str]:
    """Each row's user -> its error type ("" for a row that resolved)."""
    return {line["user"]: line["errorType"] for line in results(result)}


async def admin(sandbox: RunningSandbox, method: str, path: str, body: Any = None) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{sandbox.base_url}/_sandbox/{path}", json=body) as response,
    ):
        assert response.status == 200, await response.text()


def the_snapshot(sandbox: RunningSandbox) -> Path:
    return snapshot_path("sandbox", sandbox_tenant(sandbox))


def sandbox_tenant(sandbox: RunningSandbox) -> str:
    from importer.sandbox.app import STATE_KEY

    return str(sandbox.app[STATE_KEY].store.tenant_id)


def snapshot_users(path: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(path) as db:
        return {key: json.loads(data) for key, data in db.execute("SELECT key, data FROM users")}


async def change_the_directory(sandbox: RunningSandbox) -> None:
    """A joiner, a disabled account, a leaver and a renamed UPN, as an admin would."""
    await admin(sandbox, "PUT", f"directory/users/{uid(20)}", {"userPrincipalName": upn(20)})
    await admin(sandbox, "PUT", f"directory/users/{uid(1)}", {"accountEnabled": False})
    await admin(sandbox, "DELETE", f"directory/users/{uid(2)}")
    await admin(sandbox, "PUT", f"directory/users/{uid(3)}", {"userPrincipalName": "ren@x.com"})


NIGHT_2_USERS = [*(upn(n) for n in range(PEOPLE)), upn(20), "ren@x.com"]
EXPECTED = {
    upn(1): "user-disabled",
    upn(2): "user-not-found",
    upn(3): "user-not-found",
    upn(20): "",
    "ren@x.com": "",
}


async def test_night_2_reads_only_the_changes_and_sees_them_as_a_listing_would(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    first = await night(sandbox, tmp_path, input_file(tmp_path, [upn(n) for n in range(PEOPLE)]), 1)
    assert directory(first)["strategy"] == "listing"
    assert len(snapshot_users(the_snapshot(sandbox))) == 20
    await change_the_directory(sandbox)
    second_file = input_file(tmp_path, NIGHT_2_USERS, "night2.csv")

    reads = sandbox.stats.directory_reads
    second = await night(sandbox, tmp_path, second_file, 2)

    assert sandbox.stats.directory_reads - reads == 1  # the deltaLink, not the listing
    figures = directory(second)
    assert (figures["strategy"], figures["requests"], figures["changes"]) == ("delta", 1, 4)
    found = verdicts(second)
    assert {user: found[user] for user in EXPECTED} == EXPECTED
    assert all(found[upn(n)] == "" for n in range(4, PEOPLE))
    kept = snapshot_users(the_snapshot(sandbox))
    assert uid(2) not in kept
    assert kept[uid(3)]["userPrincipalName"] == "ren@x.com"
    # --full lists the directory, and finds exactly the same.
    listed = await night(sandbox, tmp_path, second_file, 2, full=True)
    assert directory(listed)["strategy"] == "listing"
    assert "--full" in directory(listed)["listing_reason"]
    assert verdicts(listed) == found


async def test_an_ambiguous_mail_made_between_nights_is_ambiguous(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    (tmp_path / "config.yaml").write_text("input:\n  user_key: mail\n", encoding="utf-8")
    rows = [(upn(n), "Python", "expert", "Tech") for n in range(PEOPLE)]
    path = write_csv(tmp_path / "mail.csv", rows, ("email", "skill", "level", "category"))
    await night(sandbox, tmp_path, path, 1)
    await admin(sandbox, "PUT", f"directory/users/{uid(19)}", {"mail": upn(5)})
    second = await night(sandbox, tmp_path, path, 2)
    assert directory(second)["strategy"] == "delta"
    assert verdicts(second)[upn(5)] == "user-ambiguous"


def spoil_header(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("UPDATE header SET value = 'someone-else' WHERE name = 'tenant'")


def spoil_bytes(path: Path) -> None:
    path.write_bytes(b"this is not a database" * 100)


@pytest.mark.parametrize("spoil", ["expired-link", "old-link", "foreign", "corrupt", "503"])
async def test_a_snapshot_or_link_that_cannot_be_used_gives_a_full_listing_and_a_right_run(
    sandbox: RunningSandbox, tmp_path: Path, spoil: str
) -> None:
    await night(sandbox, tmp_path, input_file(tmp_path, [upn(n) for n in range(PEOPLE)]), 1)
    await change_the_directory(sandbox)
    path = the_snapshot(sandbox)
    number = 2
    if spoil == "expired-link":
        await admin(sandbox, "POST", "directory/expire-delta-links")
    elif spoil == "old-link":
        number = 8  # a week later: past the link's 6 days
    elif spoil == "foreign":
        spoil_header(path)
    elif spoil == "corrupt":
        spoil_bytes(path)
    else:
        sandbox.faults.delta_status = 503
    second_file = input_file(tmp_path, NIGHT_2_USERS, "night2.csv")

    second = await night(sandbox, tmp_path, second_file, number)

    figures = directory(second)
    assert figures["strategy"] == "listing"
    assert figures["listing_reason"]
    found = verdicts(second)
    assert {user: found[user] for user in EXPECTED} == EXPECTED
    log = (second.report_dir / "run.log").read_text(encoding="utf-8")
    assert "the whole directory is listed" in log
    sandbox.faults.delta_status = 0
    # The listing made a fresh snapshot, which the next night uses.
    third = await night(sandbox, tmp_path, second_file, number + 1)
    assert directory(third)["strategy"] == "delta"
    assert verdicts(third) == found


async def test_a_dry_run_reads_the_snapshot_but_never_writes_it(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    dry = await night(sandbox, tmp_path, input_file(tmp_path, [upn(n) for n in range(PEOPLE)]), 1,
                      dry_run=True)  # fmt: skip
    assert directory(dry)["strategy"] == "listing"
    assert not the_snapshot(sandbox).exists()
    await night(sandbox, tmp_path, input_file(tmp_path, [upn(n) for n in range(PEOPLE)]), 1)
    path = the_snapshot(sandbox)
    before = path.read_bytes()
    await change_the_directory(sandbox)
    second_file = input_file(tmp_path, NIGHT_2_USERS, "night2.csv")
    dry = await night(sandbox, tmp_path, second_file, 2, dry_run=True)
    assert directory(dry)["strategy"] == "delta"
    assert {user: verdicts(dry)[user] for user in EXPECTED} == EXPECTED
    assert path.read_bytes() == before
    # The real night still catches up from the old link.
    real = await night(sandbox, tmp_path, second_file, 2)
    assert (directory(real)["strategy"], directory(real)["changes"]) == ("delta", 4)


async def test_run_delta_off_lists_and_keeps_the_snapshot_fresh(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    path = input_file(tmp_path, [upn(n) for n in range(PEOPLE)])
    await night(sandbox, tmp_path, path, 1)
    off = await night(sandbox, tmp_path, path, 2, delta="off")
    assert directory(off)["strategy"] == "listing"
    assert "run.delta is off" in directory(off)["listing_reason"]
    log = (off.report_dir / "run.log").read_text(encoding="utf-8")
    assert "run.delta is off: the whole directory is listed" in log
    auto = await night(sandbox, tmp_path, path, 3)
    assert directory(auto)["strategy"] == "delta"


async def test_a_run_killed_between_the_changes_and_the_new_link_converges(
    sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The changes are committed first, the new link after: a run that dies in between leaves
    the old link, which answers the same changes again; applying them twice is harmless."""
    await night(sandbox, tmp_path, input_file(tmp_path, [upn(n) for n in range(PEOPLE)]), 1)
    await change_the_directory(sandbox)
    second_file = input_file(tmp_path, NIGHT_2_USERS, "night2.csv")
    path = the_snapshot(sandbox)

    def killed(*_: Any) -> None:
        """The process died here: the new link is never written."""

    with monkeypatch.context() as patch:
        patch.setattr("importer.resolve.cached.store_link", killed)
        crashed = await night(sandbox, tmp_path, second_file, 2)
    assert directory(crashed)["changes"] == 4
    after_crash = snapshot_users(path)

    again = await night(sandbox, tmp_path, second_file, 2)

    assert (directory(again)["strategy"], directory(again)["changes"]) == ("delta", 4)
    assert snapshot_users(path) == after_crash
    assert {user: verdicts(again)[user] for user in EXPECTED} == EXPECTED
    quiet = await night(sandbox, tmp_path, second_file, 3)
    assert (directory(quiet)["strategy"], directory(quiet)["changes"]) == ("delta", 0)
