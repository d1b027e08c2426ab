"""Offline validation of one large CSV file on two cores.

A million-row file spends most of its time reading, validating and writing results.csv, all
in one CPython thread. For a single large CSV, ``validate`` splits the file at a record
boundary near its middle; a forked child process validates the second half into a report of
its own while this process validates the first. The parts are then joined:

- the child's results.csv lines are appended (row numbers and order are the file's);
- its rejects, counts and attention lines are added;
- its duplicate index is merged with ours: a (user, skill) key seen in both halves makes the
  child's first row a ``duplicate`` when the values are the same, and every row of the key
  ``invalid`` (conflicting-duplicate) when they differ, exactly as one pass would have decided.

The split is only made where it is certainly a record boundary: a newline after an even number
of quote characters, in an encoding whose newline is one byte (UTF-8, cp1252, latin-1) and a
file whose line ends are ``\\n`` or ``\\r\\n``. Otherwise validation stays in one process.
"""

from __future__ import annotations

import functools
import logging
import mmap
import multiprocessing
import shutil
import tempfile
import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from importer.config import Settings
from importer.errors import InputError
from importer.read.csv_file import CsvSource
from importer.read.reader import InputReader, cells_of_rows
from importer.records import Action, RowOutcome, SkillRow, SourceRow
from importer.report.writer import ReportWriter, RunSummary
from importer.validate.duplicates import (
    CONFLICTING_DUPLICATE,
    REF_BITS,
    ROW_BITS,
    DuplicateState,
    conflict_message,
)
from importer.validate.validator import Validator

__all__ = ["MIN_PARALLEL_BYTES", "find_split", "validate_in_two_parts"]

logger = logging.getLogger(__name__)

#: Files smaller than this are validated in one process (a fork costs more than it saves).
MIN_PARALLEL_BYTES = 16 * 1024 * 1024

_ONE_BYTE_NEWLINE = {"utf-8", "utf-8-sig", "cp1252", "latin-1", "iso-8859-1", "ascii"}
_REF_MASK = (1 << REF_BITS) - 1
_ROW_MASK = (1 << ROW_BITS) - 1

#: Feeds the report from a stream of checked rows; returns how many rows it saw.
StreamChecked = Callable[[Iterator[SkillRow | SourceRow | RowOutcome], ReportWriter], int]


@dataclass(frozen=True, slots=True)
class Split:
    """Where the second part of a file starts: a byte offset and the line number there."""

    offset: int
    line: int


def find_split(source: CsvSource, min_bytes: int | None = None) -> Split | None:
    """A record boundary near the middle of the file, or None when it must not be split.

    Args:
        source: the checked CSV file.
        min_bytes: smaller files are not split (default ``MIN_PARALLEL_BYTES``).
    """
    min_bytes = MIN_PARALLEL_BYTES if min_bytes is None else min_bytes
    if source.encoding.lower() not in _ONE_BYTE_NEWLINE:
        return None
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return None  # forking a process that runs threads is not safe
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


def _cells_in_part(
    source: CsvSource, split: Split, wanted: Collection[tuple[str, str, int]]
) -> dict[tuple[str, str, int], tuple[str, ...]]:
    """The original cells of some rows of the second part (read again from the split on)."""
    return cells_of_rows(source, source.iter_rows(start=(split.offset, split.line)), wanted)


