"""Valid rows held between validation and the Graph stages, on disk, grouped per person.

A million-row file whose rows are sorted by skill (not by person) cannot be planned person by
person until every row has been read. Holding every ``SkillRow`` in memory costs about a
kilobyte a row; this store keeps them in a SQLite file in the run's report folder instead, and
hands them back a slice of people at a time, every person's rows together. Memory then grows
with the people in flight, not with the rows.

The store is a private temporary SQLite database (``sqlite3.connect("")``): SQLite puts it in
the system temp folder (``SQLITE_TMPDIR`` or ``TMPDIR``, else /var/tmp or /tmp; ``TMP`` on
Windows) and removes it itself: on POSIX the file is unlinked the moment it is opened, on Windows
it is opened delete-on-close. A run that is killed, even with SIGKILL, therefore leaves nothing
behind that a rerun could trip over. Its page cache is capped, so the rows live on disk.

Rows are stored as ``marshal`` blobs of plain tuples (strings, ints, None): four times faster
than JSON both ways, and only this process ever reads them back, from a file no other process
can open (it is unlinked, or delete-on-close), with the same Python that wrote them.
"""

from __future__ import annotations

import contextlib
import marshal
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from importer.errors import ScratchSpaceError
from importer.records import Action, RowOutcome, SkillRow, SourceRow, Table
from importer.write.groups import UserRows

__all__ = ["RowSpill", "report_not_sent"]

#: SQLite pages kept in memory, in KiB (a negative cache_size is KiB).
_CACHE_KIB = 16384

_SCHEMA = """
CREATE TABLE rows (
    seq INTEGER PRIMARY KEY,
    user_key TEXT NOT NULL,
    place TEXT NOT NULL,
    data BLOB NOT NULL
)
"""


def _place(source: str, sheet: str, row: int, column: str) -> str:
    # One text key is smaller and faster to index than four columns.
    return f"{row}\x1f{column}\x1f{sheet}\x1f{source}"


