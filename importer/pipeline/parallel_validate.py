"""Offline validation of one large CSV file on two cores.

A million-row file spends most of its time reading, validating and writing results.csv, all
in one CPython thread. For a single large CSV, ``validate`` splits the file at a record
boundary near its middle; a forked child process validates the second half into a report of
its own while this process validates the first. The parts are then joined:

- the child's results.csv lines are appended (row numbers and order are the file's);
- its rejects, counts and attention lines are added;
- the rows of every (user, skill) key that the first half knows, or that occurs more than once
  in the second half, are fed again, in row order, through this process's validator, whose
  duplicate index then holds what one pass would have: each such row gets the outcome one pass
  would have streamed (replaced in place), and the validator's closing corrections (the earlier
  rows of conflicting keys) come out as one pass gives them. results.csv and rejects.csv are
  then the very files one process writes, line order included.

The split is proposed at a newline after an even number of quote characters, in an encoding
whose newline is one byte (UTF-8, cp1252, latin-1) and a file whose line ends are ``\\n`` or
``\\r\\n``. The count can be fooled (a stray ``27"`` in an unquoted cell is text to a CSV
parser, not a quote), so the proposal is then checked by the only exact judge: this process
parses the first part from the start of the file, and a record must begin exactly on the split
line. If none does, this process reads on to the end and the child's report is discarded: the
result is the one-pass result, only slower. Files that do not meet those conditions are
validated in one process.
"""

from __future__ import annotations

import logging
import mmap
import multiprocessing
import shutil
import tempfile
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from importer.config import Settings
from importer.errors import InputError
from importer.pipeline.signals import rows_until_stopped
from importer.read.csv_file import CsvSource
from importer.read.database import DatabaseSource
from importer.read.reader import InputReader
from importer.records import Action, RowOutcome, SkillRow, SourceRow
from importer.report.writer import ReportWriter
from importer.validate.duplicates import REF_BITS, ROW_BITS, DuplicateState
from importer.validate.shown import Checked, shown_fields
from importer.validate.validator import Validator

__all__ = ["MIN_PARALLEL_BYTES", "MIN_PARALLEL_ROWS", "find_split", "validate_in_two_parts"]

logger = logging.getLogger(__name__)

#: Files smaller than this are validated in one process (a fork costs more than it saves).
MIN_PARALLEL_BYTES = 16 * 1024 * 1024
#: Queries returning fewer rows than this are validated in one process.
MIN_PARALLEL_ROWS = 200_000

_ONE_BYTE_NEWLINE = {"utf-8", "utf-8-sig", "cp1252", "latin-1", "iso-8859-1", "ascii"}
_REF_MASK = (1 << REF_BITS) - 1
_ROW_MASK = (1 << ROW_BITS) - 1

#: Feeds the report from a stream of checked rows; returns how many rows it saw.
StreamChecked = Callable[[Iterator[SkillRow | Checked | RowOutcome], ReportWriter], int]


@dataclass(frozen=True, slots=True)
class Split:
    """Where the second part of a file starts: a byte offset and the line number there."""

    offset: int
    line: int


