"""Listing a user's skills for the dispatcher: paged, retried, and shared by reconciliations.

Also the retry loop used for reads, the per-request retry budget, and the duplicate sweep: the
last line of defence against a create that Graph carried out after the client gave up on it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from importer.errors import GraphError, TransientGraphError
from importer.graph.batcher import Batcher, NotSentError
from importer.graph.client import GraphClient, SubResponse, skills_path
from importer.graph.retry import backoff_delay
from importer.planner import is_owned, skill_key

__all__ = ["THROTTLE_FACTOR", "RetryBudget", "SkillLister", "find_skill"]

logger = logging.getLogger(__name__)

#: 429s allowed per request, as a multiple of ``max_attempts`` (see ``RetryBudget``).
THROTTLE_FACTOR = 10


class RetryBudget:
    """How many more tries one request gets.

    Failures (5xx, timeouts, resets) are limited by ``max_attempts``. Throttling is not a
    failure: the request was refused before it was processed and Graph said when to come back,
    so 429s get ``THROTTLE_FACTOR`` times as many tries; a nightly run under heavy throttling
    finishes late rather than leaving failed rows.
    """

    __slots__ = ("failures", "max_attempts", "throttles")

    def __init__(self, max_attempts: int) -> None:
        self.max_attempts = max_attempts
        self.failures = 0
        self.throttles = 0

    def spend(self, error: GraphError) -> bool:
        """Count one unsuccessful try; True while another one is allowed."""
        if error.status == 429:
            self.throttles += 1
            return self.throttles < self.max_attempts * THROTTLE_FACTOR
        self.failures += 1
        return self.failures < self.max_attempts

    def delay(self, error: GraphError, cap: float) -> float:
        """Seconds to wait before the next try: Retry-After, else jittered backoff."""
        return backoff_delay(max(1, self.failures), retry_after=error.retry_after, cap=cap)


def find_skill(skills: list[dict[str, Any]], display_name: str) -> dict[str, Any] | None:
    """The first (oldest) skill with this name, compared like the input keys."""
    key = skill_key(display_name)
    for skill in skills:
        if skill_key(str(skill.get("displayName", ""))) == key:
            return skill
    return None


class _Listing:
    """One user's skills as last listed, and when that listing started."""

    __slots__ = ("lock", "skills", "started")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.skills: list[dict[str, Any]] = []
        self.started = float("-inf")


class SkillLister:
    """Lists users' skills through the batcher, with retries.

    Args:
        client: the open client (for ``@odata.nextLink`` pages and the HTTP figures).
        batcher: the run's batcher (first pages travel in ``$batch`` with everything else).
        max_attempts, max_wait_s: the run's retry settings.
        sleep: injectable for tests.
        stopping: returns True once the run is stopping (no new page is fetched then).
    """

    def __init__(
        self,
        client: GraphClient,
        batcher: Batcher,
        *,
        max_attempts: int,
        max_wait_s: float,
        sleep: Callable[[float], Awaitable[None]],
        stopping: Callable[[], bool],
    ) -> None:
        self._client = client
        self._batcher = batcher
        self._max_attempts = max_attempts
        self._max_wait_s = max_wait_s
        self._sleep = sleep
        self._stopping = stopping
        self._listings: dict[str, _Listing] = {}

    def too_long(self, error: GraphError) -> bool:
        """True when Graph asks for a longer wait than ``max_retry_wait_s`` allows."""
        return error.retry_after is not None and error.retry_after > self._max_wait_s

    async def retried(self, send: Callable[[], Awaitable[SubResponse]]) -> SubResponse:
        """Send a read until it succeeds; raise the last error when the budget is spent."""
        budget = RetryBudget(self._max_attempts)
        while True:
            try:
                answer = await send()
            except NotSentError:
                raise
            except TransientGraphError as exc:
                error: GraphError = exc
            else:
                found = answer.error()
                if found is None:
                    return answer
                error = found
            if not isinstance(error, TransientGraphError):
                raise error
            if not budget.spend(error) or self.too_long(error):
                raise error
            self._client.stats.retries += 1
            await self._sleep(budget.delay(error, self._max_wait_s))

    async def list_skills(self, user: str) -> list[dict[str, Any]]:
        """Every skill of the user (all pages), oldest first."""
        listing = self._listings.setdefault(user, _Listing())
        started = time.monotonic()
        skills: list[dict[str, Any]] = []
        answer = await self.retried(
            functools.partial(self._batcher.submit, "GET", skills_path(user))
        )
        while True:
            body = answer.body if isinstance(answer.body, dict) else {}
            skills.extend(item for item in body.get("value", []) if isinstance(item, dict))
            next_link = body.get("@odata.nextLink")
            if not isinstance(next_link, str) or not next_link:
                break
            if self._stopping():
                raise NotSentError("not sent: the run was stopping", sent=False)
            answer = await self.retried(functools.partial(self._client.get_page, next_link))
        listing.skills, listing.started = skills, started
        return skills

    async def relist(self, user: str, failed_at: float) -> list[dict[str, Any]]:
        """The user's skills as listed AFTER ``failed_at`` (shared between reconciliations).

        A listing that started before the failure might predate the ambiguous write, so it is
        never reused for it.
        """
        listing = self._listings.setdefault(user, _Listing())
        async with listing.lock:
            if listing.started > failed_at:
                return listing.skills
            return await self.list_skills(user)

    async def sweep_duplicates(
        self, user: str, names: set[str], keep_ids: set[str], source_tag: str
    ) -> list[str]:
        """Delete extra copies this tool made of ``names``; return the deleted names.

        Only skills carrying ``source_tag`` are ever deleted, and of each name one copy stays:
        the one the report names (``keep_ids``), else the oldest.
        """
        skills = await self.list_skills(user)
        groups: dict[str, list[dict[str, Any]]] = {}
        for skill in skills:
            key = skill_key(str(skill.get("displayName", "")))
            if key in names:
                groups.setdefault(key, []).append(skill)
        deleted: list[str] = []
        for copies in groups.values():
            if len(copies) < 2:
                continue
            keep = next((c for c in copies if str(c.get("id")) in keep_ids), copies[0])
            for extra in copies:
                if extra is keep or not is_owned(extra, source_tag):
                    continue
                path = skills_path(user, str(extra.get("id", "")))
                answer = await self.retried(functools.partial(self._batcher.submit, "DELETE", path))
                if answer.status < 300:
                    deleted.append(str(extra.get("displayName", "")))
        return deleted
