"""``undo`` under 503s, commit-then-504s and throttling: no duplicate, no skill lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from importer.sandbox import RunningSandbox
from tests.conftest import BOB_UPN, GUEST_UPN, ONEIL_UPN, ZOE_UPN
from tests.importing import results
from tests.journal.test_undo import import_rows, state, undo

PEOPLE = (BOB_UPN, GUEST_UPN, ONEIL_UPN, ZOE_UPN)
FIRST = [(user, f"Skill {n:02d}", "expert", "Work") for user in PEOPLE for n in range(12)]
#: Per person: five levels changed, three skills gone, four new ones.
WRONG = [
    (user, f"Skill {n:02d}", "elementary" if n % 2 else "expert", "Work")
    for user in PEOPLE
    for n in range(3, 16)
]


@pytest.mark.slow
async def test_undo_under_faults_restores_exactly_and_so_does_the_undo_of_it(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    await import_rows(running_sandbox, tmp_path, "first.csv", FIRST)
    after_first = await state(running_sandbox)
    wrong = await import_rows(
        running_sandbox, tmp_path, "wrong.csv", WRONG, mode="sync", max_delete_ratio=1.0
    )
    after_wrong = await state(running_sandbox)
    faults = running_sandbox.faults
    faults.seed = 7
    faults.error_503_rate = 0.10
    faults.commit_then_504_rate = 0.05
    faults.throttle_rps = 50

    undone = await undo(running_sandbox, tmp_path, wrong.report_dir)

    assert undone.exit_code == 0, undone.reason
    assert len(results(undone)) == 4 * (5 + 3 + 4)  # one line per journal entry
    assert await state(running_sandbox) == after_first
    assert running_sandbox.stats_view()["duplicates"] == {}

    again = await undo(running_sandbox, tmp_path, undone.report_dir)

    assert again.exit_code == 0, again.reason
    assert await state(running_sandbox) == after_wrong
    assert running_sandbox.stats_view()["duplicates"] == {}
    answered = running_sandbox.stats.requests_by_method_status
    assert running_sandbox.stats.throttled > 0
    assert sum(n for key, n in answered.items() if key.endswith((" 503", " 504"))) > 0