def find_split(
    source: CsvSource | DatabaseSource,
    min_bytes: int | None = None,
    min_rows: int | None = None,
) -> Split | None:
    """A record boundary near the middle of the source, or None when it must not be split.

    Args:
        source: the checked CSV file, or a query whose rows two reads give in the same order
            (``DatabaseSource.splittable``); its split is a row number (``offset`` rows passed
            over by the second part, which starts at row ``line``).
        min_bytes: smaller files are not split (default ``MIN_PARALLEL_BYTES``).
        min_rows: queries with fewer rows are not split (default ``MIN_PARALLEL_ROWS``).
    """
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return None  # forking a process that runs threads is not safe
    if isinstance(source, DatabaseSource):
        min_rows = MIN_PARALLEL_ROWS if min_rows is None else min_rows
        if not source.splittable:
            return None
        total = source.count_rows()
        return Split(total // 2, total // 2 + 1) if total >= max(min_rows, 2) else None
    min_bytes = MIN_PARALLEL_BYTES if min_bytes is None else min_bytes
    if source.encoding.lower() not in _ONE_BYTE_NEWLINE:
        return None
    size = source.path.stat().st_size
    if size < min_bytes:
        return None
    with (
        source.path.open("rb") as handle,
        mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
    ):
        if data.find(b"\r") != -1 and data[:].count(b"\r") != data[:].count(b"\r\n"):
            return None  # old Mac line ends: line numbers would not match the csv module's
        newline = data.find(b"\n", size // 2)
        quotes = data[:newline].count(b'"') if newline != -1 else 0
        while newline != -1 and quotes % 2:
            following = data.find(b"\n", newline + 1)
            if following == -1:
                return None
            quotes += data[newline:following].count(b'"')
            newline = following
        if newline == -1 or newline + 1 >= size:
            return None
        line = data[: newline + 1].count(b"\n") + 1
    # The header (perhaps below title rows) must lie wholly in the first part.
    return Split(newline + 1, line) if line > source.table.header_row + 1 else None


class _KeepingWriter(ReportWriter):
    """The child's results.csv; it also keeps the invalid outcomes for the parent's rejects."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rejected: dict[int, RowOutcome] = {}

    def add(self, outcome: RowOutcome) -> None:
        if outcome.action is Action.INVALID:
            self._rejected[outcome.row] = outcome
        super().add(outcome)

    @property
    def rejected(self) -> list[RowOutcome]:
        """The invalid outcomes, in row order."""
        return [self._rejected[row] for row in sorted(self._rejected)]


def _second_part(
    source: CsvSource | DatabaseSource,
    split: Split,
    settings: Settings,
    folder: Path,
    stream_checked: StreamChecked,
    connection: Any,
) -> None:
    """Runs in the forked child: validate the second part into a results.csv of its own.

    The child reports what it streamed, nothing more: the corrections of duplicates are the
    parent's, which sees both parts.
    """
    try:
        validator = Validator(settings)
        # The parent's results.xlsx may show the attention lines: keep them when it is wanted.
        formats = ["xlsx"] if "xlsx" in settings.report.formats else []
        writer = _KeepingWriter(folder, formats, "part")
        checked = validator.check(source.iter_rows(start=(split.offset, split.line)))
        rows = stream_checked(checked, writer)
        writer.close()
        table = source.table
        connection.send(
            {
                "results": str(writer.path / "results.csv"),
                "actions": writer.row_actions(table.source, table.sheet),
                "counts": writer.counts,
                "attention": writer.attention_lines(),
                "rejects": writer.rejected,
                "errors": writer.error_part(table.source, table.sheet),
                "rows": rows,
                "blank": source.blank_rows,
                "index": validator.duplicate_state(),
                "map_used": validator.skills_map.used if validator.skills_map else set(),
                "beyond": validator.beyond_state(),
            }
        )
    except BaseException as exc:  # reported to the parent, which fails the run with it
        connection.send({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        connection.close()


def validate_in_two_parts(
    reader: InputReader,
    source: CsvSource | DatabaseSource,
    split: Split,
    settings: Settings,
    writer: ReportWriter,
    stream_checked: StreamChecked,
    stop: Callable[[], bool] | None = None,
) -> list[str]:
    """Validate ``source`` in two processes into ``writer`` (see the module docstring).

    When ``stop`` turns true (Ctrl-C, SIGTERM) this process stops reading after the row being
    read, the second process is ended, and the report holds the rows this process read.

    Returns:
        Warnings for the user (skills map entries that matched nothing in either part).
    """
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    folder = Path(tempfile.mkdtemp(prefix="skills-import-part-"))
    child = context.Process(
        target=_second_part,
        args=(source, split, settings, folder, stream_checked, send),
        daemon=True,
    )
    child.start()
    send.close()
    table = source.table
    try:
        validator = Validator(settings)
        first_half = source.iter_rows(stop_line=split.line)
        if stop is not None:
            first_half = rows_until_stopped(first_half, stop)
        rows = stream_checked(validator.check(first_half), writer)
        if stop is not None and stop():
            child.kill()
            child.join()
            writer.correct(validator.finish(reader.lookup_cells))
            logger.info("%s: interrupted after %d rows of the first half", source.display, rows)
            return []
        if not source.stopped_at_line:
            # The split line lay inside a quoted cell (a stray quote fooled the count), so the
            # child read from the middle of a record. This process read on to the end of the
            # file instead: its report is the one-pass report, and the child's is dropped.
            child.kill()
            child.join()
            writer.correct(validator.finish(reader.lookup_cells))
            logger.info(
                "%s: line %d is not a record boundary; validated in one process",
                source.display,
                split.line,
            )
            warning = validator.unused_map_warning()
            return [warning] if warning else []
        parent_rows, parent_blank = rows, source.blank_rows
        try:
            part: dict[str, Any] = receive.recv()
        except EOFError:
            part = {"error": "the worker process ended without an answer"}
        child.join()
        if "error" in part:
            raise InputError(
                f"validating the second half failed: {part['error']}", path=source.display
            )
        writer.absorb(
            Path(part["results"]),
            table.source,
            table.sheet,
            part["actions"],
            part["counts"],
            part["attention"],
            part["rejects"],
            part["errors"],
        )
        _replay_shared_keys(reader, source, validator, part["index"], writer)
        source.rows = parent_rows + part["rows"]
        source.blank_rows = parent_blank + part["blank"]
        logger.info("validated %s in two processes (split at line %d)", source.display, split.line)
        validator.merge_beyond(part["beyond"])
        scale_error = validator.scale_error()
        if scale_error is not None:
            raise scale_error
        used = validator.skills_map.used | part["map_used"] if validator.skills_map else None
        warning = validator.unused_map_warning(used)
        return [warning] if warning else []
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        shutil.rmtree(folder, ignore_errors=True)


def _replay_shared_keys(
    reader: InputReader,
    source: CsvSource | DatabaseSource,
    validator: Validator,
    later: DuplicateState,
    writer: ReportWriter,
) -> None:
    """Give the rows of keys that span the split, or conflict in the second part, their outcome.

    ``validator`` has seen the first part. The second part's rows of the keys that matter are
    fed through it again in row order; their outcomes replace the child's in place, and the
    validator's closing corrections follow, exactly as one pass would have written them.
    """
    mine = validator.duplicate_state()
    # A key met only in the second part, without a conflict there, came out as one pass gives it.
    keys = (later.first.keys() & mine.first.keys()) | later.conflicts.keys()
    replayed: set[int] = set()
    for key in keys:
        replayed.add(later.first[key] & _ROW_MASK)
        replayed.update(ref & _ROW_MASK for ref in later.repeats.get(key, ()))
        replayed.update(ref & _ROW_MASK for ref in later.conflicts.get(key, ()))
    # The earlier rows of conflicting keys in the first part: their cells go to rejects.csv.
    earlier: set[int] = set()
    for key in mine.conflicts.keys() | (keys & mine.first.keys()):
        earlier.add(mine.first[key] & _ROW_MASK)
        earlier.update(ref & _ROW_MASK for ref in mine.repeats.get(key, ()))
    rows = _source_rows(source, replayed | earlier) if replayed or mine.conflicts else {}
    again = validator.check([rows[row] for row in sorted(replayed) if row in rows])
    # Under first, last or highest a replayed row may now be the one kept, where the second
    # part had it as a duplicate: its valid line replaces that one, like any other outcome.
    keeps = validator.duplicates_policy != "error"
    writer.correct(
        [
            item
            if isinstance(item, RowOutcome)
            else RowOutcome.for_source(item[0], Action.VALID, **shown_fields(item[1]))
            for item in again
            if isinstance(item, RowOutcome) or (keeps and isinstance(item, tuple))
        ],
        in_place=True,
    )
    table = source.table

    def cells_of(
        wanted: Collection[tuple[str, str, int]],
    ) -> Mapping[tuple[str, str, int], tuple[str, ...]]:
        found = {(table.source, table.sheet, row): rows[row].cells for row in rows}
        missing = [key for key in wanted if key not in found]
        if missing:
            found.update(reader.lookup_cells(missing))
        return found

    writer.correct(validator.finish(cells_of))


def _source_rows(
    source: CsvSource | DatabaseSource, wanted: Collection[int]
) -> dict[int, SourceRow]:
    """The rows numbered ``wanted``, read again (the source's row counts are left alone)."""
    counts = source.rows, source.blank_rows
    found = {row.row: row for row in source.iter_rows() if row.row in wanted}
    source.rows, source.blank_rows = counts
    return found
