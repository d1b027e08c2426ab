"""The write stage's side of the confirmed state (``run.delta``): the dispatcher's hooks.

The dispatcher calls these at five points, and nothing else about the state leaks into it:

- ``select``, before a chunk is listed: people the state lets the run skip have their rows
  reported ``unchanged`` (the ``changes`` column says so) and are not listed at all;
- ``planned``, once a person's plan is made: how many operations to wait for;
- ``before_writes``, before a chunk's writes go out: the entries of people about to be
  written are voided, committed, so a kill mid-write never leaves one claiming the old state;
- ``settled``, for every outcome: a person is confirmed once each of their operations is;
- ``listing_failed`` / ``release``: a leaver gone from the directory is forgotten; a person
  whose listing failed keeps their old entry.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence

from importer.errors import GraphError
from importer.progress import LISTING, RunProgress
from importer.records import Action, OpKind, RowOutcome, SkillRow
from importer.state import DeltaLedger
from importer.write.outcomes import error_type_for
from importer.write.planner import Planned, UserPlan

__all__ = ["SELECT_PEOPLE", "StateHooks"]

#: People chosen (and their skipped rows reported) between two turns of the event loop: a few
#: milliseconds of CPU.
SELECT_PEOPLE = 100


class StateHooks:
    """The dispatcher's use of a run's ``DeltaLedger``.

    Args:
        ledger: the run's ledger.
        record_rows: reports one skipped person's rows, each with the same action and
            ``changes`` (the dispatcher's ``_record_rows``).
        progress: the run's live counters (people skipped, verified, planned).
    """

    def __init__(
        self,
        ledger: DeltaLedger,
        record_rows: Callable[[Sequence[SkillRow], Action, str], None],
        progress: RunProgress,
    ) -> None:
        self.ledger = ledger
        self._record_rows = record_rows
        self._progress = progress

    def select(
        self, users: Mapping[str, Sequence[SkillRow]], *, record: bool
    ) -> tuple[dict[str, Sequence[SkillRow]], int]:
        """The people of a chunk to list, and the owned skills of those skipped (for the
        sync delete guard, which weighs deletes against every owned skill)."""
        before = dict(self.ledger.figures)
        listed, skipped = self.ledger.split(users, count=record)
        owned = sum(person.entry.owned for person in skipped)
        if record:
            for person in skipped:
                self._record_rows(person.rows, Action.UNCHANGED, person.note())
            for name, count in self.ledger.figures.items():
                self._progress.people[name] += count - before.get(name, 0)
            self._progress.drop(LISTING, len(skipped))
        return listed, owned

    async def listed_chunks(
        self,
        chunks: Iterable[Mapping[str, Sequence[SkillRow]]],
        *,
        record: bool,
        rows_per_chunk: int,
        owned: Callable[[int], None],
        early: Callable[[Mapping[str, Sequence[SkillRow]]], None] | None = None,
    ) -> AsyncIterator[dict[str, Sequence[SkillRow]]]:
        """The people to list, gathered over ``chunks`` up to ``rows_per_chunk`` rows (so a
        quiet night lists in chunks as full as a full night's); those skipped are reported
        as the chunks go by, and their owned skills told to ``owned``.

        Choosing and reporting the skipped people is most of a quiet night's CPU, so it goes
        ``SELECT_PEOPLE`` people at a time, handing the event loop a turn after each: listings
        under way keep their HTTP slots busy meanwhile. ``early`` is told of the people to
        list as they are chosen, so that their listings start before their chunk is complete:
        the last chunk's people are then listed while they are chosen, not after (choosing
        runs only as the dispatcher asks for a chunk, so at most the chunk being chosen is
        listed ahead of its plan).
        """
        gathered: dict[str, Sequence[SkillRow]] = {}
        size = 0
        for chunk in chunks:
            people = iter(chunk.items())
            while part := dict(itertools.islice(people, SELECT_PEOPLE)):
                listed, skipped_owned = self.select(part, record=record)
                owned(skipped_owned)
                if early is not None and listed:
                    early(listed)
                gathered.update(listed)
                size += sum(max(len(rows), 1) for rows in listed.values())
                if size >= rows_per_chunk:
                    yield gathered
                    gathered, size = {}, 0
                await asyncio.sleep(0)
        if gathered:
            yield gathered

    def planned(self, user: str, plan: UserPlan) -> None:
        """The person's plan is made: wait for each of its operations."""
        kinds = [op.kind for op in plan.operations]
        owned = plan.owned + kinds.count(OpKind.CREATE) - kinds.count(OpKind.DELETE)
        self.ledger.planned(user.casefold(), len(kinds), max(owned, 0))

    def before_writes(self, plans: Iterable[Planned]) -> None:
        """Void the entries of the people whose writes are about to go out."""
        self.ledger.before_writes(
            user.casefold()
            for user, _rows, plan in plans
            if plan is not None and any(op.kind is not OpKind.UNCHANGED for op in plan.operations)
        )

    def settled(self, outcome: RowOutcome) -> None:
        """One outcome (before the report renames the user as written)."""
        self.ledger.settled((outcome.user_id or outcome.user).casefold(), outcome.action)

    def listing_failed(self, user: str, rows: Sequence[SkillRow], error: GraphError) -> str:
        """A listing failed for good; for a leaver (no rows), a warning for the summary."""
        if rows:
            return ""
        person = user.casefold()
        written_as = self.ledger.written_as(person)
        if error_type_for(error) == "user-not-found":
            self.ledger.gone(person)
            return ""
        return (
            f"{written_as} left the file, but their skills could not be listed ({error}); "
            "the next run tries again"
        )

    def release(self, plans: Iterable[Planned]) -> None:
        """A chunk is done: stop following its people; write what was confirmed."""
        for user, _rows, _plan in plans:
            self.ledger.release(user.casefold())
        self.ledger.commit()
