"""Opening the confirmed state for a run, and what to do with a file that cannot be trusted.

A file written for another target, tenant or kind, by another format version, or that cannot
be read at all, is never trusted: ``open_state`` starts it afresh (a dry run reads an empty
state instead and changes nothing) and says why, for a warning; the run then lists everyone.
A changed config keeps the people (their digests no longer match, so they are listed) and
records the new fingerprint, so the run can say which part changed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from importer.state.store import (
    ConfirmedState,
    StateHeader,
    connect,
    empty_db,
    remove_files,
)

__all__ = ["Opened", "open_state", "void_people"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Opened:
    """The result of ``open_state``.

    Attributes:
        state: the open state (empty when the file was new, reset or unreadable).
        problem: why the file could not be trusted (a warning for the run), "" when it could.
        changed: the config parts that changed since the file was written (a full run).
        new: True when there was no state yet for this target.
    """

    state: ConfirmedState
    problem: str = ""
    changed: list[str] = field(default_factory=list)
    new: bool = False


def _changed(old: str, new: dict[str, str]) -> list[str]:
    try:
        before = json.loads(old)
    except ValueError:
        before = {}
    if not isinstance(before, dict):
        before = {}
    return sorted(name for name in new.keys() | before.keys() if before.get(name) != new.get(name))


def open_state(path: Path, header: StateHeader, *, writable: bool) -> Opened:
    """Open the state at ``path`` for ``header``'s target, tenant and kind.

    Args:
        path: the state file (made, with its folder, when missing and ``writable``).
        header: what this run is about.
        writable: False for a dry run: the file is only read, never made, changed or reset.

    Returns:
        The open state and what was wrong with the file, if anything. A file that cannot be
        trusted (unreadable, another format version, another target, tenant or kind) is
        started afresh (a dry run reads an empty state instead); a changed config keeps the
        people (their digests no longer match) and records the new fingerprint.
    """
    exists = path.is_file()
    if not exists and not writable:
        return Opened(ConfirmedState(empty_db(), writable=False, path=None), new=True)
    if writable:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    db: sqlite3.Connection | None = None
    try:
        db = connect(path, writable=writable)
        state = ConfirmedState(db, writable=writable, path=path)
        found = state.header()
    except sqlite3.Error as exc:
        if db is not None:
            db.close()
        problem = f"the confirmed state {path} cannot be read ({exc})"
        return _afresh(path, header, problem, writable=writable)
    if not found:
        if writable:
            state.write_header(header, reset=True)
        return Opened(state, new=True)
    for name, value in header.identity().items():
        if found.get(name) != value:
            state.close()
            problem = (
                f"the confirmed state {path} was written for another {name} "
                f"({found.get(name) or 'none'!r}, this run: {value!r})"
            )
            return _afresh(path, header, problem, writable=writable)
    changed = _changed(found.get("fingerprint", ""), header.fingerprint)
    if changed and writable:
        state.write_header(header, reset=False)
    return Opened(state, changed=changed)


def void_people(path: Path, header: StateHeader, people: Iterable[str]) -> int:
    """Void the entries of ``people`` in an existing state for ``header``'s target, committed.

    For writes made outside a run's own bookkeeping (``undo``): those people are listed
    again by the next run. A missing, foreign or unreadable file needs nothing (the next run
    lists everyone anyway). Returns how many entries were voided.
    """
    if not path.is_file():
        return 0
    try:
        with contextlib.closing(connect(path, writable=True)) as db:
            state = ConfirmedState(db, writable=True, path=path)
            found = state.header()
            if any(found.get(name) != value for name, value in header.identity().items()):
                return 0
            doomed = [(person,) for person in people]
            with db:
                cursor = db.executemany("UPDATE people SET digest = '' WHERE person = ?", doomed)
            return max(cursor.rowcount, 0)
    except sqlite3.Error as exc:
        logger.warning("the confirmed state %s cannot be read (%s)", path, exc)
        return 0


def _afresh(path: Path, header: StateHeader, problem: str, *, writable: bool) -> Opened:
    logger.warning("%s: this run lists everyone and starts a new state", problem)
    if not writable:
        return Opened(ConfirmedState(empty_db(), writable=False, path=None), problem=problem)
    remove_files(path)
    db = connect(path, writable=True)
    state = ConfirmedState(db, writable=True, path=path)
    state.write_header(header, reset=True)
    return Opened(state, problem=problem)
