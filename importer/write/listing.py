"""Listing a user's skills for the dispatcher (shared by reconciliations), and removing copies.

``delete_copy`` is what the final sweep (``importer.write.sweep``) deletes with: the last line
of defence against a create that Graph carried out after the client gave up on it. Listings and
deletes travel in the run's ``$batch``es (its throttling gate, pacer and timeout) and retry under
the one policy of ``importer.graph.retry``, like every other request.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from importer.errors import GraphError
from importer.graph.batcher import Batcher
from importer.graph.client import GraphClient, skills_path
from importer.graph.retry import with_retries
from importer.records import skill_key

__all__ = ["GONE", "REMOVED", "REMOVED_UNANSWERED", "SkillLister", "find_skill"]

#: How a delete of an extra copy went (``SkillLister.delete_copy``).
REMOVED = "removed"
REMOVED_UNANSWERED = "removed-unanswered"
GONE = "gone"

logger = logging.getLogger(__name__)


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
    """Lists users' skills (first pages through the batcher), remembering the last listing.

    Args:
        client: the open client (paging, retries and the HTTP figures).
        batcher: the run's batcher (first pages travel in ``$batch`` with everything else).
        max_attempts, max_wait_s: the run's retry settings, for the sweep's deletes.
        sleep: injectable for tests.
    """

    def __init__(
        self,
        client: GraphClient,
        batcher: Batcher,
        *,
        max_attempts: int,
        max_wait_s: float,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self._client = client
        self._batcher = batcher
        self._max_attempts = max_attempts
        self._max_wait_s = max_wait_s
        self._sleep = sleep
        self._listings: dict[str, _Listing] = {}

    async def list_skills(self, user: str) -> list[dict[str, Any]]:
        """Every skill of the user (all pages), oldest first."""
        listing = self._listings.setdefault(user, _Listing())
        started = time.monotonic()
        first_page = functools.partial(self._batcher.submit, "GET", skills_path(user))
        skills = await self._client.list_skills(user, first_page=first_page)
        listing.skills, listing.started = skills, started
        return skills

    def listed(self, user: str) -> list[dict[str, Any]]:
        """The user's skills as last listed (empty if never listed or forgotten)."""
        listing = self._listings.get(user)
        return listing.skills if listing is not None else []

    def forget(self, user: str) -> None:
        """Drop the user's last listing (their writes are over)."""
        self._listings.pop(user, None)

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

    async def delete_copy(self, user: str, skill_id: str) -> str:
        """Delete one extra copy, under the run's retry policy; say how it went.

        Returns:
            ``REMOVED`` (Graph confirmed it), ``REMOVED_UNANSWERED`` (a 404 to a retry: an
            earlier attempt that got no clear answer had removed it) or ``GONE`` (a 404 to the
            first attempt: someone else removed it after the listing).

        Raises:
            GraphError: the delete failed for good.
        """
        path = skills_path(user, skill_id)
        unanswered = False  # an attempt left and Graph may have acted without saying so

        async def once() -> str:
            nonlocal unanswered
            try:
                answer = await self._batcher.submit("DELETE", path)
            except GraphError as failed:
                unanswered = unanswered or _may_have_acted(failed)
                raise
            if answer.status == 404:
                return REMOVED_UNANSWERED if unanswered else GONE
            if (refused := answer.error()) is not None:
                unanswered = unanswered or _may_have_acted(refused)
                raise refused
            return REMOVED

        return await with_retries(
            once, self._max_attempts, self._max_wait_s, sleep=self._sleep, stats=self._client.stats
        )


def _may_have_acted(error: GraphError) -> bool:
    # Sent, and no answer or a 5xx: Graph may have carried it out (as for ambiguous creates).
    return error.sent and (error.status is None or error.status >= 500)
