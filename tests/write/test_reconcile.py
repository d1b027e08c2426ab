"""Ambiguous creates: what is retried, when a create counts as landed, and the final sweep.

The rules are pure functions and tested as such; the sweep runs against a sandbox whose
listings lag behind its writes, through the real client, batcher and lister.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

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
from importer.records import Operation, OpKind
from importer.sandbox import RunningSandbox
from importer.write.listing import SkillLister
from importer.write.reconcile import Reconciler, WriteAttempts, is_ambiguous
from tests.conftest import BOB_UPN
from tests.importing import fixed_token, post_skill, skills_of

CREATE = Operation(OpKind.CREATE, BOB_UPN, "Python", body={"displayName": "Python"})
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
            running_sandbox.base_url, "beta", fixed_token, concurrency=2, request_timeout_s=10
        ) as client,
        Batcher(client, batch_size=20, concurrency=2, pacer=AdaptivePacer()) as batcher,
    ):
        yield SkillLister(
            client, batcher, max_attempts=3, max_wait_s=5, sleep=client.stopping.sleeper(_nap)
        )


async def _nap(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def _reconciler(lister: SkillLister, settle_s: float) -> Reconciler:
    return Reconciler(lister, source_tag="skills-import", settle_s=settle_s, sleep=_nap)


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
    tagged = {"source": {"type": "skills-import"}}
    by_hand = await post_skill(running_sandbox, BOB_UPN, {"displayName": "Python"})
    late_copy = await post_skill(running_sandbox, BOB_UPN, {"displayName": "Python", **tagged})
    running_sandbox.faults.listing_lag_ms = 400  # what is written next stays hidden a while
    reported = await post_skill(running_sandbox, BOB_UPN, {"displayName": "python", **tagged})
    reconciler = _reconciler(lister, settle_s=1.5)
    reconciler.note_failure(CREATE, TransientGraphError("gateway", status=504), WriteAttempts())
    reconciler.note_reported(BOB_UPN, reported)

    swept = await reconciler.sweep()

    running_sandbox.faults.listing_lag_ms = 0
    left = {skill["id"] for skill in await skills_of(running_sandbox, BOB_UPN)}
    assert left == {by_hand, reported}  # the copy the report names stays, people's own too
    assert late_copy not in left
    assert swept.removed == 1


async def test_a_listing_that_never_catches_up_ends_the_sweep_with_a_warning(
    running_sandbox: RunningSandbox, lister: SkillLister
) -> None:
    reconciler = _reconciler(lister, settle_s=0.5)
    reconciler.note_failure(CREATE, TransientGraphError("gateway", status=504), WriteAttempts())
    reconciler.note_reported(BOB_UPN, "an-id-graph-never-lists")

    swept = await reconciler.sweep()

    assert swept.removed == 0
    assert any("did not show every skill" in warning for warning in swept.warnings)