class _KeepingWriter(ReportWriter):
    """The child's report, which also keeps its invalid outcomes for the parent's rejects.csv."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rejected: dict[int, RowOutcome] = {}

    def add(self, outcome: RowOutcome) -> None:
        if outcome.action is Action.INVALID:
            self._rejected[outcome.row] = outcome
        super().add(outcome)

    def correct(self, outcomes: Iterable[RowOutcome]) -> None:
        outcomes = list(outcomes)
        for outcome in outcomes:
            if outcome.action is Action.INVALID:
                self._rejected[outcome.row] = outcome
            else:
                self._rejected.pop(outcome.row, None)
        super().correct(outcomes)

    @property
    def rejected(self) -> list[RowOutcome]:
        """The invalid outcomes, in row order."""
        return [self._rejected[row] for row in sorted(self._rejected)]


def _summary(run_id: str) -> RunSummary:
    now = datetime.now(UTC)
    return RunSummary(
        run_id=run_id,
        command="validate",
        started=now,
        finished=now,
        target="",
        mode="",
        dry_run=True,
        inputs=[],
        blank_rows=0,
        http={},
        exit_code=0,
        reason="",
    )


def _second_part(
    source: CsvSource,
    split: Split,
    settings: Settings,
    folder: Path,
    stream_checked: StreamChecked,
    connection: Any,
) -> None:
    """Runs in the forked child: validate the second part into a report of its own."""
    try:
        validator = Validator(settings)
        writer = _KeepingWriter(folder, ["csv"], "part", xlsx_row_limit=1 << 30)
        checked = validator.check(source.iter_rows(start=(split.offset, split.line)))
        rows = stream_checked(checked, writer)
        writer.correct(validator.finish(functools.partial(_cells_in_part, source, split)))
        rejects = writer.rejected
        writer.finish(_summary("part"))
        table = source.table
        connection.send(
            {
                "results": str(writer.path / "results.csv"),
                "actions": writer.row_actions(table.source, table.sheet),
                "counts": writer.counts,
                "attention": writer.attention_lines(),
                "rejects": rejects,
                "rows": rows,
                "blank": source.blank_rows,
                "index": validator.duplicate_state(),
                "map_used": validator.skills_map.used if validator.skills_map else set(),
            }
        )
    except BaseException as exc:  # reported to the parent, which fails the run with it
        connection.send({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        connection.close()


def validate_in_two_parts(
    reader: InputReader,
    source: CsvSource,
    split: Split,
    settings: Settings,
    writer: ReportWriter,
    stream_checked: StreamChecked,
) -> list[str]:
    """Validate ``source`` in two processes into ``writer`` (see the module docstring).

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
        rows = stream_checked(validator.check(source.iter_rows(stop_line=split.line)), writer)
        parent_rows, parent_blank = rows, source.blank_rows
        own = validator.finish()  # their cells are looked up below, with the merged ones
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
        )
        changes = _shared_key_changes(validator.duplicate_state(), part["index"])
        wanted = {(o.source, o.sheet, o.row) for o in own}
        wanted |= {(table.source, table.sheet, row) for row in changes}
        found = reader.lookup_cells(wanted) if wanted else {}
        corrections = [
            replace(o, cells=found.get((o.source, o.sheet, o.row), o.cells)) for o in own
        ]
        corrections = [c for c in corrections if c.row not in changes]
        for row, change in sorted(changes.items()):
            cells = found.get((table.source, table.sheet, row), ())
            corrections.append(_outcome(source, row, change, cells, validator.mapped_name))
        if corrections:
            writer.correct(corrections)
        source.rows = parent_rows + part["rows"]
        source.blank_rows = parent_blank + part["blank"]
        logger.info("validated %s in two processes (split at line %d)", source.display, split.line)
        used = validator.skills_map.used | part["map_used"] if validator.skills_map else None
        warning = validator.unused_map_warning(used)
        return [warning] if warning else []
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        shutil.rmtree(folder, ignore_errors=True)


def _shared_key_changes(
    first: DuplicateState, second: DuplicateState
) -> dict[int, tuple[Action, str]]:
    """Rows whose outcome changes because their (user, skill) key occurs in both parts.

    Returns:
        row -> (new action, the rows to name in its message).
    """
    changes: dict[int, tuple[Action, str]] = {}
    for key in first.first.keys() & second.first.keys():
        head, tail = first.first[key], second.first[key]
        ours = [head, *first.repeats.get(key, ()), *first.conflicts.get(key, ())]
        theirs = [tail, *second.repeats.get(key, ()), *second.conflicts.get(key, ())]
        rows = [ref & _ROW_MASK for ref in (*ours, *theirs)]
        same = head >> REF_BITS == tail >> REF_BITS
        if key in first.conflicts or key in second.conflicts or not same:
            for row in rows:
                others = ", ".join(str(other) for other in rows if other != row)
                changes[row] = (Action.INVALID, others)
        else:
            changes[tail & _ROW_MASK] = (Action.DUPLICATE, str(head & _ROW_MASK))
    return changes


def _outcome(
    source: CsvSource,
    row: int,
    change: tuple[Action, str],
    cells: tuple[str, ...],
    mapped_name: Callable[[str], str],
) -> RowOutcome:
    table = source.table
    user_at, name_at = table.mapping["user"], table.mapping["displayName"]
    user = cells[user_at].strip() if user_at < len(cells) else ""
    name = cells[name_at].strip() if name_at < len(cells) else ""
    action, detail = change
    if action is Action.DUPLICATE:
        name = mapped_name(name)  # as one process reports it: invalid rows show the cell
    if action is Action.DUPLICATE:
        error_type, error = "", f"same as row {detail}"
    else:
        label = "rows" if "," in detail else "row"
        error_type = CONFLICTING_DUPLICATE
        error = conflict_message(user, name, f"{label} {detail}")
    return RowOutcome(
        source=table.source,
        sheet=table.sheet,
        row=row,
        user=user,
        display_name=name,
        action=action,
        error_type=error_type,
        error=error,
        header=table.header,
        cells=cells,
    )
