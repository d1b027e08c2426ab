"""What a run's summary says, as summary.json and as the Summary sheet of results.xlsx.

Both are built from the same ``RunSummary`` so they never disagree. Times are UTC ISO 8601
with a ``Z``; counts list every action, zeros included, so a scheduler can read
``counts.failed`` without checking that the key exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from importer.records import Action, InputSummary
from importer.report.xlsx import XlsxScope

__all__ = [
    "HTTP_FIGURES",
    "RunSummary",
    "SummarySheet",
    "iso_utc",
    "summary_document",
    "summary_sheet_rows",
]

#: HTTP figures always present in summary.json (0 when nothing was sent).
HTTP_FIGURES: tuple[str, ...] = ("requests", "batches", "throttled", "retries")


@dataclass
class RunSummary:
    """What summary.json and the Summary sheet say about a run.

    Attributes:
        run_id: the report folder's name.
        command: "run" or "validate".
        started, finished: aware datetimes (written as UTC; naive ones are taken as UTC).
        target: where rows went, in words ("built-in sandbox (nothing sent to ...)" or a URL).
        mode: create, upsert or sync ("" for validate).
        dry_run: True when nothing was written.
        inputs: one summary per input file.
        blank_rows: fully blank rows skipped, over all inputs.
        http: the dispatcher's figures (requests, batches, throttled, retries, ...).
        exit_code: the process exit code.
        reason: one line saying why this exit code.
        warnings: things the user should know (unknown columns ignored...).
        layouts: the layout chosen per table, as the log says it.
        throttling: the gate's totals (waits, waited_s, accepted_rate); empty when no Graph.
        error_types: rows per error type with an example each; filled by ``finish``.
        counts: rows per action; filled by ``ReportWriter.finish``.
        users: how the users were resolved (key, strategy, directory requests); empty for
            ``validate``.
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
    users: dict[str, Any] = field(default_factory=dict)
    #: The layout chosen per table: source, sheet, layout, how, skill_columns.
    layouts: list[dict[str, Any]] = field(default_factory=list)
    throttling: dict[str, Any] = field(default_factory=dict)
    error_types: list[dict[str, Any]] = field(default_factory=list)
    #: How the confirmed state was used: people skipped by it, verified, planned, leavers,
    #: and why the run listed everyone when it did; empty when no state was used.
    state: dict[str, Any] = field(default_factory=dict)
    #: What the final duplicate sweep did: people checked, extra copies removed, people it
    #: could not check, and the 404s its deletes got; empty when it had nothing to check.
    sweep: dict[str, int] = field(default_factory=dict)


