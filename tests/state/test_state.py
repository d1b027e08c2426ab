"""The confirmed state's rules on their own: the rotation, the digest, the file's header."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from importer.records import SkillRow, SourceRow, Table
from importer.state import Entry, StateHeader, is_due, open_state, wanted_digest

DAY = timedelta(days=1)
START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
TABLE = Table("s.csv", "", ("user", "skill"), {"user": 0, "displayName": 1})


def _row(
    name: str, level: str | None = "expert", categories: tuple[str, ...] | None = None
) -> SkillRow:
    return SkillRow(SourceRow(TABLE, 2, ("bob", name)), "bob", name, level, categories)


@pytest.mark.parametrize("verify_days", [1, 2, 7, 30])
def test_nightly_runs_list_every_unchanged_person_at_least_once_every_verify_days_nights(
    verify_days: int,
) -> None:
    people = [str(uuid.UUID(int=n)) for n in range(300)]
    verified = dict.fromkeys(people, START.timestamp())
    longest: dict[str, int] = dict.fromkeys(people, 0)
    since: dict[str, int] = dict.fromkeys(people, 0)
    for number in range(1, 4 * verify_days + 1):
        now = (START + number * DAY).timestamp()
        for person in people:
            since[person] += 1
            if is_due(person, verified[person], now, verify_days):
                verified[person] = now
                longest[person] = max(longest[person], since[person])
                since[person] = 0
    assert max(max(longest.values()), max(since.values())) <= verify_days
    # ...and a night lists about a verify_days-th of them, not everyone at once.
    tonight = (START + 2 * verify_days * DAY).timestamp()
    due = sum(is_due(p, verified[p], tonight, verify_days) for p in people)
    assert due <= len(people) / verify_days * 1.5 + 5


def test_a_person_verified_earlier_the_same_day_is_not_due_again() -> None:
    verified = (START + 3 * DAY).timestamp()
    later = verified + 3600
    assert not any(is_due(str(uuid.UUID(int=n)), verified, later, 7) for n in range(200))


def test_the_digest_ignores_row_and_list_order_but_not_a_value() -> None:
    one = [_row("Python", categories=("a", "b")), _row("SQL")]
    other = [_row("SQL"), _row("Python", categories=("b", "a"))]
    assert wanted_digest(one, "fp") == wanted_digest(other, "fp")
    assert wanted_digest(one, "fp") != wanted_digest(
        [_row("Python", "elementary"), _row("SQL")], "fp"
    )
    assert wanted_digest(one, "fp") != wanted_digest(one, "another config")
    # An empty level cell (leave Graph's value alone) is not the same wish as a level.
    assert wanted_digest([_row("SQL", None)], "fp") != wanted_digest([_row("SQL")], "fp")


def test_a_dry_run_never_creates_or_changes_the_state_file(tmp_path: Path) -> None:
    header = StateHeader("sandbox", "t1", "profile", {"run.mode": "upsert"})
    path = tmp_path / "state" / "profile.sqlite"
    opened = open_state(path, header, writable=False)
    opened.state.confirm("bob", Entry("d", 1.0, "bob@contoso.com", 2))
    opened.state.close()
    assert not path.parent.exists()

    opened = open_state(path, header, writable=True)
    opened.state.confirm("bob", Entry("d", 1.0, "bob@contoso.com", 2))
    opened.state.close()
    before = path.read_bytes()
    changed = StateHeader("sandbox", "t1", "profile", {"run.mode": "sync"})
    opened = open_state(path, changed, writable=False)
    assert opened.changed == ["run.mode"]
    assert opened.state.entries(["bob"]) == {"bob": Entry("d", 1.0, "bob@contoso.com", 2)}
    opened.state.invalidate(["bob"])
    opened.state.forget("bob")
    opened.state.close()
    assert path.read_bytes() == before


def test_a_state_for_another_kind_is_never_read_as_this_one(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    opened = open_state(path, StateHeader("sandbox", "t1", "connector"), writable=True)
    opened.state.confirm("bob", Entry("d", 1.0, "bob", 1))
    opened.state.close()

    opened = open_state(path, StateHeader("sandbox", "t1", "profile"), writable=True)

    assert "another kind" in opened.problem
    assert opened.state.entries(["bob"]) == {}
    opened.state.close()


def test_a_state_that_fails_mid_run_is_removed_and_vouches_for_nobody(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    opened = open_state(path, StateHeader("sandbox", "t1", "profile"), writable=True)
    state = opened.state
    state.confirm("bob", Entry("d", 1.0, "bob", 1))
    state.commit()
    state._db.close()  # as if the disk failed under it

    state.invalidate(["bob"])

    assert "could not be written" in state.failure
    assert not path.exists()
    assert state.entries(["bob"]) == {}
    state.close()
