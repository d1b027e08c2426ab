"""The input stage: open and check every input file, then stream its rows.

Every file is checked when ``InputReader`` is built, before anything is sent anywhere: a
missing, empty, binary, corrupt or header-less file raises ``InputError`` with one line
naming the file (and sheet). Rows then stream one by one, so memory does not grow with the
input. Blank rows are skipped and counted; every other row becomes a ``SourceRow``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Generator, Iterable, Sequence
from pathlib import Path

from importer.config import Settings
from importer.errors import InputError
from importer.read.csv_file import CSV_SUFFIXES, CsvSource
from importer.read.database import DatabaseSource, is_database_url
from importer.read.headers import HeaderMatcher
from importer.read.rows import RowsInput, RowsSource
from importer.read.workbook import WORKBOOK_SUFFIXES, WorkbookSource
from importer.records import InputSummary, SourceRow, Table

__all__ = ["InputReader"]

#: One input: a delimited text file, a workbook, or a database query.
Source = CsvSource | WorkbookSource | DatabaseSource | RowsSource

logger = logging.getLogger(__name__)


#: Ignored columns named in a warning; the rest are counted (a table may have thousands).
IGNORED_NAMED = 10


def _named(names: list[str]) -> str:
    shown = ", ".join(f"'{name[:60]}'" for name in names[:IGNORED_NAMED])
    more = len(names) - IGNORED_NAMED
    return f"{shown} and {more:,} more" if more > 0 else shown


def _describe_ignored(table: Table, matcher: HeaderMatcher) -> str:
    where = table.source + (f" [{table.sheet}]" if table.sheet else "")
    identity = [name for name in table.ignored if matcher.identity_key_of(name)]
    others = [name for name in table.ignored if name not in identity]
    parts = []
    if others:
        count = f"{len(others):,} columns:" if len(others) > IGNORED_NAMED else "columns"
        label = count if len(others) > 1 else "column"
        parts.append(f"ignoring {label} {_named(others)}")
    if identity:
        names = _named(identity)
        parts.append(
            f"ignoring identity column{'s' if len(identity) > 1 else ''} {names} "
            f"(the user key is {matcher.user_key}: only its column names the person)"
        )
    return f"{where}: {'; '.join(parts)}"


def cells_of_rows(
    source: Source,
    rows: Iterable[SourceRow],
    wanted: Collection[tuple[str, str, int]],
) -> dict[tuple[str, str, int], tuple[str, ...]]:
    """The cells of the ``wanted`` rows among ``rows`` (read again from ``source``).

    The source's row counts are left as they were: this second read is not part of the input.
    """
    counts = source.rows, source.blank_rows
    found: dict[tuple[str, str, int], tuple[str, ...]] = {}
    for row in rows:
        key = (row.table.source, row.table.sheet, row.row)
        if key in wanted:
            found[key] = row.cells
    source.rows, source.blank_rows = counts
    return found


class InputReader:
    """Opens and checks every input up front, then streams rows.

    Args:
        paths: the inputs, in the order they are read: file paths, or database URLs (given as
            ``str``) read with ``input.query``, or rows from a script (``RowsInput``).
        settings: uses ``input`` (sheets, delimiter, encoding, query), ``columns`` (aliases)
            and ``database_password``.

    Raises:
        InputError: for the first file that cannot be read as a table (missing, empty,
            header only, no user/displayName header, corrupt or truncated workbook, a CSV
            renamed .xlsx, binary content, unsupported extension, unknown sheet).

    Attributes:
        warnings: non-fatal findings for the user, e.g. columns that are ignored (once per table)
            and sheets skipped for want of a header.
    """

    def __init__(self, paths: Sequence[Path | str | RowsInput], settings: Settings) -> None:
        self.warnings: list[str] = []
        # A skills matrix has a user column and one column per skill, no skill-name column.
        matrix_possible = settings.input.layout in ("auto", "matrix")
        matcher = HeaderMatcher(
            settings.columns, settings.input.user_key, user_only_header=matrix_possible
        )
        self._sources: list[Source] = []
        if not paths:
            raise InputError("no input file given")
        password = settings.database_password
        for path in paths:
            if isinstance(path, RowsInput):
                self._sources.append(RowsSource(path, matcher))
            elif isinstance(path, str) and is_database_url(path):
                self._sources.append(
                    DatabaseSource(
                        path,
                        settings.input.query,
                        matcher,
                        password=password.get_secret_value() if password else "",
                    )
                )
            else:
                self._sources.append(self._open(Path(path), settings, matcher))
        for source in self._sources:
            tables = [source.table] if not isinstance(source, WorkbookSource) else source.tables
            for table in tables:
                # A table without a skill-name column may be a skills matrix: which of its
                # columns are ignored is for the shape stage to say.
                if table.ignored and "displayName" in table.mapping:
                    self.warnings.append(_describe_ignored(table, matcher))
                    logger.info("%s", self.warnings[-1])

    def _open(
        self, path: Path, settings: Settings, matcher: HeaderMatcher
    ) -> CsvSource | WorkbookSource:
        display = str(path)
        if not path.exists():
            raise InputError("file not found", path=display)
        if path.is_dir():
            raise InputError("is a folder, not a file", path=display)
        suffix = path.suffix.lower()
        if suffix in CSV_SUFFIXES:
            return CsvSource(path, display, settings.input, matcher)
        if suffix in WORKBOOK_SUFFIXES:
            return WorkbookSource(path, display, settings.input.sheets, matcher, self.warnings)
        supported = ", ".join((*CSV_SUFFIXES, *WORKBOOK_SUFFIXES))
        raise InputError(
            f"unsupported file type {suffix or '(none)'!r}; use one of {supported}", path=display
        )

    def rows(self) -> Generator[SourceRow, None, None]:
        """Every non-blank data row of every file and sheet, in order."""
        for source in self._sources:
            yield from source.iter_rows()

    def summaries(self) -> list[InputSummary]:
        """What each file held (complete once ``rows()`` is exhausted)."""
        result = []
        for source in self._sources:
            sheets = source.sheets if isinstance(source, WorkbookSource) else ()
            result.append(
                InputSummary(source.display, source.sha256, source.rows, source.blank_rows, sheets)
            )
        return result

    def lookup_cells(
        self, wanted: Collection[tuple[str, str, int]]
    ) -> dict[tuple[str, str, int], tuple[str, ...]]:
        """Read the original cells of some rows again, by (source, sheet, row).

        For the few rows whose outcome is corrected after streaming (conflicting duplicates):
        their cells were not kept, but rejects.csv should show them. Only the files holding
        wanted rows are read again.
        """
        sources = {source for source, _, _ in wanted}
        found: dict[tuple[str, str, int], tuple[str, ...]] = {}
        for source in self._sources:
            if source.display in sources:
                found.update(cells_of_rows(source, source.iter_rows(), wanted))
        return found

    def single_splittable(self) -> CsvSource | DatabaseSource | None:
        """The one source, when the input is exactly one CSV file or one SQLite query."""
        if len(self._sources) == 1:
            source = self._sources[0]
            if isinstance(source, CsvSource):
                return source
            if isinstance(source, DatabaseSource) and source.splittable:
                return source
        return None

    def single_csv(self) -> CsvSource | None:
        """The one CSV source, when the input is exactly one CSV file (else None)."""
        if len(self._sources) == 1 and isinstance(self._sources[0], CsvSource):
            return self._sources[0]
        return None

    @property
    def blank_rows(self) -> int:
        """Fully blank rows skipped so far, over every input."""
        return sum(source.blank_rows for source in self._sources)

    @property
    def tables(self) -> list[Table]:
        """Every table that will be read (a CSV file, or one sheet of a workbook)."""
        out: list[Table] = []
        for source in self._sources:
            out.extend(source.tables if isinstance(source, WorkbookSource) else [source.table])
        return out
