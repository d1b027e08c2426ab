"""The confirmed state: per person, what Graph last confirmed for them, in a small SQLite file.

One file per target, tenant and kind of item (``profile`` skills, ``connector`` items...). Its
header says which: format version, tenant, target, kind and the config fingerprint. Its rows
say, per person (an object id, lower case): a digest of what was confirmed written for them,
when Graph last confirmed it (``verified``, Unix seconds), the person as the file wrote them,
and how many of their items the tool owns there.

What keeps it honest:

- a person's row is written only after Graph confirmed every operation of theirs in the run
  (callers buffer ``confirm`` and ``commit`` per batch of confirmed people);
- before a person's writes go out, their old digest is voided and that committed
  (``invalidate``), so a run killed mid-write (SIGKILL included) leaves no row claiming a state
  Graph may not hold: the person is simply listed again next time;
- the file runs in WAL mode: a commit is atomic, a kill never leaves half a commit, and a dry
  run may read it while a real run writes.

Opening a file, and what to do with one that cannot be trusted, is ``importer.state.opening``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "FORMAT_VERSION",
    "ConfirmedState",
    "Entry",
    "StateHeader",
    "connect",
    "empty_db",
    "remove_files",
]

logger = logging.getLogger(__name__)

#: Bumped whenever the file's meaning changes: a file of another version is never trusted.
#: 2: digests of each row's values as JSON (``importer.state.digest``), not as a tuple's repr.
FORMAT_VERSION = "2"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS header (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS people (
    person TEXT PRIMARY KEY,
    written_as TEXT NOT NULL,
    digest TEXT NOT NULL,
    verified REAL NOT NULL,
    owned INTEGER NOT NULL
) WITHOUT ROWID;
"""

#: People asked for in one query (SQLite allows 32,766 parameters; stay well below).
_QUERY_SIZE = 500


@dataclass(frozen=True, slots=True)
class StateHeader:
    """What a state file is about; a file whose header differs is not this target's.

    Attributes:
        target: the endpoint (a Graph cloud URL, or ``sandbox``).
        tenant: the tenant id (for a sandbox, the id of its database).
        kind: what is recorded (``target.kind``: profile, connector...).
        fingerprint: the config's parts that shape the wanted items, name -> short hash.
    """

    target: str
    tenant: str
    kind: str
    fingerprint: dict[str, str] = field(default_factory=dict)

    def identity(self) -> dict[str, str]:
        """The header rows that must match for the file to be trusted at all."""
        return {
            "format": FORMAT_VERSION,
            "target": self.target,
            "tenant": self.tenant,
            "kind": self.kind,
        }


@dataclass(frozen=True, slots=True)
class Entry:
    """What the state holds for one person.

    Attributes:
        digest: the digest of what Graph confirmed (see ``importer.state.digest``).
        verified: when Graph last confirmed it (Unix seconds, UTC).
        written_as: the person as the input file wrote them (for reports of leavers).
        owned: how many of the person's items carry the tool's tag, as last confirmed.
    """

    digest: str
    verified: float
    written_as: str
    owned: int


