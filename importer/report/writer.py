"""The report of a run: ``report.dir/<run-id>/``, one line per input row, whatever happened.

Files, in the order they are finished:

- ``results.csv``: one line per input row (and per skill deleted by sync), streamed as
  outcomes arrive. Always written, whatever ``report.formats`` says: it is the record of the
  run. Lines are in input order: ``validate`` streams them so; ``run``, whose outcomes arrive
  per person, sorts them at the end (``importer.report.input_order``, bounded memory).
- ``rejects.csv`` (format ``csv``): invalid and failed rows with their original columns plus
  ``error``, ready to fix and feed back. Always written, header only when nothing failed.
- ``results.xlsx`` (format ``xlsx``): Summary and Results sheets (see ``importer.report.xlsx``).
- ``summary.json`` (format ``json``): written last and atomically, so its presence means the
  report is complete.

Memory stays bounded for millions of rows: outcomes are never held. The writer keeps one byte
per row number of each table (the row's last action, so ``correct`` can adjust the counts)
and, for the xlsx, at most ``xlsx_row_limit`` formatted lines of rows needing attention.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from importer.errors import ConfigError, ExitCode
from importer.records import Action, RowOutcome, SkillRow, SourceRow
from importer.report.error_types import ErrorTallyPart
from importer.report.rejects import RejectsCsv
from importer.report.results import ResultsStream
from importer.report.summary import RunSummary, summary_document, summary_sheet_rows
from importer.report.xlsx import (
    XLSX_ROW_LIMIT,
    XlsxScope,
    decide_scope,
    select_results_lines,
    write_results_xlsx,
)

__all__ = [
    "REPORT_FORMATS",
    "ReportWriter",
    "RunSummary",
    "check_report_dir",
    "new_run_id",
]

logger = logging.getLogger(__name__)

#: The values ``report.formats`` may hold.
REPORT_FORMATS: frozenset[str] = frozenset({"csv", "xlsx", "json"})


def new_run_id(report_dir: Path, now: datetime | None = None) -> str:
    """Reserve a run id and its folder: the UTC time, e.g. ``20261127T142233Z``.

    When ``report_dir/<id>`` exists already (two runs in the same second), ``-2``, ``-3``...
    is appended. The folder is created with ``mkdir(exist_ok=False)``, so two processes can
    never get the same id.

    Args:
        report_dir: the report root (created if missing).
        now: the start time; naive datetimes are taken as UTC. Default: now.
    """
    moment = now or datetime.now(UTC)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    base = moment.strftime("%Y%m%dT%H%M%SZ")
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        for number in itertools.count(1):
            run_id = base if number == 1 else f"{base}-{number}"
            try:
                (report_dir / run_id).mkdir()
            except FileExistsError:
                if not report_dir.is_dir():
                    raise
                continue
            return run_id
    except OSError as exc:
        raise _unusable(report_dir, exc) from None
    raise AssertionError("unreachable")  # pragma: no cover - itertools.count never ends


def check_report_dir(report_dir: Path) -> None:
    """Fail early, before anything is read or sent, when the report root cannot be used.

    Raises:
        ConfigError: ``report_dir`` is a file, or a folder this user cannot write into.
    """
    folder = report_dir
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent  # the nearest existing ancestor is where the folder would go
    if folder.exists() and not folder.is_dir():
        raise _unusable(report_dir, NotADirectoryError(20, "Not a directory"))
    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        raise _unusable(report_dir, PermissionError(13, "Permission denied"))


def _unusable(report_dir: Path, exc: OSError) -> ConfigError:
    reason = exc.strerror or type(exc).__name__
    if report_dir.exists() and not report_dir.is_dir():
        reason = "it is a file, not a folder"
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(report_dir) else ""
    return ConfigError(
        f"report.dir: the report folder {report_dir} cannot be written{where}: {reason}; "
        f"nothing was sent"
    )


class ReportWriter:
    """Writes one run's report folder as outcomes stream in.

    results.csv and rejects.csv are streamed by a ``ResultsStream`` that the writer owns;
    the writer adds results.xlsx and summary.json at ``finish``.

    Args:
        report_dir: the report root; the run's folder ``report_dir/run_id`` is created.
        formats: from ``report.formats``: "csv" (rejects.csv), "xlsx" (results.xlsx),
            "json" (summary.json). results.csv is written in any case.
        run_id: from ``new_run_id``.
        xlsx_row_limit: above this many rows the Results sheet holds only rows that need
            attention (see ``importer.report.xlsx``).

    Raises:
        ValueError: for a format that is not csv, xlsx or json.
    """

    def __init__(
        self,
        report_dir: Path,
        formats: Sequence[str],
        run_id: str,
        *,
        xlsx_row_limit: int = XLSX_ROW_LIMIT,
    ) -> None:
        unknown = sorted(set(formats) - REPORT_FORMATS)
        if unknown:
            raise ValueError(f"unknown report format(s) {', '.join(unknown)}; use csv, xlsx, json")
        self.path = report_dir / run_id
        self._formats = frozenset(formats)
        self._xlsx_row_limit = xlsx_row_limit
        rejects = RejectsCsv(self.path / "rejects.csv") if "csv" in formats else None
        attention = xlsx_row_limit if "xlsx" in formats else 0
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._stream = ResultsStream(self.path / "results.csv", rejects, attention)
        except OSError as exc:
            raise _unusable(report_dir, exc) from None
        self._closed = False
        #: The exit code of a run whose report could not be written completely: a usage error
        #: (nothing sent) by default; ``run`` raises it to a safety stop once it sends.
        self.failure_exit = ExitCode.USAGE
        #: When a set, the user (case-folded) of every outcome added goes into it (a sync run
        #: with the confirmed state notes who the file names in rows that are not written).
        self.seen_users: set[str] | None = None

    def __enter__(self) -> ReportWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def counts(self) -> dict[str, int]:
        """Rows per action value so far, every action present (zeros included)."""
        return self._stream.counts

    @property
    def failure(self) -> str | None:
        """Why a report file could not be written (the first failure), or None."""
        return self._stream.failure

    def on_failure(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` once, when a report file first fails to be written."""
        self._stream.on_failure = callback

    def add(self, outcome: RowOutcome) -> None:
        """Record one outcome (see ``ResultsStream.add``)."""
        self._stream.add(outcome)
        if self.seen_users is not None:
            self.seen_users.add(outcome.user.casefold())

    def add_person_rows(self, rows: Sequence[SkillRow], action: Action, changes: str) -> None:
        """Record one person's rows with one outcome and ``changes`` each (the rows the
        confirmed state skips; see ``ResultsStream.add_person_rows``)."""
        self._stream.add_person_rows(rows, action, changes)
        if self.seen_users is not None and rows:
            self.seen_users.update(row.user.casefold() for row in rows)

    def add_source_row(
        self,
        source_row: SourceRow,
        action: Action = Action.VALID,
        values: tuple[str, ...] = ("", "", "", "", ""),
    ) -> None:
        """Record an outcome without details from its input row and its normalised values
        (see ``ResultsStream.add_source_row``)."""
        self._stream.add_source_row(source_row, action, values)

    def add_valid_rows(self, checked: Sequence[tuple[SourceRow, tuple[str, ...]]]) -> None:
        """Record a run of ``valid`` rows with their values (``ResultsStream.add_valid_rows``)."""
        self._stream.add_valid_rows(checked)

    def order_by_input(self, tables: Sequence[tuple[str, str]]) -> None:
        """Write results.csv in input order at ``finish``: ``tables`` (source, sheet) as read.

        For ``run``, whose outcomes arrive person by person; ``validate`` streams in order.
        """
        self._stream.order_by_input(tables)

    def correct(self, outcomes: Iterable[RowOutcome], *, in_place: bool = False) -> None:
        """Replace earlier outcomes of the same rows (see ``ResultsStream.correct``)."""
        self._stream.correct(outcomes, in_place=in_place)

    def absorb(
        self,
        results: Path,
        source: str,
        sheet: str,
        actions: bytes,
        counts: dict[str, int],
        attention: list[str],
        rejects: Iterable[RowOutcome],
        errors: ErrorTallyPart | None = None,
    ) -> None:
        """Append a later part of a table that another process reported (``ResultsStream``)."""
        self._stream.absorb(results, source, sheet, actions, counts, attention, rejects, errors)

    def error_part(self, source: str, sheet: str) -> ErrorTallyPart:
        """The error types of one table so far, for ``absorb`` in another process's writer."""
        return self._stream.errors.part(source, sheet)

    def attention_lines(self) -> list[str]:
        """The results.csv lines kept for results.xlsx (rows needing attention)."""
        return self._stream.attention_lines()

    def row_actions(self, source: str, sheet: str) -> bytes:
        """The action code of every row of one table so far (see ``ResultsStream``)."""
        return self._stream.row_actions(source, sheet)

    def finish(self, summary: RunSummary) -> Path:
        """Write the remaining files, close everything and fill ``summary.counts``.

        Returns:
            The run's report folder.
        """
        stream = self._stream
        stream.finish()
        files = ["results.csv"]
        if "csv" in self._formats:
            files.append("rejects.csv")
        summary.counts = stream.counts
        summary.error_types = stream.errors.table()
        scope = None
        # A workbook built from a results.csv that stopped short would mislead: left out.
        if "xlsx" in self._formats and stream.failure is None:
            scope = decide_scope(summary.counts, self._xlsx_row_limit)
            # The attention lines kept while streaming are exactly what an incomplete sheet
            # shows, unless corrections changed rows after they were kept.
            lines: Iterable[list[str]] = (
                csv.reader(stream.attention_lines())
                if not scope.complete and not stream.corrected
                else select_results_lines(stream.results_path, scope)
            )
            sheet = summary_sheet_rows(summary, scope.note)
            try:
                write_results_xlsx(self.path / "results.xlsx", lines, sheet.rows, sheet.action_rows)
                files.append("results.xlsx")
            except OSError as exc:
                stream.fail("results.xlsx", exc)
        if stream.failure is not None:
            summary.exit_code = self.failure_exit
            summary.reason = f"the report is incomplete: {stream.failure}"
        if "json" in self._formats:
            self._write_summary(summary, [*files, "summary.json"], scope)
        self.close()
        if stream.failure is None:
            logger.info("report written to %s", self.path)
        return self.path

    def _write_summary(
        self, summary: RunSummary, files: list[str], scope: XlsxScope | None
    ) -> None:
        """summary.json, atomically; it is small, so it is tried even after a failure."""
        temporary = self.path / "summary.json.tmp"
        try:
            text = json.dumps(summary_document(summary, files, scope), indent=2, ensure_ascii=False)
            temporary.write_text(text + "\n", "utf-8", errors="backslashreplace")
            temporary.replace(self.path / "summary.json")
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            first = self._stream.failure is None
            self._stream.fail("summary.json", exc)
            if first:  # the summary itself was the first failure: say so where it can be seen
                summary.exit_code = self.failure_exit
                summary.reason = f"the report is incomplete: {self._stream.failure}"

    def close(self) -> None:
        """Flush and close the files; idempotent. Used on abnormal exit."""
        if self._closed:
            return
        self._closed = True
        self._stream.close()
