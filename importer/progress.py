"""The live progress of a run: its phases, how far each is, and whether Graph holds it back.

Stages write it, the CLI reads it (a live display on a terminal, a log line every few seconds
otherwise). It is a plain object of counters, so a stage pays one attribute update per step
and never knows how progress is shown. Every stage may import it (it depends on nothing).

Phases, in run order, each with its own count::

    reading          rows read and validated (total unknown until the end)
    resolving users  users looked up in the directory, n/N
    listing          users whose skills were listed, n/N
    writing          rows finished (written, unchanged, failed...), n/N

Phases may overlap (a large run lists the next chunk of users while it writes the current
one), so each keeps its own count. A stage calls ``start(phase, total, unit)`` and then
``advance(phase=...)`` as steps finish; ``count(action)`` records one row's outcome and
advances ``writing``. The throttling hooks (``throttled``, ``accepted_rate``) are set by
whoever owns the Graph client.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "LISTING",
    "RATE_WINDOW_S",
    "READING",
    "RESOLVING",
    "WRITING",
    "Phase",
    "RunProgress",
    "per_second",
]

READING = "reading"
RESOLVING = "resolving users"
LISTING = "listing"
WRITING = "writing"

#: The rate is the steps finished over about this many seconds: recent enough to follow a
#: slowdown (retries, throttling), long enough not to jump with every batch.
RATE_WINDOW_S = 30.0
#: Seconds between two samples of a phase's count.
_SAMPLE_EVERY_S = 1.0


#: How the log line names the confirmed state's verdicts.
_PEOPLE = {
    "skipped": "skipped by the state",
    "verified": "verified",
    "planned": "planned",
    "leavers": "left the file",
}


def _never() -> bool:
    return False


def _no_rate() -> float | None:
    return None


@dataclass(slots=True)
class Phase:
    """One phase's count.

    Attributes:
        name: reading, resolving users, listing or writing.
        unit: what a step is ("rows", "users").
        total: how many steps, or None while unknown.
        done: steps finished.
        first_step: clock time of the first finished step (the rate is measured from there),
            or None before it.
        note: what the phase is doing right now, in words ("listing the directory: page 3,
            2,997 users read"); "" when there is nothing to add to the count.
    """

    name: str
    unit: str
    total: int | None
    done: int = 0
    first_step: float | None = None
    note: str = ""
    #: (clock, done) samples over the last ``RATE_WINDOW_S``, oldest first.
    samples: deque[tuple[float, int]] = field(default_factory=deque, repr=False)

    @property
    def finished(self) -> bool:
        """True once every step is done (never for an unknown total)."""
        return self.total is not None and self.done >= self.total


@dataclass(slots=True)
class RunProgress:
    """The phases of a run so far, and every row's outcome.

    Attributes:
        phases: by name, in the order they started.
        actions: rows per action so far, over the whole run.
        throttled: True while Graph has asked to wait (nothing is being sent).
        accepted_rate: sub-requests per second Graph currently accepts (None when not pacing).
        clock: monotonic seconds (injectable in tests).
        interrupted: Ctrl-C or SIGTERM stopped the run: rows reported ``not-sent`` from then
            on are not counted as finished, and no rate or time left is shown.
        people: people per verdict of the confirmed state (skipped, verified, planned,
            leavers); empty when the run keeps no state.
    """

    phases: dict[str, Phase] = field(default_factory=dict)
    actions: Counter[str] = field(default_factory=Counter)
    throttled: Callable[[], bool] = _never
    accepted_rate: Callable[[], float | None] = _no_rate
    clock: Callable[[], float] = time.monotonic
    interrupted: bool = False
    _sampling: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    people: Counter[str] = field(default_factory=Counter)

    def start(self, phase: str, total: int | None = None, unit: str = "rows") -> None:
        """Enter a phase (again): its count starts at 0 of ``total``."""
        self.phases[phase] = Phase(phase, unit, total)

    def advance(self, steps: int = 1, *, phase: str | None = None) -> None:
        """Count finished steps of ``phase`` (default: the phase started last)."""
        if not self.phases:
            return
        current = self.phases[phase] if phase is not None else next(reversed(self.phases.values()))
        if current.first_step is None:
            current.first_step = self.clock()
        current.done += steps

    def set_done(self, phase: str, done: int) -> None:
        """Set a phase's count outright (cheaper than ``advance`` in a tight loop)."""
        current = self.phases[phase]
        if current.first_step is None:
            current.first_step = self.clock()
        current.done = done

    def people_line(self) -> str:
        """The confirmed state's verdicts so far (``people: 9,800 skipped by the state, ...``),
        or "" when the run keeps no state."""
        counts = dict(self.people)
        parts = [f"{n:,} {_PEOPLE.get(name, name)}" for name, n in counts.items() if n]
        return "people: " + ", ".join(parts) if parts else ""

    def drop(self, phase: str, steps: int) -> None:
        """Take ``steps`` out of a phase's total (people the state lets the run skip)."""
        current = self.phases.get(phase)
        if current is not None and current.total is not None:
            current.total = max(current.done, current.total - steps)

    def tell(self, phase: str, note: str) -> None:
        """Say what ``phase`` is doing now (shown next to its count); ignored if not started."""
        current = self.phases.get(phase)
        if current is not None:
            current.note = note

    def finish(self, phase: str) -> None:
        """Mark a phase of unknown length as complete: its total is what was done."""
        current = self.phases.get(phase)
        if current is not None:
            current.total = current.done

    def count(self, action: str, rows: int = 1) -> None:
        """Count ``rows`` rows' outcome; the writing phase, when started, advances as much.

        After an interrupt, the rows reported ``not-sent`` were not written: they do not
        advance it (answers still arriving for rows in flight do).
        """
        self.actions[str(action)] += rows
        if WRITING in self.phases and not (self.interrupted and action == "not-sent"):
            self.advance(rows, phase=WRITING)

    def interrupt(self) -> None:
        """Ctrl-C or SIGTERM: from now on the counts are what was really done."""
        self.interrupted = True

    def rate(self, phase: Phase) -> float:
        """Steps per second over the last ``RATE_WINDOW_S`` (since the first step, before).

        A run slowed down by retries or throttling shows its rate of now, not its average.
        """
        if phase.first_step is None:
            return 0.0
        # The live display and the run.log line ask from two threads.
        with self._sampling:
            now, done = self.clock(), phase.done
            samples = phase.samples
            if not samples or now - samples[-1][0] >= _SAMPLE_EVERY_S:
                samples.append((now, done))
            while len(samples) > 2 and now - samples[1][0] >= RATE_WINDOW_S:
                samples.popleft()
            since, then = samples[0]
        if now - since < RATE_WINDOW_S:
            since, then = phase.first_step, 0
        elapsed = now - since
        return (done - then) / elapsed if elapsed > 0 else 0.0

    def eta_s(self, phase: Phase) -> float | None:
        """Seconds left at the current rate, or None when unknown (or interrupted)."""
        rate = self.rate(phase)
        if phase.total is None or rate <= 0 or self.interrupted:
            return None
        return max(0.0, (phase.total - phase.done) / rate)

    def active(self) -> list[Phase]:
        """The phases to show: those not finished, or the last one when all are."""
        phases = list(self.phases.values())
        running = [phase for phase in phases if not phase.finished]
        return running or phases[-1:]

    def line(self) -> str:
        """One line for a log, e.g. ``writing 120/400 rows (35/s, about 8 s left); ...``."""
        if not self.phases:
            return "starting"
        parts = []
        for phase in self.active():
            count = f"{phase.done}" if phase.total is None else f"{phase.done}/{phase.total}"
            if self.interrupted:
                parts.append(f"{phase.name} {count} {phase.unit} (interrupted)")
                continue
            detail = [per_second(self.rate(phase))]
            eta = self.eta_s(phase)
            if eta is not None:
                detail.append(f"about {duration(eta)} left")
            if phase.note:
                detail.append(phase.note)
            parts.append(f"{phase.name} {count} {phase.unit} ({', '.join(detail)})")
        text = "; ".join(parts)
        # A copy first: the log line is built on another thread while rows are counted.
        actions = dict(self.actions)
        done = [f"{name} {n}" for name, n in sorted(actions.items()) if n]
        if done:
            text += "; rows so far: " + ", ".join(done)
        people = self.people_line()
        if people:
            text += f"; {people}"
        rate = self.accepted_rate()
        if rate is not None:
            text += f"; Graph accepts about {rate:,.0f} requests/s"
        if self.throttled():
            text += "; throttled: waiting as Graph asked"
        return text


def per_second(rate: float) -> str:
    """A rate as people read it: ``0.4/s`` and ``2.5/s`` below 10 a second, never a ``0/s``
    for rows that advance slowly; ``35/s`` and ``1,200/s`` above."""
    if 0 < rate < 1:
        return f"{rate:.1g}/s"
    if rate < 10:
        return f"{rate:.1f}".rstrip("0").rstrip(".") + "/s"
    return f"{rate:,.0f}/s"


def duration(seconds: float) -> str:
    """A short human duration: ``42 s``, ``12 min``, ``1.5 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
