"""The safety guards' verdicts, as an HR admin would read them."""

from __future__ import annotations

from importer.errors import PermanentGraphError, TransientGraphError
from importer.write.guards import SystemicRefusalGuard, delete_guard


def _refused(status: int = 403) -> PermanentGraphError:
    return PermanentGraphError("refused", status=status, code="ErrorAccessDeniedForRole")


def test_the_run_stops_once_the_first_five_users_are_all_refused() -> None:
    guard = SystemicRefusalGuard(users=100)
    verdicts = [guard.note("write", f"user{n}@contoso.com", _refused()) for n in range(5)]
    assert verdicts[:4] == [None] * 4
    assert verdicts[4] is not None
    assert "User.ReadWrite.All" in verdicts[4]
    assert "first 5 users" in verdicts[4]


def test_one_user_allowed_among_the_first_means_the_refusals_are_not_systemic() -> None:
    guard = SystemicRefusalGuard(users=100)
    guard.note("write", "a@contoso.com", _refused())
    guard.note("write", "b@contoso.com", None)
    verdicts = [guard.note("write", f"user{n}@contoso.com", _refused()) for n in range(10)]
    assert verdicts == [None] * 10


def test_a_small_file_needs_only_its_own_users_and_reads_are_judged_apart() -> None:
    guard = SystemicRefusalGuard(users=2)
    assert guard.note("read", "a@contoso.com", None) is None
    assert guard.note("write", "a@contoso.com", _refused(401)) is None
    assert guard.note("write", "b@contoso.com", TransientGraphError("busy", status=503)) is None
    reason = guard.note("write", "b@contoso.com", _refused(401))
    assert reason is not None
    assert reason.startswith("writing skills was refused (HTTP 401)")


def test_the_delete_guard_names_the_numbers_and_the_way_through() -> None:
    assert delete_guard(2, 10, 0.2, None) is None
    reason = delete_guard(3, 10, 0.2, None)
    assert reason is not None
    assert "3 of 10" in reason
    assert "--allow-deletes 3" in reason
    assert delete_guard(3, 10, 0.2, 3) is None
    assert delete_guard(4, 10, 0.2, 3) is not None
    assert delete_guard(0, 0, 0.0, None) is None
