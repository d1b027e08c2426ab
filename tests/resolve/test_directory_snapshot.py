"""The directory snapshot file: applying a delta round's changes, and what is never trusted."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from importer.state.directory_snapshot import (
    LINK_MAX_AGE_S,
    SnapshotError,
    apply_changes,
    read_snapshot,
    snapshot_path,
    store_changes,
    store_link,
    store_snapshot,
)

ANN = {"id": "A1", "userPrincipalName": "ann@x.com", "mail": "ann@x.com", "accountEnabled": True}
BOB = {"id": "b2", "userPrincipalName": "bob@x.com", "employeeId": "007", "accountEnabled": True}
NOW = 1_800_000_000.0


def test_changes_merge_the_properties_given_and_removed_users_go() -> None:
    users = {"a1": dict(ANN), "b2": dict(BOB)}
    changed = apply_changes(
        users,
        [
            {"id": "A1", "mail": None, "accountEnabled": False},
            {"id": "b2", "@removed": {"reason": "deleted"}},
            {"id": "c3", "userPrincipalName": "cy@x.com"},
            {"userPrincipalName": "no-id@x.com"},
        ],
    )
    assert users == {
        "a1": {"id": "A1", "userPrincipalName": "ann@x.com", "mail": None,
               "accountEnabled": False},
        "c3": {"id": "c3", "userPrincipalName": "cy@x.com"},
    }  # fmt: skip
    assert changed == {"a1": users["a1"], "b2": None, "c3": users["c3"]}


def test_a_snapshot_round_trips_and_applying_the_same_changes_twice_changes_nothing(
    tmp_path: Path,
) -> None:
    path = snapshot_path("sandbox", "t1", tmp_path)
    store_snapshot(path, "sandbox", "t1", [ANN, BOB], "https://g/v1.0/users/delta?x=1", NOW)
    snapshot = read_snapshot(path, "sandbox", "t1", NOW + 60)
    assert snapshot.users == {"a1": ANN, "b2": BOB}
    assert (snapshot.link, snapshot.taken) == ("https://g/v1.0/users/delta?x=1", NOW)
    changes: list[dict[str, Any]] = [
        {"id": "b2", "@removed": {"reason": "changed"}},
        {"id": "A1", "mail": "a@y.com"},
    ]
    for _ in range(2):  # a run killed before the new link replays the same changes
        users = read_snapshot(path, "sandbox", "t1", NOW + 60).users
        store_changes(path, apply_changes(users, changes))
    replayed = read_snapshot(path, "sandbox", "t1", NOW + 60)
    assert replayed.users == {"a1": {**ANN, "mail": "a@y.com"}}
    assert replayed.link == "https://g/v1.0/users/delta?x=1"
    store_link(path, "https://g/v1.0/users/delta?x=2", NOW + 120)
    assert read_snapshot(path, "sandbox", "t1", NOW + 130).link.endswith("x=2")


@pytest.mark.parametrize("problem", ["missing", "tenant", "target", "format", "old", "garbage"])
def test_a_snapshot_that_cannot_be_trusted_is_refused_with_a_reason(
    tmp_path: Path, problem: str
) -> None:
    path = snapshot_path("sandbox", "t1", tmp_path)
    if problem != "missing":
        store_snapshot(path, "sandbox", "t1", [ANN], "https://g/v1.0/users/delta?x=1", NOW)
    now, tenant, target = NOW, "t1", "sandbox"
    if problem == "tenant":
        tenant = "t2"
    elif problem == "target":
        target = "https://graph.microsoft.com"
    elif problem == "format":
        with sqlite3.connect(path) as db:
            db.execute("UPDATE header SET value = '0' WHERE name = 'format'")
    elif problem == "old":
        now = NOW + LINK_MAX_AGE_S + 1
    elif problem == "garbage":
        path.write_bytes(b"\x00garbage" * 500)
    with pytest.raises(SnapshotError) as caught:
        read_snapshot(path, target, tenant, now)
    expected = {
        "missing": "no directory snapshot yet",
        "tenant": "another tenant",
        "target": "another target",
        "format": "another format",
        "old": "days old",
        "garbage": "cannot be read",
    }[problem]
    assert expected in str(caught.value)
