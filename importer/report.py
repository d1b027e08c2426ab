"""The report of a run: ``report.dir/<run-id>/`` (DESIGN section 7).

Files, in the order they are finished:

- ``results.csv``: one line per input row (and per skill deleted by sync), streamed as
  outcomes arrive. Always written, whatever ``report.formats`` says: it is the record of the
  run. Lines are in arrival order (input order for ``validate``; per user for ``run``).
- ``rejects.csv`` (format ``csv``): invalid and failed rows with their original columns plus
  ``error``, ready to fix and feed back. Always written, header only when nothing failed.
- ``results.xlsx`` (format ``xlsx``): Summary and Results sheets, built from results.csv.
- ``summary.json`` (format ``json``): written last and atomically, so its presence means the
  report is complete.

Memory stays bounded for millions of rows: outcomes are never held. To let ``correct`` adjust
the counts, the writer keeps one byte per row number of each table (the last action).
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO

from importer.records import Action, InputSummary, RowOutcome
from importer.report_csv import (
    FORMULA_PREFIXES,
    REJECT_ACTIONS,
    RESULT_COLUMNS,
    RejectsCsv,
    csv_line,
    open_csv,
    replace_results_rows,
    result_row,
)
from importer.report_summary import summary_document, summary_sheet_rows
from importer.report_xlsx import XLSX_ROW_LIMIT, decide_scope, write_results_xlsx

__all__ = [
    "REPORT_FORMATS",
    "ReportWriter",
    "RunSummary",
    "new_run_id",
]

logger = logging.getLogger(__name__)

#: The values ``report.formats`` may hold.
REPORT_FORMATS: frozenset[str] = frozenset({"csv", "xlsx", "json"})

_ACTIONS: tuple[Action, ...] = tuple(Action)
# Actions as small integers: list indexes for the counts, bytes in the per-table index.
_CODES: dict[str, int] = {action.value: code for code, action in enumerate(_ACTIONS, start=1)}
_TEXT: tuple[str, ...] = ("", *(action.value for action in _ACTIONS))
_REJECT_CODES = frozenset(_CODES[action] for action in REJECT_ACTIONS)
_FLUSH_ROWS = 4096
_COMMAS = len(RESULT_COLUMNS) - 1


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


@dataclass
class RunSummary:
    """What summary.json and the Summary sheet say about a run.

    Attributes:
        run_id: the report folder's name.
        command: "run" or "validate".
        started, finished: aware datetimes (written as UTC).
        target: where rows went, in words ("built-in sandbox (nothing sent to ...)" or a URL).
        mode: create, upsert or sync ("" for validate).
        dry_run: True when nothing was written.
        inputs: one summary per input file.
        blank_rows: fully blank rows skipped, over all inputs.
        http: the dispatcher's figures (requests, batches, throttled, retries, ...).
        exit_code: the process exit code.
        reason: one line saying why this exit code.
        warnings: things the user should know (unknown columns ignored...).
        counts: rows per action; filled by ``ReportWriter.finish``.
    """

    run_id: str
    command: str
    started: datetime
    finished: datetime
    target: str
    mode: str
    dry_run: bool
    inputs: list[InputSummary]
    blank_rows: int
    http: dict[str, int]
    exit_code: int
    reason: str
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


class ReportWriter:
    """Writes one run's report folder as outcomes stream in.

    Args:
        report_dir: the report root; the run's folder ``report_dir/run_id`` is created.
        formats: from ``report.formats``: "csv" (rejects.csv), "xlsx" (results.xlsx),
            "json" (summary.json). results.csv is written in any case.
        run_id: from ``new_run_id``.
        xlsx_row_limit: above this many rows the Results sheet holds only rows that need
            attention (see ``importer.report_xlsx``).
        column_key: folds a header cell to decide which columns of different tables are the
            same rejects.csv column; the pipeline may pass the header matcher's field lookup.

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
        column_key: Callable[[str], str] | None = None,
    ) -> None:
        unknown = sorted(set(formats) - REPORT_FORMATS)
        if unknown:
            raise ValueError(f"unknown report format(s) {', '.join(unknown)}; use csv, xlsx, json")
        self.path = report_dir / run_id
        self.path.mkdir(parents=True, exist_ok=True)
        self._formats = frozenset(formats)
        self._xlsx_row_limit = xlsx_row_limit
        self._results_path = self.path / "results.csv"
        self._results: IO[str] | None = open_csv(self._results_path, "w")
        self._results.write(csv_line(RESULT_COLUMNS) + "\r\n")
        self._buffer: list[str] = []
        self._rejects = (
            RejectsCsv(self.path / "rejects.csv", column_key) if "csv" in self._formats else None
        )
        self._counts = [0] * len(_TEXT)
        # Last action per row number, per table: what `correct` needs to adjust the counts.
        self._actions: dict[tuple[str, str], bytearray] = {}
        self._table_source: str | None = None
        self._table_sheet: str | None = None
        self._table_actions = bytearray()
        self._source_cell = ""
        self._sheet_cell = ""
        self._need_template = True
        self._corrections: dict[tuple[str, str, int], RowOutcome] = {}
        self._removed_rejects: set[tuple[str, str, int]] = set()
        self._closed = False
        self._files: list[str] = ["results.csv"]

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
        return {_TEXT[code]: self._counts[code] for code in range(1, len(_TEXT))}

    def add(self, outcome: RowOutcome) -> None:
        """Record one outcome: a line of results.csv (and of rejects.csv if invalid/failed)."""
        o = outcome
        code = _CODES[o.action]
        self._counts[code] += 1
        if o.source is not self._table_source or o.sheet is not self._table_sheet:
            self._switch_table(o.source, o.sheet)
        row = o.row
        if row > 0:
            actions = self._table_actions
            if row >= len(actions):
                actions.extend(bytes(max(row + 1 - len(actions), len(actions))))
            actions[row] = code
        status = o.status
        line = (
            f"{self._source_cell},{self._sheet_cell},{row},{o.user},{o.display_name},{_TEXT[code]},"
            f"{'' if status is None else status},{o.skill_id},{o.attempts},{o.error_type},"
            f"{o.error},{o.request_id}"
        )
        # Most lines need neither quoting nor neutralising: this direct format is about three
        # times faster than csv.writer. A quote, a line break, a cell starting with a formula
        # character (after a comma) or an extra comma sends the line the careful way.
        if (
            '"' in line
            or "\n" in line
            or "\r" in line
            or ",=" in line
            or ",+" in line
            or ",-" in line
            or ",@" in line
            or ",\t" in line
            or ",\0" in line
            or line.count(",") != _COMMAS
        ):
            line = csv_line(result_row(o, self._source_cell, self._sheet_cell))
        buffer = self._buffer
        buffer.append(line)
        if len(buffer) >= _FLUSH_ROWS:
            self._flush()
        rejects = self._rejects
        if rejects is not None:
            if code in _REJECT_CODES:
                rejects.add(o)
            elif self._need_template and o.header:
                rejects.note_header(o.header)
                self._need_template = False

    def correct(self, outcomes: Iterable[RowOutcome]) -> None:
        """Replace earlier outcomes of the same rows (same source, sheet and row).

        Used for conflicting duplicates found at the end of validation. Counts change at
        once; results.csv and rejects.csv are rewritten at ``finish`` so that each row appears
        exactly once, with its corrected outcome. An outcome for a row never added before is
        simply added at the end.
        """
        for outcome in outcomes:
            key = (outcome.source, outcome.sheet, outcome.row)
            code = _CODES[outcome.action]
            previous = self._last_code(outcome)
            if previous:
                self._counts[previous] -= 1
                if previous in _REJECT_CODES and key not in self._corrections:
                    self._removed_rejects.add(key)
            self._counts[code] += 1
            if outcome.row > 0:
                self._switch_table(outcome.source, outcome.sheet)
                actions = self._table_actions
                if outcome.row >= len(actions):
                    actions.extend(bytes(outcome.row + 1 - len(actions)))
                actions[outcome.row] = code
            self._corrections[key] = outcome

    def finish(self, summary: RunSummary) -> Path:
        """Write the remaining files, close everything and fill ``summary.counts``.

        Returns:
            The run's report folder.
        """
        self._flush()
        if self._results is not None:
            self._results.close()
            self._results = None
        if self._corrections:
            logger.debug("rewriting results.csv for %d corrected rows", len(self._corrections))
            replace_results_rows(self._results_path, self._corrections)
        if self._rejects is not None:
            self._rejects.finish(self._removed_rejects, self._corrections.values())
            self._files.append("rejects.csv")
        summary.counts = self.counts
        scope = None
        if "xlsx" in self._formats:
            scope = decide_scope(summary.counts, self._xlsx_row_limit)
            write_results_xlsx(
                self.path / "results.xlsx",
                self._results_path,
                summary_sheet_rows(summary, scope.note),
                scope,
            )
            self._files.append("results.xlsx")
        if "json" in self._formats:
            self._files.append("summary.json")
            document = summary_document(summary, self._files, scope)
            temporary = self.path / "summary.json.tmp"
            temporary.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
            temporary.replace(self.path / "summary.json")
        self.close()
        logger.info("report written to %s", self.path)
        return self.path

    def close(self) -> None:
        """Flush and close the files; idempotent. Used on abnormal exit."""
        if self._closed:
            return
        self._closed = True
        try:
            self._flush()
        finally:
            if self._results is not None:
                self._results.close()
                self._results = None
            if self._rejects is not None:
                self._rejects.close()

    def _switch_table(self, source: str, sheet: str) -> None:
        table = (source, sheet)
        self._table_source, self._table_sheet = source, sheet
        self._table_actions = self._actions.setdefault(table, bytearray())
        self._source_cell = "'" + source if source[:1] in FORMULA_PREFIXES else source
        self._sheet_cell = "'" + sheet if sheet[:1] in FORMULA_PREFIXES else sheet

    def _last_code(self, outcome: RowOutcome) -> int:
        actions = self._actions.get((outcome.source, outcome.sheet))
        if outcome.row <= 0 or actions is None or outcome.row >= len(actions):
            return 0
        return actions[outcome.row]

    def _flush(self) -> None:
        if self._buffer and self._results is not None:
            self._results.write("\r\n".join(self._buffer))
            self._results.write("\r\n")
        self._buffer.clear()
