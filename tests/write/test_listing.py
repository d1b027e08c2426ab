"""The duplicate sweep: the last line of defence after creates whose outcome was unknown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

import aiohttp

from importer.graph.batcher import Batcher
from importer.graph.client import GraphClient
from importer.graph.pacing import AdaptivePacer
from importer.sandbox import FIXED_TOKEN, RunningSandbox
from importer.write.listing import GONE, REMOVED, REMOVED_UNANSWERED, SkillLister
from importer.write.sweep import extra_copies
from tests.conftest import BOB_UPN
from tests.importing import fixed_token, post_skill, skills_of


@asynccontextmanager
async def _lister(sandbox: RunningSandbox) -> AsyncIterator[SkillLister]:
    """The write stage's lister over a real client and batcher, with no waiting on retries."""

    async def no_sleep(_: float) -> None:
        return None

    async with (
        GraphClient(
            sandbox.base_url, "beta", fixed_token, concurrency=2, request_timeout_s=10
        ) as client,
        Batcher(client, batch_size=20, concurrency=2, pacer=AdaptivePacer()) as batcher,
    ):
        yield SkillLister(client, batcher, max_attempts=3, max_wait_s=5, sleep=no_sleep)


async def test_the_sweep_keeps_the_reported_copy_and_never_touches_user_entered_ones(
    running_sandbox: RunningSandbox,
) -> None:
    owned = {"source": {"type": "skills-import"}}
    first = await post_skill(running_sandbox, BOB_UPN, {"displayName": "Python", **owned})
    reported = await post_skill(running_sandbox, BOB_UPN, {"displayName": "python", **owned})
    by_hand = await post_skill(running_sandbox, BOB_UPN, {"displayName": "Python"})
    other = await post_skill(running_sandbox, BOB_UPN, {"displayName": "Go", **owned})
    await post_skill(
        running_sandbox, BOB_UPN, {"displayName": "Go", **owned}
    )  # not a name in question

    async with _lister(running_sandbox) as lister:
        skills = await lister.list_skills(BOB_UPN)
        extras = extra_copies(skills, {"python"}, {reported}, "skills-import")
        answers = [await lister.delete_copy(BOB_UPN, str(extra["id"])) for extra in extras]

    assert answers == [REMOVED]
    left = {skill["id"] for skill in await skills_of(running_sandbox, BOB_UPN)}
    assert reported in left
    assert by_hand in left
    assert other in left
    assert first not in left
    assert len(left) == 4


async def test_a_copy_already_gone_when_the_sweep_deletes_it_is_told_apart(
    running_sandbox: RunningSandbox,
) -> None:
    owned = {"source": {"type": "skills-import"}}
    kept = await post_skill(running_sandbox, BOB_UPN, {"displayName": "Python", **owned})
    extra = await post_skill(running_sandbox, BOB_UPN, {"displayName": "Python", **owned})

    async with _lister(running_sandbox) as lister:
        stale = await lister.list_skills(BOB_UPN)
        url = f"{running_sandbox.base_url}/beta/users/{quote(BOB_UPN, safe='')}/profile/skills"
        async with (
            aiohttp.ClientSession() as session,
            session.delete(f"{url}/{extra}", headers={"Authorization": f"Bearer {FIXED_TOKEN}"}),
        ):
            pass  # someone else removed it meanwhile: the stale listing still shows it

        extras = extra_copies(stale, {"python"}, {kept}, "skills-import")
        answers = [await lister.delete_copy(BOB_UPN, str(extra["id"])) for extra in extras]

    assert answers == [GONE]  # a 404 at the first attempt: removed by someone else
    assert [skill["id"] for skill in await skills_of(running_sandbox, BOB_UPN)] == [kept]
    assert running_sandbox.stats.deletes_of_unknown == 0  # never a wrong id


async def test_a_404_to_a_retried_delete_is_its_own_unanswered_attempt(
    running_sandbox: RunningSandbox,
) -> None:
    owned = {"source": {"type": "skills-import"}}
    extra = await post_skill(running_sandbox, BOB_UPN, {"displayName": "Python", **owned})
    running_sandbox.faults.commit_then_504_rate = 1  # carried out, then answered 504

    async with _lister(running_sandbox) as lister:
        answer = await lister.delete_copy(BOB_UPN, extra)

    assert answer == REMOVED_UNANSWERED
    assert await skills_of(running_sandbox, BOB_UPN) == []
    stats = running_sandbox.stats
    assert (stats.deletes_of_removed, stats.deletes_of_unknown) == (1, 0)
