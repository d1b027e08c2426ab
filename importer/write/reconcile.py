"""Creates whose outcome is unknown: never posted twice, and the copies Graph made anyway removed.

A create is *ambiguous* when no answer came (timeout, reset) or Graph answered any 5xx: it may
have been carried out. Such a create is never re-posted blindly:

1. before the next attempt the user's skills are listed again (a listing that started after the
   failure; one is shared by all of that user's reconciliations) and, if the skill is there,
   the row is reported ``created`` with that skill's id;
2. otherwise the create is retried, even after a 500, which the retry policy alone would not do;
3. after all writes, ``sweep`` lists each such user again and deletes extra copies of those
   skills that carry the run's source tag, keeping the copy the report names. Graph may commit a
   create late, and its listings may lag behind its writes, so the sweep waits (bounded by
   ``settle_s``) until the listing shows every skill the report says was written and until
   ``settle_s`` has passed since the user's last ambiguous answer, then checks once more.
   Skills people entered themselves carry no tag and are never touched.

The state per write is a ``WriteAttempts``; the state per run lives in one ``Reconciler``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from importer.errors import (
    GraphError,
    NoAnswerError,
    NotSentError,
    TransientGraphError,
    UnexpectedSendError,
)
from importer.graph.stopping import Sleep
from importer.graph.wire import describe_unexpected
from importer.records import Operation, OpKind, skill_key
from importer.write.listing import SkillLister, find_skill

__all__ = ["Reconciler", "SweepResult", "WriteAttempts", "is_ambiguous"]

logger = logging.getLogger(__name__)

#: Polling step while the sweep waits for a listing to catch up.
_POLL_S = 0.5

#: Never tried again within the run: it is stopping, or something unforeseen happened.
_FINAL = (NotSentError, NoAnswerError, UnexpectedSendError)


class WriteAttempts:
    """What one write has been through so far."""

    __slots__ = ("ambiguous", "failed_at", "last_error", "sent")

    def __init__(self) -> None:
        self.sent = 0  # requests that left (a NotSentError is not one)
        self.ambiguous = False  # Graph may have carried out a failed attempt
        self.failed_at = 0.0  # when the last failure was seen (the reconciler's clock)
        self.last_error: GraphError | None = None  # what Graph (or the wire) last said


def is_ambiguous(error: GraphError) -> bool:
    """True when the server may have acted although no success answer came."""
    if isinstance(error, NotSentError) or not error.sent:
        return False
    return error.status is None or error.status >= 500


@dataclass(slots=True)
class SweepResult:
    """What the final sweep did: copies removed, and what the admin should read."""

    removed: int = 0
    warnings: list[str] = field(default_factory=list)


class Reconciler:
    """The run's memory of ambiguous creates, and the checks that keep them single.

    Args:
        lister: lists users' skills and deletes extra copies.
        source_tag: only skills carrying it are ever deleted.
        settle_s: how long the sweep waits at most for late commits and lagging listings.
        sleep: the run's (stoppable) sleep.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        lister: SkillLister,
        *,
        source_tag: str,
        settle_s: float,
        sleep: Sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lister = lister
        self._source_tag = source_tag
        self._settle_s = settle_s
        self._sleep = sleep
        self._clock = clock
        # Per user: names of ambiguous creates, and when the last one failed.
        self._ambiguous: dict[str, set[str]] = {}
        self._last_failure: dict[str, float] = {}
        # Per user: ids of skills the report names (created, landed, updated, unchanged).
        self._reported: dict[str, set[str]] = {}

    # -- during the writes ----------------------------------------------------------------

    def note_reported(self, user: str, skill_id: str) -> None:
        """Remember that the report names this skill (the sweep keeps it)."""
        if skill_id:
            self._reported.setdefault(user, set()).add(skill_id)

    def note_failure(self, op: Operation, error: GraphError, attempts: WriteAttempts) -> None:
        """Record one failed attempt of ``op``."""
        attempts.failed_at = self._clock()
        attempts.last_error = error
        attempts.ambiguous = attempts.ambiguous or is_ambiguous(error)
        if attempts.ambiguous and op.kind is OpKind.CREATE:
            self._ambiguous.setdefault(op.user, set()).add(skill_key(op.display_name))
            self._last_failure[op.user] = attempts.failed_at

    @staticmethod
    def worth_retrying(op: Operation, attempts: WriteAttempts, error: BaseException) -> bool:
        """The retry rule of one write: transient errors, and ambiguous creates after a 5xx.

        A create that may have landed is retried even after a 500: ``landed`` lists the user
        first, so it is never posted twice.
        """
        if not isinstance(error, GraphError) or isinstance(error, _FINAL):
            return False
        if isinstance(error, TransientGraphError):
            return True
        return (
            attempts.ambiguous
            and op.kind is OpKind.CREATE
            and (error.status is None or error.status >= 500)
        )

    async def landed(self, op: Operation, attempts: WriteAttempts) -> str | None:
        """After an ambiguous create: the id of the skill if it is there after all, else None."""
        existing = await self._lister.relist(op.user, attempts.failed_at)
        match = find_skill(existing, op.display_name)
        if match is None:
            return None
        skill_id = str(match.get("id", ""))
        self.note_reported(op.user, skill_id)
        logger.info("create of %r for %s had landed; not re-posted", op.display_name, op.user)
        return skill_id

    # -- after the writes -----------------------------------------------------------------

    @property
    def pending(self) -> bool:
        """True when some user had an ambiguous create (the sweep has work)."""
        return bool(self._ambiguous)

    def is_pending(self, user: str) -> bool:
        """True when the sweep will have to look at this user."""
        return user in self._ambiguous

    def forget(self, user: str) -> None:
        """Drop what is known of a user the sweep will not look at (all writes done)."""
        self._reported.pop(user, None)

    async def sweep(self) -> SweepResult:
        """Remove extra copies left by ambiguous creates, once listings have caught up.

        Users are swept concurrently (their requests share the run's batches), so the wait
        for late commits is paid once, not once per user.
        """
        result = SweepResult()
        users = list(self._ambiguous.items())
        outcomes = await asyncio.gather(
            *(self._sweep_user(user, names) for user, names in users), return_exceptions=True
        )
        for (user, _names), outcome in zip(users, outcomes, strict=True):
            if isinstance(outcome, NotSentError):
                continue  # the run is stopping: the next run's plan removes any duplicate
            if isinstance(outcome, GraphError):
                result.warnings.append(f"{user}: could not check for duplicates ({outcome})")
                continue
            if isinstance(outcome, Exception):
                where = describe_unexpected(outcome)
                result.warnings.append(f"{user}: could not check for duplicates ({where})")
                continue
            if isinstance(outcome, BaseException):
                raise outcome
            removed, caught_up = outcome
            if removed:
                message = f"{user}: removed {removed} duplicate(s) left by a timed-out create"
                logger.warning(message)
                result.warnings.append(message)
                result.removed += removed
            if not caught_up:
                result.warnings.append(
                    f"{user}: Graph's listing did not show every skill just written within "
                    f"{self._settle_s:g} s; if a duplicate appears, the next run removes it"
                )
        return result

    async def _sweep_user(self, user: str, names: set[str]) -> tuple[int, bool]:
        deadline = self._clock() + self._settle_s
        settled_at = self._last_failure.get(user, 0.0) + self._settle_s
        expected = self._reported.get(user, set())
        removed = 0
        while True:
            skills = await self._lister.list_skills(user)
            removed += await self._lister.remove_extra_copies(
                user, skills, names, expected, self._source_tag
            )
            listed = {str(skill.get("id", "")) for skill in skills}
            caught_up = expected <= listed
            now = self._clock()
            if caught_up and now >= settled_at:
                return removed, True
            if now >= deadline:
                return removed, caught_up
            await self._sleep(min(_POLL_S, deadline - now))
