"""Creates whose outcome is unknown: never posted twice, and the copies Graph made anyway removed.

A create is *ambiguous* when no answer came (timeout, reset) or Graph answered any 5xx: it may
have been carried out. Such a create is never re-posted blindly:

1. before the next attempt the user's skills are listed again (a listing that started after the
   failure; one is shared by all of that user's reconciliations) and, if the skill is there,
   the row is reported ``created`` with that skill's id;
2. otherwise the create is retried, even after a 500, which the retry policy alone would not do;
3. the row's outcome is held back until, after all writes, the final sweep
   (``importer.write.sweep``) has listed the user again and removed the extra copies Graph
   made of it. A user the sweep cannot check has those rows reported ``failed``
   ``unverified-duplicates`` (exit 1), never "accounted for".

The state per write is a ``WriteAttempts``; the state per run lives in one ``Reconciler``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from importer.errors import (
    GraphError,
    NoAnswerError,
    NotSentError,
    TransientGraphError,
    UnexpectedSendError,
)
from importer.graph.stopping import Sleep
from importer.records import Action, Operation, OpKind, RowOutcome, skill_key
from importer.write.listing import SkillLister, find_skill
from importer.write.sweep import DuplicateSweep, PendingUser, SweepResult, unchecked

__all__ = ["Reconciler", "SweepResult", "WriteAttempts", "is_ambiguous"]

logger = logging.getLogger(__name__)

#: Never tried again within the run: it is stopping, or something unforeseen happened.
_FINAL = (NotSentError, NoAnswerError, UnexpectedSendError)


class WriteAttempts:
    """What one write has been through so far."""

    __slots__ = ("ambiguous", "failed_at", "last_error", "sent", "unanswered", "unclear")

    def __init__(self) -> None:
        self.sent = 0  # requests that left (a NotSentError is not one)
        self.unclear = 0  # of those, the ones Graph may have carried out without saying so
        self.unanswered = 0  # of those, the ones with no answer at all or a 5xx but 503
        self.ambiguous = False  # Graph may have carried out a failed attempt
        self.failed_at = 0.0  # when the last failure was seen (the reconciler's clock)
        self.last_error: GraphError | None = None  # what Graph (or the wire) last said


def is_ambiguous(error: GraphError) -> bool:
    """True when the server may have acted although no success answer came."""
    if isinstance(error, NotSentError) or not error.sent:
        return False
    return error.status is None or error.status >= 500


class Reconciler:
    """The run's memory of ambiguous creates, and the checks that keep them single.

    Args:
        lister: lists users' skills and deletes extra copies.
        source_tag: only skills carrying it are ever deleted.
        settle_s: how long after a user's last ambiguous answer a late copy may still appear.
        patience_s: how long the sweep keeps trying to read a user's listing after that.
        sleep: the run's (stoppable) sleep.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        lister: SkillLister,
        *,
        source_tag: str,
        settle_s: float,
        patience_s: float,
        sleep: Sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lister = lister
        self._clock = clock
        # Per user: the ambiguous creates the sweep must check, and the ids the report names.
        self._pending: dict[str, PendingUser] = {}
        self._reported: dict[str, set[str]] = {}
        self._sweep = DuplicateSweep(
            lister,
            source_tag=source_tag,
            settle_s=settle_s,
            patience_s=patience_s,
            sleep=sleep,
            clock=clock,
        )

    # -- during the writes ----------------------------------------------------------------

    def note_reported(self, user: str, skill_id: str) -> None:
        """Remember that the report names this skill (the sweep keeps it)."""
        if skill_id:
            self._reported.setdefault(user, set()).add(skill_id)

    def note_failure(self, op: Operation, error: GraphError, attempts: WriteAttempts) -> None:
        """Record one failed attempt of ``op``."""
        attempts.failed_at = self._clock()
        attempts.last_error = error
        if is_ambiguous(error):
            attempts.unclear += 1
            attempts.ambiguous = True
            if error.status != 503:  # "not now": ambiguous to keep creates single, yet answered
                attempts.unanswered += 1
        if attempts.ambiguous and op.kind is OpKind.CREATE:
            pending = self._pending.setdefault(op.user, PendingUser())
            pending.names.add(skill_key(op.display_name))
            pending.last_failure = attempts.failed_at

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

    def holds(self, op: Operation, attempts: WriteAttempts) -> bool:
        """True when ``op``'s outcome must wait for the sweep (a create that may have landed
        more than once)."""
        return op.kind is OpKind.CREATE and attempts.ambiguous

    def hold(self, op: Operation, attempts: WriteAttempts, outcome: RowOutcome) -> None:
        """Keep the outcome of an ambiguous create until the sweep has checked its user."""
        pending = self._pending.setdefault(op.user, PendingUser())
        key = skill_key(op.display_name)
        pending.names.add(key)
        answered_201 = outcome.action is Action.CREATED and outcome.status is not None
        pending.copies[key] += attempts.unclear + (1 if answered_201 else 0)
        pending.held.append((op, outcome))

    # -- after the writes -----------------------------------------------------------------

    @property
    def pending(self) -> bool:
        """True when some user had an ambiguous create (the sweep has work)."""
        return bool(self._pending)

    def is_pending(self, user: str) -> bool:
        """True when the sweep will have to look at this user."""
        return user in self._pending

    def forget(self, user: str) -> None:
        """Drop what is known of a user the sweep will not look at (all writes done)."""
        self._reported.pop(user, None)

    async def sweep(self, name_of: Callable[[str], str]) -> SweepResult:
        """Check every pending user for extra copies (see ``importer.write.sweep``); the held
        outcomes come back in the result, as the check found them."""
        pending, self._pending = self._pending, {}
        return await self._sweep.run(pending, self._reported, name_of)

    def release_unchecked(self, reason: str, name_of: Callable[[str], str]) -> SweepResult:
        """The held outcomes of a run that ends without a sweep (it is stopping): every
        pending user unverified, for ``reason``."""
        pending, self._pending = self._pending, {}
        result = SweepResult()
        for user, held in pending.items():
            result.outcomes.extend(unchecked(held, reason))
            result.warnings.append(
                f"{name_of(user)}: not checked for duplicate skills ({reason}); the next run "
                "removes any extra copy"
            )
        result.figures.unverified = result.figures.people = len(pending)
        return result
