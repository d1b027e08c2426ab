"""A run's use of the confirmed state: who is skipped, who is listed, and what is confirmed.

The write stage asks ``split`` for each chunk of people before listing anyone:

- a person whose wanted skills have the digest Graph last confirmed, and who is not due for
  re-verification, is *skipped*: their rows are reported ``unchanged`` and nothing is sent;
- a person with the same digest who is due (``verify_days``: see ``is_due``) is *verified*:
  listed and planned as always, so drift made by hand is found and put right;
- everyone else (new, changed, or every person on a full run) is *planned* as always;
- in sync mode, people the state holds who are gone from the file (*leavers*) are listed and
  their owned skills deleted, without listing everyone.

It then hears every outcome (``settled``). A person's entry is confirmed only when each of
their operations was confirmed by Graph (created, updated, deleted, unchanged) and no create of
theirs had an unknown outcome; before their writes go out, their old entry is voided
(``before_writes``), so a failure, a stop or a kill leaves no entry newer than Graph's truth.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from importer.records import Action, SkillRow
from importer.state.digest import wanted_digest
from importer.state.store import ConfirmedState, Entry

__all__ = ["CONFIRMED", "SKIPPED_NOTE", "VERDICTS", "DeltaLedger", "Skipped", "is_due"]

logger = logging.getLogger(__name__)

DAY_S = 86_400.0
#: A person verified this much less than ``verify_days`` ago is due anyway (schedules drift).
_SLACK_S = 6 * 3_600.0
#: Confirmed people written to the file per transaction.
COMMIT_EVERY = 500

#: What the state decides for a person, as summary.json counts them.
VERDICTS = ("skipped", "verified", "planned", "leavers")

#: Outcomes that mean Graph confirmed the operation.
CONFIRMED = frozenset({Action.CREATED, Action.UPDATED, Action.DELETED, Action.UNCHANGED})

#: The ``changes`` value of a row skipped by the state (with the date Graph confirmed it).
SKIPPED_NOTE = "not listed: same as confirmed on {date} (state)"


def _slot(person: str, verify_days: int) -> int:
    digest = hashlib.blake2b(person.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % verify_days


def is_due(person: str, verified: float, now: float, verify_days: int) -> bool:
    """True when a person unchanged since ``verified`` must be listed again tonight.

    Each person has a night of the rotation (a hash of the person, modulo ``verify_days``):
    on that night, or whenever the last verification is ``verify_days`` old (nights missed),
    they are listed, unless they were already verified earlier the same UTC day. So a
    nightly run lists about one ``verify_days``-th of the unchanged people, and every person
    at least once every ``verify_days`` nights.
    """
    if now - verified >= verify_days * DAY_S - _SLACK_S:
        return True
    today = int(now // DAY_S)
    return int(verified // DAY_S) < today and _slot(person, verify_days) == today % verify_days


@dataclass(frozen=True, slots=True)
class Skipped:
    """A person the state lets the run skip: their rows, and the entry that allowed it."""

    person: str
    rows: Sequence[SkillRow]
    entry: Entry

    def note(self) -> str:
        """What results.csv says for each of the person's rows."""
        return _skipped_note(int(self.entry.verified // DAY_S))


@functools.lru_cache(maxsize=64)
def _skipped_note(day: int) -> str:
    # One note per UTC day of confirmation: a quiet night has a handful for 100,000 people.
    date = datetime.fromtimestamp(day * DAY_S, UTC).date().isoformat()
    return SKIPPED_NOTE.format(date=date)


@dataclass(slots=True)
class _Pending:
    request_user: str
    written_as: str
    digest: str
    leaver: bool
    left: int | None = None
    owned: int = 0
    bad: bool = False


class DeltaLedger:
    """The state as one run uses it.

    Args:
        state: the open state (read-only on a dry run: nothing is then written).
        fingerprint: the config fingerprint every digest folds in.
        now: the run's clock (tests move it a night at a time).
        verify_days: every unchanged person is listed at least once in this many nights.
        full: list everyone (``--full``, ``run.delta: off``, a changed config, a state that
            could not be trusted); entries are still confirmed.
        leavers: people the state holds who are gone from the file (sync mode), person ->
            entry.
    """

    def __init__(
        self,
        state: ConfirmedState,
        *,
        fingerprint: str,
        now: datetime,
        verify_days: int,
        full: bool,
        leavers: Mapping[str, Entry] | None = None,
    ) -> None:
        self._state = state
        self._fingerprint = fingerprint
        self._now = now.timestamp()
        self._verify_days = verify_days
        self.full = full
        self._leavers = dict(leavers or {})
        self._pending: dict[str, _Pending] = {}
        #: People per verdict: skipped, verified, planned, leavers.
        self.figures: Counter[str] = Counter(dict.fromkeys(VERDICTS, 0))
        #: True for a request user with a create whose outcome is unknown (set by the writer).
        self.uncertain: Callable[[str], bool] = lambda _user: False

    @property
    def leavers(self) -> list[str]:
        """The leavers to list (sync mode), in a stable order."""
        return sorted(self._leavers)

    def written_as(self, person: str) -> str:
        """A leaver as the file last wrote them (for the report), else the person."""
        entry = self._leavers.get(person)
        return entry.written_as if entry is not None else person

    def split(
        self, chunk: Mapping[str, Sequence[SkillRow]], *, count: bool = True
    ) -> tuple[dict[str, Sequence[SkillRow]], list[Skipped]]:
        """Which people of ``chunk`` to list, and which the state lets the run skip.

        ``count``: False for a look that only counts (the sync delete guard reads the chunks
        twice); the real pass counts the people and follows their outcomes.
        """
        entries = self._state.entries(chunk.keys())
        listed: dict[str, Sequence[SkillRow]] = {}
        skipped: list[Skipped] = []
        for person, rows in chunk.items():
            if not rows:
                leaver = self._leavers.get(person)
                if leaver is None:
                    continue
                listed[person] = rows
                if count:
                    self.figures["leavers"] += 1
                    self._pending[person] = _Pending(person, leaver.written_as, "", True)
                continue
            digest = wanted_digest(rows, self._fingerprint)
            entry = entries.get(person)
            same = entry is not None and entry.digest == digest
            if entry is not None and same and not self.full and not self._due(person, entry):
                skipped.append(Skipped(person, rows, entry))
                if count:
                    self.figures["skipped"] += 1
                continue
            listed[person] = rows
            if count:
                self.figures["verified" if same else "planned"] += 1
                request_user = rows[0].user_id or rows[0].user
                self._pending[person] = _Pending(request_user, rows[0].user, digest, False)
        return listed, skipped

    def _due(self, person: str, entry: Entry) -> bool:
        return is_due(person, entry.verified, self._now, self._verify_days)

    def planned(self, person: str, operations: int, owned: int) -> None:
        """The person's plan holds ``operations``; ``owned`` of their skills carry the tag
        once it is carried out."""
        pending = self._pending.get(person)
        if pending is None:
            return
        pending.left, pending.owned = operations, owned
        if operations <= 0:
            self._finish(person, pending)

    def before_writes(self, people: Iterable[str]) -> None:
        """Void the entries of people whose writes are about to go out (committed now)."""
        self._state.invalidate(person for person in people if person in self._pending)

    def settled(self, person: str, action: Action) -> None:
        """One of the person's rows (or deletes) got its outcome."""
        pending = self._pending.get(person)
        if pending is None:
            return
        if action not in CONFIRMED:
            pending.bad = True
        if pending.left is None:
            return
        pending.left -= 1
        if pending.left <= 0:
            self._finish(person, pending)

    def gone(self, person: str) -> None:
        """A leaver the directory no longer knows: nothing of theirs is left to delete."""
        if self._pending.pop(person, None) is not None:
            self._state.forget(person)

    def release(self, person: str) -> None:
        """Forget a person whose plan never came (a listing that failed): the entry stays."""
        self._pending.pop(person, None)

    def _finish(self, person: str, pending: _Pending) -> None:
        del self._pending[person]
        if pending.bad or self.uncertain(pending.request_user):
            return
        if pending.leaver:
            self._state.forget(person)
        else:
            entry = Entry(pending.digest, self._now, pending.written_as, pending.owned)
            self._state.confirm(person, entry)
        if self._state.buffered >= COMMIT_EVERY:
            self._state.commit()

    def commit(self) -> None:
        """Write what was confirmed so far (the end of a chunk, the end of the run)."""
        self._state.commit()

    @property
    def failure(self) -> str:
        """Why the state file could not be written during the run ("" when it could)."""
        return self._state.failure

    def close(self) -> None:
        """Commit and close the state file."""
        self._pending.clear()
        self._state.close()