def iso_utc(moment: datetime) -> str:
    """Format a datetime as UTC ISO 8601 with milliseconds and ``Z`` (naive = UTC)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _duration_s(summary: RunSummary) -> float:
    return round((summary.finished - summary.started).total_seconds(), 3)


def _counts(summary: RunSummary) -> dict[str, int]:
    return {action.value: summary.counts.get(action.value, 0) for action in Action}


def _http(summary: RunSummary) -> dict[str, int]:
    return {**dict.fromkeys(HTTP_FIGURES, 0), **summary.http}


def _layout(summary: RunSummary) -> str:
    """The one layout of every table, "mixed" when they differ, "" when none was decided."""
    kinds = {str(item["layout"]) for item in summary.layouts}
    return kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else "")


def _throttling(summary: RunSummary) -> dict[str, Any]:
    return {"waits": 0, "waited_s": 0.0, "accepted_rate": None, **summary.throttling}


def summary_document(
    summary: RunSummary, files: Sequence[str], scope: XlsxScope | None
) -> dict[str, Any]:
    """Return the content of summary.json.

    Args:
        summary: the run, with ``counts`` filled.
        files: the report files written (names inside the run's folder).
        scope: what the Results sheet of results.xlsx holds, or None without xlsx.
    """
    counts = _counts(summary)
    document: dict[str, Any] = {
        "run_id": summary.run_id,
        "command": summary.command,
        "started": iso_utc(summary.started),
        "finished": iso_utc(summary.finished),
        "duration_s": _duration_s(summary),
        "target": summary.target,
        "mode": summary.mode,
        "dry_run": summary.dry_run,
        "inputs": [
            {
                "path": item.path,
                "sha256": item.sha256,
                "rows": item.rows,
                "blank_rows": item.blank_rows,
                "sheets": list(item.sheets),
            }
            for item in summary.inputs
        ],
        "rows": sum(counts.values()),
        "counts": counts,
        "blank_rows": summary.blank_rows,
        "http": _http(summary),
        "throttling": _throttling(summary),
        "error_types": list(summary.error_types),
        "exit_code": summary.exit_code,
        "reason": summary.reason,
        "layout": _layout(summary),
        "layouts": list(summary.layouts),
        "warnings": list(summary.warnings),
        "files": list(files),
    }
    if summary.users:
        document["users"] = dict(summary.users)
    if summary.state:
        document["state"] = dict(summary.state)
    if summary.sweep:
        document["sweep"] = dict(summary.sweep)
    if scope is not None:
        document["xlsx_results"] = {
            "complete": scope.complete,
            "rows": scope.rows,
            "note": scope.note,
        }
    return document


@dataclass(frozen=True, slots=True)
class SummarySheet:
    """The Summary sheet of results.xlsx.

    Attributes:
        rows: lines of cells: (label, value) pairs, a label with value None is a heading,
            and the error-type table has a third cell (the example).
        action_rows: the first and last sheet row (1-based) of the rows-per-action lines,
            which the chart plots; None when no row was reported.
    """

    rows: list[tuple[Any, ...]]
    action_rows: tuple[int, int] | None


def summary_sheet_rows(summary: RunSummary, xlsx_note: str) -> SummarySheet:
    """Return the Summary sheet: the run, rows per action (those with rows), error types with
    an example each, inputs, HTTP and throttling figures, and warnings."""
    counts = _counts(summary)
    rows: list[tuple[Any, ...]] = [
        ("Run", None),
        ("Run id", summary.run_id),
        ("Command", summary.command),
        ("Target", summary.target),
        ("Mode", summary.mode or "(none: validation only)"),
        ("Dry run", "yes" if summary.dry_run else "no"),
        ("Started (UTC)", iso_utc(summary.started)),
        ("Finished (UTC)", iso_utc(summary.finished)),
        ("Duration (s)", _duration_s(summary)),
        ("Exit code", summary.exit_code),
        ("Reason", summary.reason),
        ("", ""),
        ("Rows", None),
        ("Rows reported", sum(counts.values())),
        ("Blank rows skipped", summary.blank_rows),
        ("Results sheet", xlsx_note),
        ("", ""),
        ("Rows per action", None),
    ]
    # Only actions with rows: the chart plots these lines (summary.json lists every action).
    first = len(rows) + 1
    rows += [(action, count) for action, count in counts.items() if count]
    action_rows = (first, len(rows)) if len(rows) >= first else None
    if summary.error_types:
        rows += [("", ""), ("Error types", None), ("error type", "rows", "example")]
        rows += [(item["type"], item["rows"], item["example"]) for item in summary.error_types]
    rows += [("", ""), ("Inputs", None)]
    for item in summary.inputs:
        sheets = f", sheets: {', '.join(item.sheets)}" if item.sheets else ""
        rows.append(
            (
                item.path,
                f"{item.rows} rows, {item.blank_rows} blank{sheets}; sha256 {item.sha256}",
            )
        )
    rows += [("", ""), ("HTTP", None)]
    rows += list(_http(summary).items())
    throttling = _throttling(summary)
    rows += [
        ("Throttling waits", throttling["waits"]),
        ("Time waited (s)", throttling["waited_s"]),
        ("Accepted rate (req/s)", throttling["accepted_rate"] or ""),
    ]
    if summary.warnings:
        rows += [("", ""), ("Warnings", None)]
        rows += [("Warning", warning) for warning in summary.warnings]
    return SummarySheet(rows, action_rows)
