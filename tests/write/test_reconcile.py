"""Ambiguous creates: what is retried, when a create counts as landed, and the final sweep.

The rules are pure functions and tested as such; the sweep runs against a sandbox whose
listings lag behind its writes, through the real client, batcher and lister.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from importer.errors import (
    NoAnswerError,
    NotSentError,
    PermanentGraphError,
    TransientGraphError,
    UnexpectedSendError,
)
from importer.graph.batcher import Batcher
from importer.graph.client import GraphClient
from importer.graph.pacing import AdaptivePacer
from importer.graph.stopping import Sleep
from importer.records import Action, Operation, OpKind
from importer.sandbox import RunningSandbox
from importer.write.listing import SkillLister
from importer.write.outcomes import outcome_for
from importer.write.reconcile import Reconciler, WriteAttempts, is_ambiguous
from tests.conftest import BOB_UPN
from tests.importing import fixed_token, post_skill, skills_of

CREATE = Operation(OpKind.CREATE, BOB_UPN, "Python", body={"displayName": "Python"})
TAGGED = {"source": {"type": "skills-import"}}
UPDATE = Operation(OpKind.UPDATE, BOB_UPN, "Python", body={"proficiency": "expert"}, skill_id="1")


@pytest.mark.parametrize(
    ("error", "ambiguous"),
    [
        (TransientGraphError("no answer within 60 s"), True),
        (TransientGraphError("gateway", status=504), True),
        (PermanentGraphError("server", status=500), True),
        (TransientGraphError("cannot connect", sent=False), False),
        (TransientGraphError("throttled", status=429, sent=False), False),
        (PermanentGraphError("bad", status=400), False),
        (NotSentError("held back", sent=False), False),
    ],
)
def test_a_create_is_ambiguous_only_when_graph_may_have_carried_it_out(
    error: Exception, ambiguous: bool
) -> None:
    assert isinstance(error, TransientGraphError | PermanentGraphError | NotSentError)
    assert is_ambiguous(error) is ambiguous


def _after(error: Exception) -> WriteAttempts:
    attempts = WriteAttempts()
    attempts.ambiguous = is_ambiguous(error)  # type: ignore[arg-type]
    return attempts


def test_a_500_is_retried_only_for_a_create_that_may_have_landed() -> None:
    server_error = PermanentGraphError("server", status=500)
    assert Reconciler.worth_retrying(CREATE, _after(server_error), server_error)
    assert not Reconciler.worth_retrying(UPDATE, _after(server_error), server_error)
    assert not Reconciler.worth_retrying(CREATE, WriteAttempts(), server_error)


@pytest.mark.parametrize(
    "error",
    [
        NotSentError("held back", sent=False),
        NoAnswerError("the run stopped first"),
        UnexpectedSendError("unexpected ValueError at client.py:1"),
        PermanentGraphError("no", status=404),
    ],
)
def test_stops_surprises_and_refusals_are_never_retried(error: Exception) -> None:
    ambiguous = WriteAttempts()
    ambiguous.ambiguous = True
    assert not Reconciler.worth_retrying(CREATE, ambiguous, error)


def test_throttling_and_busy_answers_are_retried_for_every_write() -> None:
    for op in (CREATE, UPDATE):
        assert Reconciler.worth_retrying(
            op, WriteAttempts(), TransientGraphError("busy", status=503)
        )


# --- against the sandbox ---------------------------------------------------------------------


@pytest.fixture
async def lister(running_sandbox: RunningSandbox) -> AsyncIterator[SkillLister]:
    async with (
        GraphClient(
            running_sandbox.base_url,
            "beta",
            fixed_token,
            concurrency=2,
            request_timeout_s=10,
            max_attempts=3,
            max_retry_wait_s=5,
        ) as client,
        Batcher(client, batch_size=20, concurrency=2, pacer=AdaptivePacer()) as batcher,
    ):
        yield SkillLister(
            client, batcher, max_attempts=3, max_wait_s=5, sleep=client.stopping.sleeper(_nap)
        )


async def _nap(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def _reconciler(
    lister: SkillLister, settle_s: float, patience_s: float = 1.0, sleep: Sleep = _nap
) -> Reconciler:
    return Reconciler(
        lister, source_tag="skills-import", settle_s=settle_s, patience_s=patience_s, sleep=sleep
    )


def _hold_created(reconciler: Reconciler, skill_id: str, *, unclear: int = 1) -> None:
    """A create of Python that timed out ``unclear`` times, then was confirmed as ``skill_id``."""
    attempts = WriteAttempts()
    for _ in range(unclear):
        reconciler.note_failure(CREATE, TransientGraphError("no answer within 1 s"), attempts)
    reconciler.note_reported(BOB_UPN, skill_id)
    created = outcome_for(CREATE, Action.CREATED, skill_id=skill_id, attempts=unclear + 1)
    reconciler.hold(CREATE, attempts, replace(created, status=201))


def _as_written(user: str) -> str:
    return user


async def test_landed_finds_a_create_graph_carried_out_after_all(
    running_sandbox: RunningSandbox, lister: SkillLister
) -> None:
    reconciler = _reconciler(lister, settle_s=1)
    attempts = WriteAttempts()
    reconciler.note_failure(CREATE, TransientGraphError("gateway", status=504), attempts)
    landed = await post_skill(running_sandbox, BOB_UPN, {"displayName": "python"})

    assert await reconciler.landed(CREATE, attempts) == landed
    other = Operation(OpKind.CREATE, BOB_UPN, "Go", body={"displayName": "Go"})
    assert await reconciler.landed(other, attempts) is None


async def test_the_sweep_waits_for_a_lagging_listing_then_removes_the_extra_copy(
    running_sandbox: RunningSandbox, lister: SkillLister
) -> None:
    by_hand = await post_skill(running_sandbox, BOB_UPN, {"displayName": "Python"})
    late_copy = await post_skill(running_sandbox, BOB_UPN, {"displayName": "Python", **TAGGED})
    running_sandbox.faults.listing_lag_ms = 400  # what is written next stays hidden a while
    reported = await post_skill(running_sandbox, BOB_UPN, {"displayName": "python", **TAGGED})
    reconciler = _reconciler(lister, settle_s=1.5)
    _hold_created(reconciler, reported)

    swept = await reconciler.sweep(_as_written)

    running_sandbox.faults.listing_lag_ms = 0
    left = {skill["id"] for skill in await skills_of(running_sandbox, BOB_UPN)}
    assert left == {by_hand, reported}  # the copy the report names stays, people's own too
    assert late_copy not in left
    assert swept.figures.removed == 1
    assert [(o.action, o.skill_id) for o in swept.outcomes] == [(Action.CREATED, reported)]


async def test_a_listing_that_never_catches_up_leaves_the_row_unverified(
    running_sandbox: RunningSandbox, lister: SkillLister
) -> None:
    reconciler = _reconciler(lister, settle_s=0.3, patience_s=0.5)
    _hold_created(reconciler, "an-id-graph-never-lists")

    swept = await reconciler.sweep(_as_written)

    [row] = swept.outcomes
    assert (row.action, row.error_type) == (Action.FAILED, "unverified-duplicates")
    assert "did not show every skill just written" in row.error
    assert "the next run removes any extra copy" in row.error
    assert swept.figures.unverified == 1
    assert any(BOB_UPN in warning and "could not check" in warning for warning in swept.warnings)


async def test_the_sweep_keeps_looking_through_failed_listings_until_one_can_be_trusted(
    running_sandbox: RunningSandbox, lister: SkillLister
) -> None:
    reported = await post_skill(running_sandbox, BOB_UPN, {"displayName": "Python", **TAGGED})
    late_copy = await post_skill(running_sandbox, BOB_UPN, {"displayName": "python", **TAGGED})
    faults = running_sandbox.faults
    faults.listing_answer, faults.spoil_limit = "not-json", 4  # more than one listing's 3 tries
    reconciler = _reconciler(lister, settle_s=0.1, patience_s=30)
    _hold_created(reconciler, reported)

    swept = await reconciler.sweep(_as_written)

    assert running_sandbox.stats.spoiled == 4
    assert [(o.action, o.skill_id) for o in swept.outcomes] == [(Action.CREATED, reported)]
    assert [s["id"] for s in await skills_of(running_sandbox, BOB_UPN)] == [reported]
    assert late_copy not in {s["id"] for s in await skills_of(running_sandbox, BOB_UPN)}
    assert swept.figures.unverified == 0


async def test_a_user_whose_listings_keep_failing_is_named_and_their_rows_flagged(
    running_sandbox: RunningSandbox, lister: SkillLister
) -> None:
    reported = await post_skill(running_sandbox, BOB_UPN, {"displayName": "Python", **TAGGED})
    running_sandbox.faults.listing_answer = "not-json"  # every listing, for good
    reconciler = _reconciler(lister, settle_s=0.1, patience_s=0.5)
    _hold_created(reconciler, reported)

    swept = await reconciler.sweep(_as_written)

    [row] = swept.outcomes
    assert (row.action, row.error_type, row.skill_id) == (
        Action.FAILED,
        "unverified-duplicates",
        reported,
    )
    assert "gave up after 0.5 s" in row.error
    assert swept.figures.unverified == 1
    assert await skills_of(running_sandbox, BOB_UPN) != []  # nothing deleted blind


async def test_once_every_copy_that_may_land_is_seen_the_sweep_does_not_wait(
    running_sandbox: RunningSandbox, lister: SkillLister
) -> None:
    reported = await post_skill(running_sandbox, BOB_UPN, {"displayName": "Python", **TAGGED})
    await post_skill(running_sandbox, BOB_UPN, {"displayName": "python", **TAGGED})
    waits: list[float] = []

    async def recorded(seconds: float) -> None:
        waits.append(seconds)

    reconciler = _reconciler(lister, settle_s=600, patience_s=600, sleep=recorded)
    _hold_created(reconciler, reported, unclear=1)  # one timed-out attempt, one 201: two copies

    swept = await reconciler.sweep(_as_written)

    assert waits == []  # both copies seen at the first look: nothing more can land
    assert swept.figures.removed == 1
    assert [o.action for o in swept.outcomes] == [Action.CREATED]


async def test_a_run_that_stops_before_the_sweep_flags_the_rows_it_could_not_check(
    lister: SkillLister,
) -> None:
    reconciler = _reconciler(lister, settle_s=1)
    _hold_created(reconciler, "some-id")

    left = reconciler.release_unchecked("the run stopped before the final check", _as_written)

    [row] = left.outcomes
    assert (row.action, row.error_type) == (Action.FAILED, "unverified-duplicates")
    assert "the run stopped before the final check" in row.error
    assert left.figures.unverified == 1
    assert [BOB_UPN in warning for warning in left.warnings] == [True]


async def test_a_user_gone_from_the_directory_is_reported_at_once_not_looked_at_for_minutes(
    running_sandbox: RunningSandbox, lister: SkillLister
) -> None:
    gone = Operation(OpKind.CREATE, "nobody@contoso.com", "Go", body={"displayName": "Go"})
    waits: list[float] = []

    async def recorded(seconds: float) -> None:
        waits.append(seconds)

    reconciler = _reconciler(lister, settle_s=0, patience_s=600, sleep=recorded)
    attempts = WriteAttempts()
    reconciler.note_failure(gone, TransientGraphError("no answer within 1 s"), attempts)
    reconciler.hold(gone, attempts, outcome_for(gone, Action.CREATED, skill_id="x", attempts=2))

    swept = await reconciler.sweep(_as_written)

    [row] = swept.outcomes
    assert (row.action, row.error_type) == (Action.FAILED, "unverified-duplicates")
    assert "HTTP 404" in row.error
    assert waits == []
