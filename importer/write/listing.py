"""Listing a user's skills for the dispatcher (shared by reconciliations), and removing copies.

``remove_extra_copies`` is what the final sweep (``importer.write.reconcile``) deletes with: the
last line of defence against a create that Graph carried out after the client gave up on it.
Retries follow the one policy of ``importer.graph.retry``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from importer.graph.batcher import Batcher
from importer.graph.client import GraphClient, SubResponse, skills_path
from importer.graph.retry import with_retries
from importer.records import skill_key
from importer.write.planner import is_owned

__all__ = ["SkillLister", "find_skill"]

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

    async def remove_extra_copies(
        self,
        user: str,
        skills: list[dict[str, Any]],
        names: set[str],
        keep_ids: set[str],
        source_tag: str,
    ) -> int:
        """Delete extra copies this tool made of ``names`` among ``skills``; return how many.

        Only skills carrying ``source_tag`` are ever deleted, and of each name one copy stays:
        one the report names (``keep_ids``), else the oldest.
        """
        groups: dict[str, list[dict[str, Any]]] = {}
        for skill in skills:
            key = skill_key(str(skill.get("displayName", "")))
            if key in names:
                groups.setdefault(key, []).append(skill)
        deleted = 0
        for copies in groups.values():
            if len(copies) < 2:
                continue
            keep = next((c for c in copies if str(c.get("id")) in keep_ids), copies[0])
            for extra in copies:
                if extra is keep or not is_owned(extra, source_tag):
                    continue
                await self._delete(skills_path(user, str(extra.get("id", ""))))
                deleted += 1
        return deleted

    async def _delete(self, path: str) -> SubResponse:
        async def once() -> SubResponse:
            answer = await self._batcher.submit("DELETE", path)
            if answer.status == 404:
                return answer  # already gone (a retried delete, or a stale listing): done
            if (error := answer.error()) is not None:
                raise error
            return answer

        return await with_retries(
            once, self._max_attempts, self._max_wait_s, sleep=self._sleep, stats=self._client.stats
        )
