"""Database input: a SQLAlchemy URL and a SELECT, read like one more table.

A SOURCE that looks like a URL (``sqlite:///legacy.db``, ``postgresql+psycopg://...``) is a
database. The query's column names go through the same header matching as a file's header;
its rows stream in chunks (never the whole result set in memory) and every value becomes the
text a user would see (``None`` is empty, ``4.0`` is ``"4"``). ``row`` is the 1-based result row.

Safety:

- The database is opened read-only where the driver allows it (sqlite in ``mode=ro``,
  PostgreSQL in a read-only transaction) and nothing is ever committed: the connection is
  rolled back and closed after each read.
- Every credential of the URL (its password, query values such as ``password`` or ``token``,
  an ``odbc_connect`` string's ``PWD``) is masked (``***``) wherever the URL is shown, and
  scrubbed from any driver message before it becomes an error: it never reaches a log, a
  report or a message.
- Everything that can go wrong before the first row (bad URL, missing driver, no server, bad
  SQL, no user or skill column, an empty result) is an ``InputError`` of one line, raised when
  the source is opened, so a broken source fails before anything is sent.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from importer.config import masking
from importer.errors import InputError
from importer.read.headers import HeaderMatcher
from importer.read.workbook import cell_text
from importer.records import SourceRow, Table

if TYPE_CHECKING:
    # SQLAlchemy is imported when a database is read, not by every command's start.
    from sqlalchemy.engine import URL, Connection, Engine

__all__ = [
    "DRIVER_EXTRAS",
    "DatabaseSource",
    "is_database_url",
    "mask_url",
    "value_text",
]

logger = logging.getLogger(__name__)

#: Rows fetched from the driver at a time.
CHUNK_ROWS = 5000

#: Dialect -> the package extra that installs its driver.
DRIVER_EXTRAS: dict[str, str] = {
    "postgresql": "postgres",
    "mssql": "mssql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "oracle": "oracle",
}

# A plain `postgresql://` URL means SQLAlchemy's default driver (psycopg2); the extras install
# the well-kept successors, so a URL without `+driver` uses those.
_DEFAULT_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
    "oracle": "oracle+oracledb",
}

_URL_START = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_PASSWORD_IN_URL = re.compile(r"(://[^:/@]*:)[^@/]*@")
_CONNECT_TIMEOUT_S = 15
# Types whose str() is the text a user sees (bool is not: str(True) is "True").
_PLAIN_TYPES = frozenset({str, int})
# Dialects read through the driver's own cursor (it streams without a server-side cursor).
_RAW_CURSOR_DIALECTS = frozenset({"sqlite"})


def is_database_url(text: str) -> bool:
    """True when a SOURCE names a database (``scheme://...``) rather than a file."""
    return _URL_START.match(text) is not None


def mask_url(text: str) -> str:
    """The URL with every credential replaced by ``***``: the user info's password, query
    values such as ``password`` or ``token``, an ``odbc_connect`` string's ``PWD`` (also for
    URLs that do not parse; see ``importer.config.masking``)."""
    return masking.mask_url(text)


def _as_text(chunk: Sequence[Sequence[Any]]) -> list[tuple[str, ...]]:
    """Every value of a chunk of rows as text. Text and whole numbers (nearly every cell of a
    skills table) are converted at C speed; anything else cell by cell."""
    if set(map(type, chain.from_iterable(chunk))) <= _PLAIN_TYPES:
        return [tuple(map(str, values)) for values in chunk]
    return [tuple(map(value_text, values)) for values in chunk]


def value_text(value: Any) -> str:
    """A database (or DataFrame) value as the text a user sees: None, NaN and NA are empty."""
    if type(value) is str:
        return value
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if type(value).__name__ in ("NAType", "NaTType"):  # pandas' missing values
        return ""
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return cell_text(value)


class DatabaseSource:
    """One query against one database, checked when opened and then streamed.

    Args:
        url: the SQLAlchemy URL as the user gave it (may hold a password).
        query: the SELECT that yields the rows.
        matcher: recognises the columns, as for a file's header.
        password: used when the URL carries none (from ``SKILLS_IMPORT_DATABASE_PASSWORD``).
        chunk_rows: rows fetched from the driver at a time.

    Raises:
        InputError: one line, password masked: not a valid URL, driver not installed (naming
            the extra to install), no connection, the query fails or returns no result set,
            no user or skill column, or no rows.
    """

    def __init__(
        self,
        url: str,
        query: str,
        matcher: HeaderMatcher,
        *,
        password: str = "",
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        self.display = mask_url(url)
        self._secrets = [s for s in (*_password_of(url), *masking.url_secrets(url)) if s]
        if password:
            self._secrets.append(password)
        self._query = query.strip()
        self._chunk = chunk_rows
        if not self._query:
            raise InputError(
                "a database source needs a query: --query, --query-file or input.query",
                path=self.display,
            )
        self.sha256 = hashlib.sha256(self._query.encode("utf-8")).hexdigest()
        self._engine = self._create_engine(url, password)
        columns, has_rows = self._probe()
        match = matcher.find([columns], path=self.display)
        self.table = Table(self.display, "", match.header, match.mapping, match.ignored, 0)
        if not has_rows:
            raise InputError("the query returned no rows", path=self.display)
        self.rows = 0
        self.blank_rows = 0
        #: Whether the last ``iter_rows(stop_line=...)`` reached that row.
        self.stopped_at_line = False

    def _scrub(self, text: str) -> str:
        text = masking.scrub(text, self._secrets)
        return _PASSWORD_IN_URL.sub(r"\1***@", text)

    def _fail(self, what: str, exc: BaseException) -> InputError:
        original = getattr(exc, "orig", None) or exc
        detail = str(original).strip().splitlines()[0] if str(original).strip() else ""
        detail = self._scrub(detail or type(original).__name__)
        return InputError(f"{what}: {detail}", path=self.display)

    def _create_engine(self, url: str, password: str) -> Engine:
        import sqlalchemy as sa
        from sqlalchemy import exc as sa_exc
        from sqlalchemy.engine import make_url

        try:
            parsed = make_url(url)
        except (sa_exc.ArgumentError, ValueError):
            raise InputError(
                "is not a database URL (such as sqlite:///legacy.db or postgresql://user@host/db)",
                path=self.display,
            ) from None
        if parsed.get_backend_name() == "sqlite":
            return self._sqlite_engine(parsed)
        if password and not parsed.password:
            parsed = parsed.set(password=password)
        parsed = parsed.set(drivername=_DEFAULT_DRIVERS.get(parsed.drivername, parsed.drivername))
        backend = parsed.get_backend_name()
        connect_args: dict[str, Any] = {}
        if backend in ("postgresql", "mysql", "mariadb") and "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = _CONNECT_TIMEOUT_S
        try:
            return sa.create_engine(parsed, connect_args=connect_args, poolclass=sa.NullPool)
        except (ImportError, sa_exc.NoSuchModuleError) as exc:
            extra = DRIVER_EXTRAS.get(backend)
            if extra is None:
                raise InputError(
                    f"no driver for '{parsed.drivername}' URLs is installed "
                    f"({self._scrub(str(exc).splitlines()[0])})",
                    path=self.display,
                ) from None
            raise InputError(
                f"the {backend} driver is not installed; pip install 'skills-import[{extra}]'",
                path=self.display,
            ) from None
        except sa_exc.ArgumentError as exc:
            raise self._fail("cannot use this database URL", exc) from None

    def _sqlite_engine(self, parsed: URL) -> Engine:
        import sqlalchemy as sa

        database = parsed.database or ""
        if database in ("", ":memory:"):
            raise InputError("names no database file", path=self.display)
        path = Path(database).expanduser()
        if not path.is_file():
            raise InputError("database file not found", path=self.display)
        # Read-only at the file level: SQLite itself refuses any write through this handle.
        uri = path.resolve().as_uri() + "?mode=ro"

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=True, check_same_thread=False)

        return sa.create_engine("sqlite://", creator=connect, poolclass=sa.NullPool)

    def _connect(self) -> Connection:
        from sqlalchemy import exc as sa_exc

        try:
            connection = self._engine.connect()
        except sa_exc.DBAPIError as exc:
            raise self._fail("cannot connect to the database", exc) from None
        except Exception as exc:  # drivers raise their own types for a refused connection
            raise self._fail("cannot connect to the database", exc) from None
        if self._engine.dialect.name == "postgresql":
            connection = connection.execution_options(postgresql_readonly=True)
        return connection

    def _chunks(self, connection: Connection) -> tuple[tuple[str, ...], Iterator[Sequence[Any]]]:
        """Run the query: its column names, and its rows in chunks of ``chunk_rows``.

        SQLite is read through its own cursor (no result-row objects in between: a third of
        the time of a million-row read); other databases through SQLAlchemy with
        ``yield_per``, which makes drivers stream (a server-side cursor on PostgreSQL).
        """
        from sqlalchemy import exc as sa_exc

        dbapi_error: Any = self._engine.dialect.loaded_dbapi.Error
        if self._engine.dialect.name in _RAW_CURSOR_DIALECTS:
            raw: Any = connection.connection.driver_connection
            try:
                cursor = raw.cursor()
                cursor.execute(self._query)
            except dbapi_error as exc:
                raise self._fail("the query failed", exc) from None
            description = cursor.description
            fetch = cursor.fetchmany
        else:
            try:
                result = connection.execution_options(yield_per=self._chunk).exec_driver_sql(
                    self._query
                )
            except sa_exc.DBAPIError as exc:
                raise self._fail("the query failed", exc) from None
            description = result.cursor.description if result.returns_rows else None
            fetch = result.fetchmany
        if not description:
            raise InputError(
                "the query returned no result set; it must be a SELECT", path=self.display
            )
        columns = tuple(str(column[0]) for column in description)

        def chunks() -> Iterator[Sequence[Any]]:
            while True:
                try:
                    chunk = fetch(self._chunk)
                except (dbapi_error, sa_exc.DBAPIError) as exc:
                    raise self._fail("reading the query's rows failed", exc) from None
                if not chunk:
                    return
                yield chunk

        return columns, chunks()

    def _probe(self) -> tuple[tuple[str, ...], bool]:
        """The result's column names, and whether it has at least one row."""
        with self._connect() as connection:
            try:
                columns, chunks = self._chunks(connection)
                first = next(chunks, None)
            finally:
                connection.rollback()
        return columns, bool(first)

    @property
    def splittable(self) -> bool:
        """True when two reads of the query give the rows in the same order (SQLite: the same
        statement over a read-only file), so that two processes may each take a part."""
        return self._engine.dialect.name in _RAW_CURSOR_DIALECTS

    def count_rows(self) -> int:
        """How many rows the query returns (blank ones included), counted by the database."""
        from sqlalchemy import exc as sa_exc

        with self._connect() as connection:
            try:
                result = connection.exec_driver_sql(f"SELECT count(*) FROM ({self._query})")
                return int(result.scalar_one())
            except sa_exc.DBAPIError as exc:
                raise self._fail("counting the query's rows failed", exc) from None
            finally:
                connection.rollback()

    def iter_rows(
        self, start: tuple[int, int] | None = None, stop_line: int | None = None
    ) -> Iterator[SourceRow]:
        """Stream the non-blank result rows; counts ``rows`` and ``blank_rows`` as it goes.

        Args:
            start: (rows to pass over, number of the first row read) to read a later part of
                the result (for two processes, see ``splittable``).
            stop_line: stop before the row with this number (``stopped_at_line`` says whether
                the result reached it).

        Raises:
            InputError: the connection or the query fails part way (password masked).
        """
        table = self.table
        rows = blank = 0
        skip, number = (0, 0) if start is None else (start[0], start[1] - 1)
        stop = stop_line if stop_line is not None else sys.maxsize
        self.stopped_at_line = False
        with self._connect() as connection:
            try:
                _, chunks = self._chunks(connection)
                for chunk in chunks:
                    if skip:
                        if skip >= len(chunk):
                            skip -= len(chunk)
                            continue
                        chunk, skip = chunk[skip:], 0
                    for cells in _as_text(chunk):
                        number += 1
                        if number >= stop:
                            self.stopped_at_line = True
                            return
                        if not "".join(cells).strip():
                            blank += 1
                            continue
                        rows += 1
                        yield SourceRow(table, number, cells)
            finally:
                self.rows, self.blank_rows = rows, blank
                connection.rollback()

    def close(self) -> None:
        """Release the engine (no connection is kept open between reads)."""
        self._engine.dispose()


def _password_of(url: str) -> list[str]:
    """Every form in which a password may appear in ``url`` (parsed and as written)."""
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.engine import make_url

    found: list[str] = []
    match = _PASSWORD_IN_URL.search(url)
    if match is not None:
        written = match.group(0)[len(match.group(1)) : -1]
        found.append(written)
    try:
        parsed = make_url(url)
    except (sa_exc.ArgumentError, ValueError):
        return found
    if parsed.password:
        found.append(str(parsed.password))
    return found
