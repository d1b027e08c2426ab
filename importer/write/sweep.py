"""The final sweep: remove the extra copies that creates with an unknown outcome left in Graph,
and name the people it could not check.

A create answered with a timeout or a 5xx may still be carried out, late: after the client gave
up, after its retry, even after the run's last write. For every user with such a create
(``importer.write.reconcile``), once all writes are done, the sweep:

1. lists the user's skills and deletes each extra copy of those skills that carries the run's
   source tag, keeping the copy the report names (else the oldest). A copy it deleted is never
   deleted again, even if a lagging listing still shows it;
2. keeps looking until the user is *settled*: a listing that started ``settle_s`` or more after
   the user's last ambiguous answer (or one after which a copy has been seen for every attempt
   that may have made one: nothing more can land) shows every skill the report names, and the
   extra copies it showed are gone;
3. gives up ``patience_s`` after the settle point. Listings and deletes retry under the run's
   policy inside that time; when they still fail, or a listing never shows what was written,
   the user is *unverified*: the rows of their ambiguous creates become ``failed``
   ``unverified-duplicates`` (exit 1), and the next run, whose plan removes extra tagged copies
   in every mode, cleans up.

Skills people entered themselves carry no tag and are never touched.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from importer.errors import GraphError, NotSentError, PermanentGraphError
from importer.graph.stopping import Sleep
from importer.graph.wire import describe_unexpected
from importer.records import Action, Operation, RowOutcome, skill_key
from importer.write.listing import GONE, REMOVED_UNANSWERED, SkillLister
from importer.write.outcomes import UNVERIFIED_DUPLICATES, outcome_for
from importer.write.planner import is_owned

__all__ = [
    "SWEEP_POLL_S",
    "DuplicateSweep",
    "PendingUser",
    "SweepFigures",
    "SweepResult",
    "extra_copies",
    "unchecked",
]

logger = logging.getLogger(__name__)

#: Pause between two looks at a user who is not settled yet: one listing a second per user is
#: light for Graph, and a late copy is seen within a second of landing.
SWEEP_POLL_S = 1.0

#: Answers to a listing that no amount of looking again will change within the run.
_NEVER_HEALS = frozenset({401, 403, 404})


@dataclass(slots=True)
class PendingUser:
    """One user's creates whose outcome was unknown, as the sweep needs them.

    Attributes:
        names: skill keys of those creates.
        last_failure: when the last of them failed (monotonic seconds).
        copies: per name, requests that may each have left a copy.
        held: the rows' outcomes, reported once the sweep has checked the user.
    """

    names: set[str] = field(default_factory=set)
    last_failure: float = 0.0
    copies: Counter[str] = field(default_factory=Counter)
    held: list[tuple[Operation, RowOutcome]] = field(default_factory=list)


@dataclass(slots=True)
class SweepFigures:
    """What the sweep did, for summary.json.

    Attributes:
        people: users checked.
        removed: extra copies removed.
        unverified: users it could not check (their rows are ``unverified-duplicates``).
        delete_404_unanswered: deletes whose retry was answered 404 because the earlier
            attempt, unanswered, had removed the copy (counted in ``removed`` too).
        delete_404_gone: deletes answered 404 at the first attempt: the copy was removed by
            someone else after the listing showed it.
    """

    people: int = 0
    removed: int = 0
    unverified: int = 0
    delete_404_unanswered: int = 0
    delete_404_gone: int = 0

    def as_dict(self) -> dict[str, int]:
        """The figures as JSON-ready data."""
        return asdict(self)


@dataclass(slots=True)
class SweepResult:
    """What the sweep did, what the admin should read, and the outcomes it held back."""

    figures: SweepFigures = field(default_factory=SweepFigures)
    warnings: list[str] = field(default_factory=list)
    outcomes: list[RowOutcome] = field(default_factory=list)


def extra_copies(
    skills: list[dict[str, Any]], names: set[str], keep_ids: set[str], source_tag: str
) -> list[dict[str, Any]]:
    """The copies to delete: of each name in ``names`` listed more than once, every copy
    carrying ``source_tag`` but the one kept (one the report names, else the oldest)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for skill in skills:
        key = skill_key(str(skill.get("displayName", "")))
        if key in names:
            groups.setdefault(key, []).append(skill)
    extras: list[dict[str, Any]] = []
    for copies in groups.values():
        keep = next((c for c in copies if str(c.get("id")) in keep_ids), copies[0])
        extras.extend(c for c in copies if c is not keep and is_owned(c, source_tag))
    return extras


def unchecked(pending: PendingUser, problem: str) -> list[RowOutcome]:
    """The held outcomes of a user the sweep could not check, as the report must give them."""
    outcomes = []
    for op, outcome in pending.held:
        if outcome.action is Action.CREATED:
            what = f"created (skill id {outcome.skill_id}), but Graph may hold extra copies"
        elif outcome.action is Action.FAILED and outcome.error_type != "no-answer":
            what = f"{outcome.error}; Graph may have created it anyway, perhaps more than once"
        else:
            outcomes.append(outcome)  # not sent, or the run stopped first: already says so
            continue
        error = PermanentGraphError(
            f"{what}, and that could not be checked: {problem}; the next run removes any "
            f"extra copy",
            code=UNVERIFIED_DUPLICATES,
        )
        outcomes.append(
            outcome_for(
                op, Action.FAILED, error=error, skill_id=outcome.skill_id, attempts=outcome.attempts
            )
        )
    return outcomes


