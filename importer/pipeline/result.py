"""What a command hands back to the CLI, and the exit code that follows from the row counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from importer.errors import ExitCode
from importer.records import Action
from importer.report.writer import RunSummary

__all__ = [
    "GraphWork",
    "RunResult",
    "StateOptions",
    "exit_for",
    "exit_reason",
    "read_interrupted_reason",
]


@dataclass(slots=True)
class RunResult:
    """What the CLI needs to render the end of a run.

    Attributes:
        exit_code: the process exit code.
        reason: one line explaining the exit code.
        report_dir: the run's report folder.
        counts: rows per action.
        summary: what was written to summary.json.
        warnings: things the user should read (ignored columns, duplicates in Graph...).
    """

    exit_code: int
    reason: str
    report_dir: Path
    counts: dict[str, int]
    summary: RunSummary
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class GraphWork:
    """What the Graph stages hand back to ``_run_stages``.

    Attributes:
        aborted: why the run stopped before or while writing ("" when it did not).
        interrupted: Ctrl-C or SIGTERM stopped the sending.
        warnings: for summary.json and the screen.
        http: the client's request figures.
        throttling: the gate's totals.
        users: how the users were resolved (key, strategy, directory requests).
        state: how the confirmed state was used (people skipped, verified, planned...).
        sweep: what the final duplicate sweep did (empty when it had nothing to check).
    """

    aborted: str = ""
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)
    http: dict[str, int] = field(default_factory=dict)
    throttling: dict[str, Any] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    sweep: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StateOptions:
    """How a run uses the confirmed state.

    Attributes:
        now: the run's clock for the state (when Graph confirmed; which night it is).
        full: ``--full``: list everyone (entries are still confirmed).
        file_users: users (case-folded) of the file's rows that are not written (invalid,
            duplicate): such a person has not left the file.
    """

    now: datetime
    full: bool = False
    file_users: set[str] = field(default_factory=set)


def exit_for(counts: dict[str, int]) -> tuple[ExitCode, str]:
    """``ROWS_FAILED`` when any row is invalid or failed, else ``OK``; with the one-line reason."""
    bad = counts.get(Action.INVALID.value, 0) + counts.get(Action.FAILED.value, 0)
    if bad:
        return ExitCode.ROWS_FAILED, f"{bad} row(s) invalid or failed: see rejects.csv"
    return ExitCode.OK, "every row accounted for, none invalid or failed"


def exit_reason(work: GraphWork, counts: dict[str, int]) -> tuple[ExitCode, str]:
    """The exit code and its one-line reason: a safety abort, an interrupt, or the row counts."""
    if work.aborted:
        return ExitCode.SAFETY_ABORT, work.aborted
    if work.interrupted:
        return ExitCode.INTERRUPTED, "interrupted: rows not written are reported not-sent"
    return exit_for(counts)


def read_interrupted_reason(rows: int, *, validating: bool = False) -> str:
    """The reason of a run (or ``validate``) interrupted while reading, before anything was sent."""
    if validating:
        return (
            f"interrupted while reading: the {rows:,} row(s) read so far are in the report; "
            f"the rest of the input was not read"
        )
    return (
        f"interrupted while reading: the {rows:,} row(s) read so far are in the report "
        f"(valid ones not-sent); the rest of the input was not read; nothing was sent"
    )
