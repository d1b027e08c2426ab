"""The report of a run: ``report.dir/<run-id>/``, one line per input row, whatever happened.

Files, in the order they are finished:

- ``results.csv``: one line per input row (and per skill deleted by sync), streamed as
  outcomes arrive. Always written, whatever ``report.formats`` says: it is the record of the
  run. Lines are in arrival order (input order for ``validate``; per user for ``run``).
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

import csv
import itertools
import json
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from importer.records import Action, RowOutcome, SourceRow
from importer.report.error_types import ErrorTallyPart
from importer.report.rejects import RejectsCsv
from importer.report.results import ResultsStream
from importer.report.summary import RunSummary, summary_document, summary_sheet_rows
from importer.report.xlsx import (
    XLSX_ROW_LIMIT,
    decide_scope,
    select_results_lines,
    write_results_xlsx,
)

__all__ = [
    "REPORT_FORMATS",
    "ReportWriter",
    "RunSummary",
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
    report_dir.mkdir(parents=True, exist_ok=True)
    for number in itertools.count(1):
        run_id = base if number == 1 else f"{base}-{number}"
        try:
            (report_dir / run_id).mkdir()
        except FileExistsError:
            continue
        return run_id
    raise AssertionError("unreachable")  # pragma: no cover - itertools.count never ends


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
        self.path.mkdir(parents=True, exist_ok=True)
        self._formats = frozenset(formats)
        self._xlsx_row_limit = xlsx_row_limit
        rejects = RejectsCsv(self.path / "rejects.csv") if "csv" in formats else None
        attention = xlsx_row_limit if "xlsx" in formats else 0
        self._stream = ResultsStream(self.path / "results.csv", rejects, attention)
        self._closed = False

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

    def add(self, outcome: RowOutcome) -> None:
        """Record one outcome (see ``ResultsStream.add``)."""
        self._stream.add(outcome)

    def add_source_row(self, source_row: SourceRow, action: Action = Action.VALID) -> None:
        """Record an outcome without details from its input row (``ResultsStream``)."""
        self._stream.add_source_row(source_row, action)

    def add_valid_rows(self, source_rows: list[SourceRow]) -> None:
        """Record a run of ``valid`` rows (see ``ResultsStream.add_valid_rows``)."""
        self._stream.add_valid_rows(source_rows)

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
        if "xlsx" in self._formats:
            scope = decide_scope(summary.counts, self._xlsx_row_limit)
            # The attention lines kept while streaming are exactly what an incomplete sheet
            # shows, unless corrections changed rows after they were kept.
            lines: Iterable[list[str]] = (
                csv.reader(stream.attention_lines())
                if not scope.complete and not stream.corrected
                else select_results_lines(stream.results_path, scope)
            )
            sheet = summary_sheet_rows(summary, scope.note)
            write_results_xlsx(self.path / "results.xlsx", lines, sheet.rows, sheet.action_rows)
            files.append("results.xlsx")
        if "json" in self._formats:
            files.append("summary.json")
            document = summary_document(summary, files, scope)
            temporary = self.path / "summary.json.tmp"
            text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
            temporary.write_text(text, "utf-8", errors="backslashreplace")
            temporary.replace(self.path / "summary.json")
        self.close()
        logger.info("report written to %s", self.path)
        return self.path

    def close(self) -> None:
        """Flush and close the files; idempotent. Used on abnormal exit."""
        if self._closed:
            return
        self._closed = True
        self._stream.close()