class ConfirmedState:
    """An open state file (or an empty one in memory, for a dry run with no file).

    Writes are buffered: ``confirm`` and ``forget`` take effect at the next ``commit``.
    A read-only state (dry runs) ignores every write.
    """

    def __init__(self, db: sqlite3.Connection, *, writable: bool, path: Path | None) -> None:
        self._db = db
        self.writable = writable
        self.path = path
        self._confirmed: dict[str, Entry] = {}
        self._forgotten: set[str] = set()
        #: Why the file could not be written, when it could not ("" while all is well).
        self.failure = ""

    # ------------------------------------------------------------------ reading

    def entries(self, people: Iterable[str]) -> dict[str, Entry]:
        """The entries of those of ``people`` the state holds (keys as given, lower case)."""
        found: dict[str, Entry] = {}
        wanted = list(people)
        if self.failure:
            return found
        try:
            for start in range(0, len(wanted), _QUERY_SIZE):
                part = wanted[start : start + _QUERY_SIZE]
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    "SELECT person, digest, verified, written_as, owned FROM people "
                    f"WHERE person IN ({marks})",
                    part,
                )
                for person, digest, verified, written_as, owned in rows:
                    found[person] = Entry(digest, float(verified), written_as, int(owned))
        except sqlite3.Error as exc:
            self._give_up(exc)  # nobody is skipped on the word of a file that fails
            return {}
        return found

    def people(self) -> Iterator[tuple[str, Entry]]:
        """Every person the state holds, in no particular order."""
        rows = self._db.execute("SELECT person, digest, verified, written_as, owned FROM people")
        for person, digest, verified, written_as, owned in rows.fetchall():
            yield person, Entry(digest, float(verified), written_as, int(owned))

    def __len__(self) -> int:
        (count,) = self._db.execute("SELECT count(*) FROM people").fetchone()
        return int(count)

    # ------------------------------------------------------------------ writing

    def confirm(self, person: str, entry: Entry) -> None:
        """Record what Graph confirmed for ``person`` (takes effect at ``commit``)."""
        self._forgotten.discard(person)
        self._confirmed[person] = entry

    def forget(self, person: str) -> None:
        """Drop ``person`` (nothing of theirs is held any more; takes effect at ``commit``)."""
        self._confirmed.pop(person, None)
        self._forgotten.add(person)

    @property
    def buffered(self) -> int:
        """Changes waiting for ``commit``."""
        return len(self._confirmed) + len(self._forgotten)

    def invalidate(self, people: Iterable[str]) -> None:
        """Void the digests of ``people`` now, committed, before writes for them go out.

        The people stay known (a sync run still finds them if they leave the file); their
        digest matches nothing, so each is listed until Graph confirms a new one.
        """
        doomed = [(person,) for person in people]
        if not self.writable or not doomed:
            return
        try:
            with self._db:
                self._db.executemany("UPDATE people SET digest = '' WHERE person = ?", doomed)
        except sqlite3.Error as exc:
            self._give_up(exc)

    def commit(self) -> None:
        """Write the buffered confirmations and removals in one transaction."""
        if not self.writable:
            self._confirmed.clear()
            self._forgotten.clear()
            return
        if not self.buffered:
            return
        try:
            with self._db:
                self._db.executemany(
                    "DELETE FROM people WHERE person = ?", [(p,) for p in self._forgotten]
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO people (person, written_as, digest, verified, owned) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [
                        (person, e.written_as, e.digest, e.verified, e.owned)
                        for person, e in self._confirmed.items()
                    ],
                )
        except sqlite3.Error as exc:
            self._give_up(exc)
        self._confirmed.clear()
        self._forgotten.clear()

    def _give_up(self, exc: sqlite3.Error) -> None:
        """The file cannot be written (disk full...): remove it, so that no entry it still
        holds can outlive what this run changes; the next run lists everyone."""
        self.writable = False
        self.failure = (
            f"the confirmed state {self.path} could not be written ({exc}); it was removed, "
            "so the next run lists everyone"
        )
        logger.warning("%s", self.failure)
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        if self.path is not None:
            with contextlib.suppress(OSError):
                remove_files(self.path)

    def close(self) -> None:
        """Commit what is buffered and close the file."""
        try:
            self.commit()
        finally:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()

    # ------------------------------------------------------------------ header

    def header(self) -> dict[str, str]:
        """The header rows as stored (name -> value)."""
        return dict(self._db.execute("SELECT name, value FROM header").fetchall())

    def write_header(self, header: StateHeader, *, reset: bool) -> None:
        """Record ``header``; ``reset`` also drops every person (a file started afresh)."""
        with self._db:
            if reset:
                self._db.execute("DELETE FROM people")
                self._db.execute("DELETE FROM header")
            rows = {**header.identity(), "fingerprint": json.dumps(header.fingerprint)}
            self._db.executemany("INSERT OR REPLACE INTO header VALUES (?, ?)", rows.items())


def connect(path: Path, *, writable: bool) -> sqlite3.Connection:
    """Open a state file: read-only, or for writing in WAL mode with the schema made."""
    if not writable:
        return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives the process being killed; only a power cut
        # may lose the last commits, which can only make the next run list more people.
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
    except BaseException:
        db.close()
        raise
    return db


def empty_db() -> sqlite3.Connection:
    """An empty state in memory (a dry run with no usable file)."""
    db = sqlite3.connect(":memory:")
    db.executescript(_SCHEMA)
    return db


def remove_files(path: Path) -> None:
    """Delete a state file and its WAL companions."""
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()