class _Look:
    """One user's sweep so far."""

    __slots__ = ("pending", "problem", "removed", "removed_ids", "reported", "seen")

    def __init__(self, pending: PendingUser, reported: set[str]) -> None:
        self.pending = pending
        self.reported = reported
        self.seen: dict[str, set[str]] = {}  # tagged copies listed so far, per name
        self.removed_ids: set[str] = set()
        self.removed = 0
        self.problem = "Graph did not answer the listing of their skills"


class DuplicateSweep:
    """Checks users for extra copies once all writes are done.

    Args:
        lister: lists users' skills and deletes extra copies (the run's batches and retries).
        source_tag: only skills carrying it are ever deleted.
        settle_s: how long after a user's last ambiguous answer a late copy may still appear.
        patience_s: how long after that the sweep keeps trying to get a listing it can trust.
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
        self._source_tag = source_tag
        self._settle_s = settle_s
        self._patience_s = patience_s
        self._sleep = sleep
        self._clock = clock

    async def run(
        self,
        pending: Mapping[str, PendingUser],
        reported: Mapping[str, set[str]],
        name_of: Callable[[str], str],
    ) -> SweepResult:
        """Check every user of ``pending`` (concurrently: their requests share the run's
        batches, so the wait for late commits is paid once, not once per user)."""
        result = SweepResult()
        users = list(pending.items())
        logger.info(
            "checking %d people for extra copies left by creates whose outcome was unknown "
            "(up to %g s after the last of them)",
            len(users),
            self._settle_s + self._patience_s,
        )
        looks = await asyncio.gather(
            *(self._check(user, p, reported.get(user, set()), result.figures) for user, p in users)
        )
        for (user, user_pending), look in zip(users, looks, strict=True):
            who = name_of(user)
            result.figures.people += 1
            result.figures.removed += look.removed
            if look.removed:
                message = f"{who}: removed {look.removed} duplicate(s) left by a timed-out create"
                logger.warning(message)
                result.warnings.append(message)
            if look.problem:
                result.figures.unverified += 1
                message = (
                    f"{who}: could not check for duplicate skills ({look.problem}); the rows of "
                    f"creates whose outcome was unknown are failed unverified-duplicates, and "
                    f"the next run removes any extra copy"
                )
                logger.warning(message)
                result.warnings.append(message)
                result.outcomes.extend(unchecked(user_pending, look.problem))
            else:
                result.outcomes.extend(outcome for _op, outcome in user_pending.held)
        return result

    async def _check(
        self, user: str, pending: PendingUser, reported: set[str], figures: SweepFigures
    ) -> _Look:
        look = _Look(pending, reported)
        settled_at = pending.last_failure + self._settle_s
        deadline = max(self._clock(), settled_at) + self._patience_s
        while True:
            started = self._clock()
            try:
                # One look's own retries may not outlast the bound either.
                async with asyncio.timeout(deadline - started):
                    done = await self._look_once(user, look, figures, settled=started >= settled_at)
                if done:
                    look.problem = ""
                    return look
            except TimeoutError:
                look.problem += f" (gave up after {self._patience_s:g} s)"
                return look
            except NotSentError:
                look.problem = "the run stopped before it could look"
                return look
            except GraphError as error:
                look.problem = f"Graph did not answer the check: {error}"
                if error.status in _NEVER_HEALS:
                    return look
            except Exception as exc:  # never let one user's check end the run
                look.problem = f"unexpected {describe_unexpected(exc)}"
                return look
            now = self._clock()
            if now >= deadline:
                look.problem += f" (gave up after {self._patience_s:g} s)"
                return look
            try:
                await self._sleep(min(SWEEP_POLL_S, deadline - now))
            except NotSentError:
                look.problem = "the run stopped before it could look again"
                return look

    async def _look_once(
        self, user: str, look: _Look, figures: SweepFigures, *, settled: bool
    ) -> bool:
        """List the user once and remove the extra copies shown; True when the user is done."""
        pending = look.pending
        skills = await self._lister.list_skills(user)
        # A copy this sweep deleted is gone, even if a lagging listing still shows it.
        listed = [s for s in skills if str(s.get("id", "")) not in look.removed_ids]
        for skill in listed:
            key = skill_key(str(skill.get("displayName", "")))
            if key in pending.names and is_owned(skill, self._source_tag):
                look.seen.setdefault(key, set()).add(str(skill.get("id", "")))
        for extra in extra_copies(listed, pending.names, look.reported, self._source_tag):
            skill_id = str(extra.get("id", ""))
            how = await self._lister.delete_copy(user, skill_id)
            look.removed_ids.add(skill_id)
            if how == GONE:
                figures.delete_404_gone += 1
                continue
            look.removed += 1
            if how == REMOVED_UNANSWERED:
                figures.delete_404_unanswered += 1
        if not look.reported <= {str(s.get("id", "")) for s in listed}:
            look.problem = "Graph's listing did not show every skill just written"
            return False
        look.problem = "late copies may still have been landing"
        all_seen = all(len(look.seen.get(k, ())) >= pending.copies[k] for k in pending.names)
        return settled or all_seen