class RowSpill:
    """Valid rows of one run, on disk, read back grouped by user in input order.

    It is the write stage's ``UserRows``: ``chunks()`` hands back about ``rows_per_chunk`` rows
    at a time, whole users only.
    """

    def __init__(self, rows_per_chunk: int = 20_000) -> None:
        self.rows_per_chunk = rows_per_chunk
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        # Scratch space: a crash loses nothing (the rerun reads the input again), so no journal
        # and no fsync; sorting spills to files too, never to memory.
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("PRAGMA temp_store=FILE")
        self._db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        self._db.execute(_SCHEMA)
        self._db.execute("BEGIN")
        self._tables: list[Table] = []
        self._table_index: dict[int, int] = {}
        self._pending: list[tuple[str, str, bytes]] = []
        self._rows = 0
        self._indexed = False
        self._placed = False
        self._users: int | None = None

    def __len__(self) -> int:
        return self._rows

    @property
    def rows(self) -> int:
        """How many rows are held."""
        return self._rows

    @property
    def users(self) -> int:
        """How many distinct users the held rows name."""
        return self.user_count()

    def add(self, row: SkillRow) -> None:
        """Keep one valid row (every row is added before any is read back)."""
        if self._indexed:
            raise RuntimeError("RowSpill: a row was added after reading began")
        source = row.source
        table = source.table
        index = self._table_index.get(id(table))
        if index is None:
            index = len(self._tables)
            self._tables.append(table)
            self._table_index[id(table)] = index
        data = marshal.dumps((index, source.row, source.column, source.cells, *row.values()))
        place = _place(table.source, table.sheet, source.row, source.column)
        self._pending.append((row.user_key, place, data))
        self._rows += 1
        if len(self._pending) >= 8192:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            try:
                self._db.executemany(
                    "INSERT INTO rows (user_key, place, data) VALUES (?, ?, ?)", self._pending
                )
            except sqlite3.Error as exc:
                raise _no_room(exc) from None
            self._pending.clear()

    def _index(self) -> None:
        if not self._indexed:
            self._flush()
            try:
                self._db.execute("CREATE INDEX by_user ON rows (user_key, seq)")
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise _no_room(exc) from None
            self._indexed = True

    def discard(self, source: str, sheet: str, row: int, column: str = "", name: str = "") -> bool:
        """Drop a row whose outcome was corrected after streaming; True if it was held.

        ``name``: for a row made by the list layout, whose cell may hold several skills, the
        skill name (compared ignoring case): only that skill's row is dropped.
        """
        self._index()
        if not self._placed:
            # Only a run with rows corrected after reading looks rows up by place.
            try:
                self._db.execute("CREATE INDEX by_place ON rows (place)")
            except sqlite3.Error as exc:
                raise _no_room(exc) from None
            self._placed = True
        place = _place(source, sheet, row, column)
        if name:
            found = self._db.execute("SELECT rowid, data FROM rows WHERE place = ?", (place,))
            wanted = name.strip().casefold()
            rowids = [(rowid,) for rowid, data in found if _values(data)[5].casefold() == wanted]
            cursor = self._db.executemany("DELETE FROM rows WHERE rowid = ?", rowids)
        else:
            cursor = self._db.execute("DELETE FROM rows WHERE place = ?", (place,))
        removed = cursor.rowcount > 0
        self._rows -= cursor.rowcount
        self._users = None
        return removed

    def regroup(self, group_of: Mapping[str, str]) -> None:
        """Hold rows together that belong together: each group key in ``group_of`` is replaced
        by its new key (one person written two ways, a GUID and a UPN, gets one key), so that
        ``chunks`` hands all of that person's rows back at once."""
        self._index()
        if not group_of:
            return
        try:
            self._db.execute("BEGIN")
            self._db.execute("CREATE TABLE regroup (user_key TEXT PRIMARY KEY, grp TEXT)")
            self._db.executemany("INSERT INTO regroup VALUES (?, ?)", group_of.items())
            self._db.execute(
                "UPDATE rows SET user_key = (SELECT grp FROM regroup WHERE "
                "regroup.user_key = rows.user_key) WHERE user_key IN (SELECT user_key FROM regroup)"
            )
            self._db.execute("DROP TABLE regroup")
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise _no_room(exc) from None
        self._users = None

    def user_count(self) -> int:
        """How many distinct users the held rows name."""
        if self._users is None:
            self._index()
            (count,) = self._db.execute("SELECT COUNT(DISTINCT user_key) FROM rows").fetchone()
            self._users = int(count)
        return self._users

    def user_values(self) -> Iterator[str]:
        """Each distinct user, as first written in the input (for directory resolution)."""
        self._index()
        query = "SELECT data FROM rows WHERE seq IN (SELECT MIN(seq) FROM rows GROUP BY user_key)"
        for (data,) in self._db.execute(query):
            yield _values(data)[4]

    def chunks(self, max_rows: int | None = None) -> Iterator[dict[str, list[SkillRow]]]:
        """Every user's rows, whole users at a time, about ``max_rows`` rows per chunk.

        A user is never split across chunks (one user with more rows than ``max_rows`` makes a
        chunk of their own). Rows keep their input order within a user.
        """
        self._index()
        max_rows = max_rows or self.rows_per_chunk
        chunk: dict[str, list[SkillRow]] = {}
        size = 0
        current = None
        rows: list[SkillRow] = []
        tables = self._tables
        loads = _values
        cursor = self._db.execute("SELECT user_key, data FROM rows ORDER BY user_key, seq")
        for user_key, data in cursor:
            if user_key != current:
                if size >= max_rows:
                    yield chunk
                    chunk, size = {}, 0
                current = user_key
                rows = chunk[user_key] = []
            # Unpacked by name: a starred target would build a list for every row.
            index, row, column, cells, user, name, level, kinds, tags, audience, url, uid = loads(
                data
            )
            rows.append(
                SkillRow(
                    SourceRow(tables[index], row, cells, column),
                    user,
                    name,
                    level,
                    kinds,
                    tags,
                    audience,
                    url,
                    uid,
                )
            )
            size += 1
        if chunk:
            yield chunk

    def close(self) -> None:
        """Close the store; SQLite deletes its file."""
        with contextlib.suppress(sqlite3.Error):
            self._db.close()


def _values(data: bytes) -> tuple[Any, ...]:
    """A stored row's values (written by ``RowSpill.add`` in this process: see the module)."""
    values: tuple[Any, ...] = marshal.loads(data)  # noqa: S302 - our own private file
    return values


def report_not_sent(held: UserRows, emit: Callable[[RowOutcome], None], reason: str) -> None:
    """Report every held row ``not-sent``: the run stopped before planning anything."""
    error = f"not sent: {reason}"
    for chunk in held.chunks():
        for rows in chunk.values():
            for row in rows:
                emit(RowOutcome.for_row(row, Action.NOT_SENT, error_type="not-sent", error=error))


def _no_room(exc: sqlite3.Error) -> ScratchSpaceError:
    where = tempfile.gettempdir()
    return ScratchSpaceError(
        f"the temporary folder {where} cannot hold the valid rows of this run ({exc}); free "
        f"some space there, or point TMPDIR (TMP on Windows) at a folder with room: nothing "
        f"was sent"
    )
