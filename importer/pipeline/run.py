"""Wires the stages: reader -> validation -> planner/dispatcher -> report.

The only module that knows every stage. The CLI calls ``validate_files`` or ``run_import`` and
renders the returned ``RunResult``; nothing here prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from importer.config import Settings
from importer.lock import RunLock
from importer.pipeline.parallel_validate import find_split, validate_in_two_parts
from importer.read.reader import InputReader
from importer.records import Action, RowOutcome, SkillRow, SourceRow
from importer.report.writer import ReportWriter, RunSummary, new_run_id
from importer.validate.validator import Validator

if TYPE_CHECKING:
    # The Graph side (aiohttp, azure-identity, the sandbox) is imported only by `run`, so
    # that `validate` starts quickly.
    from importer.graph.client import TokenProvider
    from importer.write.dispatcher import DispatchResult, ProgressState

__all__ = ["RunResult", "run_import", "validate_files"]

logger = logging.getLogger(__name__)

#: results.xlsx lists every row up to this many; above it, the rows that need attention (the
#: workbook is for people; results.csv always holds every row).
XLSX_ALL_ROWS_UP_TO = 20_000


@dataclass(slots=True)
class RunResult:
    """What the CLI needs to render the end of a run.

    Attributes:
        exit_code: DESIGN section 2.
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
class _Validated:
    users: dict[str, list[SkillRow]]
    rows: int
    invalid: int


def stream_checked(
    checked: Iterator[SkillRow | SourceRow | RowOutcome], writer: ReportWriter
) -> int:
    """The hot loop of a million-row `validate`: checked rows into the report, in input order.

    Valid rows (``SourceRow``s from ``Validator.check``) go to the report in runs; every other
    outcome in between keeps its place. Returns how many rows were seen.
    """
    rows = 0
    valid: list[SourceRow] = []
    keep = valid.append
    for item in checked:
        if type(item) is SourceRow:
            keep(item)
            if len(valid) >= 4096:
                rows += len(valid)
                writer.add_valid_rows(valid)
                valid.clear()
        else:
            if valid:
                rows += len(valid)
                writer.add_valid_rows(valid)
                valid.clear()
            rows += 1
            writer.add(item)  # type: ignore[arg-type]
    rows += len(valid)
    writer.add_valid_rows(valid)
    return rows


def _validate_into(
    reader: InputReader, settings: Settings, writer: ReportWriter, *, keep_valid: bool
) -> _Validated:
    """Stream rows through validation; invalid and duplicate rows go straight to the report."""
    validator = Validator(settings)
    kept: dict[tuple[str, str, int], SkillRow] = {}
    rows = 0
    if keep_valid:
        for item in validator.feed(reader.rows()):
            rows += 1
            if isinstance(item, RowOutcome):
                writer.add(item)
            else:
                kept[(item.source.table.source, item.source.table.sheet, item.source.row)] = item
    else:
        rows = stream_checked(validator.check(reader.rows()), writer)
    late: list[RowOutcome] = []
    for correction in validator.finish(reader.lookup_cells):
        key = (correction.source, correction.sheet, correction.row)
        if keep_valid and kept.pop(key, None) is not None:
            writer.add(correction)
        else:
            late.append(correction)
    if late:
        writer.correct(late)
    users: dict[str, list[SkillRow]] = {}
    for row in kept.values():
        users.setdefault(row.user_key, []).append(row)
    invalid = writer.counts.get(Action.INVALID.value, 0)
    return _Validated(users=users, rows=rows, invalid=invalid)


def _target_label(settings: Settings) -> str:
    from importer.graph.target import target_label

    return target_label(settings)


def _exit_for(counts: dict[str, int]) -> tuple[int, str]:
    bad = counts.get(Action.INVALID.value, 0) + counts.get(Action.FAILED.value, 0)
    if bad:
        return 1, f"{bad} row(s) invalid or failed: see rejects.csv"
    return 0, "every row accounted for, none invalid or failed"


def validate_files(paths: Sequence[Path], settings: Settings) -> RunResult:
    """Read and validate offline; write the report. Never touches the network."""
    started = datetime.now(UTC)
    reader = InputReader(paths, settings)
    run_id = new_run_id(settings.report.dir, started)
    writer = ReportWriter(
        settings.report.dir, settings.report.formats, run_id, xlsx_row_limit=XLSX_ALL_ROWS_UP_TO
    )
    try:
        csv_source = reader.single_csv()
        split = find_split(csv_source) if csv_source is not None else None
        if csv_source is not None and split is not None:
            validate_in_two_parts(reader, csv_source, split, settings, writer, stream_checked)
        else:
            _validate_into(reader, settings, writer, keep_valid=False)
        exit_code, reason = _exit_for(writer.counts)
        summary = RunSummary(
            run_id=run_id,
            command="validate",
            started=started,
            finished=datetime.now(UTC),
            target="none (offline validation)",
            mode="",
            dry_run=True,
            inputs=reader.summaries(),
            blank_rows=reader.blank_rows,
            http={},
            exit_code=exit_code,
            reason=reason,
            warnings=list(reader.warnings),
        )
        path = writer.finish(summary)
    finally:
        writer.close()
    return RunResult(exit_code, reason, path, dict(summary.counts), summary, summary.warnings)


def _not_sent(users: dict[str, list[SkillRow]], reason: str) -> Iterator[RowOutcome]:
    for rows in users.values():
        for row in rows:
            yield RowOutcome.for_source(
                row.source, Action.FAILED, error_type="not-sent", error=f"not sent: {reason}"
            )


@contextlib.contextmanager
def _stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Ctrl-C and SIGTERM stop sending; the report is still written (exit 130)."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread (tests) or not supported here
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def run_import(
    paths: Sequence[Path],
    settings: Settings,
    *,
    dry_run: bool = False,
    allow_deletes: int | None = None,
    progress: Callable[[ProgressState], None] | None = None,
) -> RunResult:
    """Read, validate, plan against the target, write, report.

    Args:
        paths: input files.
        settings: the run's settings.
        dry_run: plan only: report ``would-*`` actions, send no write.
        allow_deletes: sync may delete up to this many skills whatever ``max_delete_ratio`` says.
        progress: called with the live counters once the dispatcher starts (the CLI polls them).

    Raises:
        InputError, ConfigError, AuthError: before anything is sent (exit 2).
    """
    from importer.graph.auth import make_token_provider
    from importer.graph.target import check_target

    check_target(settings)

    started = datetime.now(UTC)
    with contextlib.ExitStack() as stack:
        if not dry_run:
            stack.enter_context(RunLock(settings.report.dir))
        reader = InputReader(paths, settings)
        token_provider = make_token_provider(settings)
        run_id = new_run_id(settings.report.dir, started)
        writer = ReportWriter(
            settings.report.dir, settings.report.formats, run_id, xlsx_row_limit=XLSX_ALL_ROWS_UP_TO
        )
        stack.enter_context(_run_log(writer.path / "run.log"))
        return await _run_stages(
            settings,
            reader,
            token_provider,
            writer,
            run_id,
            started,
            dry_run=dry_run,
            allow_deletes=allow_deletes,
            progress=progress,
        )


@contextlib.contextmanager
def _run_log(path: Path) -> Iterator[None]:
    """Copy the importer's log lines into the report folder for the length of the run."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.setLevel(logging.INFO)
    package = logging.getLogger("importer")
    previous = package.level
    package.setLevel(logging.INFO)
    package.addHandler(handler)
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(previous)
        handler.close()


async def _run_stages(
    settings: Settings,
    reader: InputReader,
    token_provider: TokenProvider,
    writer: ReportWriter,
    run_id: str,
    started: datetime,
    *,
    dry_run: bool,
    allow_deletes: int | None,
    progress: Callable[[ProgressState], None] | None,
) -> RunResult:
    http: dict[str, int] = {}
    warnings: list[str] = []
    abort = ""
    interrupted = False
    try:
        clock = time.monotonic()
        validated = _validate_into(reader, settings, writer, keep_valid=True)
        logger.info(
            "read and validated %d rows for %d users in %.1f s",
            validated.rows,
            len(validated.users),
            time.monotonic() - clock,
        )
        warnings.extend(reader.warnings)
        ratio = validated.invalid / validated.rows if validated.rows else 0.0
        if ratio > settings.run.max_invalid_ratio:
            abort = (
                f"{validated.invalid} of {validated.rows} rows ({ratio:.1%}) are invalid, "
                f"more than max_invalid_ratio {settings.run.max_invalid_ratio:.0%}: nothing "
                f"was sent. Fix the rows in rejects.csv, or raise run.max_invalid_ratio"
            )
            for outcome in _not_sent(validated.users, "too many invalid rows"):
                writer.add(outcome)
        elif validated.users:
            clock = time.monotonic()
            result = await _dispatch(
                settings,
                token_provider,
                validated.users,
                writer,
                dry_run=dry_run,
                allow_deletes=allow_deletes,
                progress=progress,
                http=http,
            )
            abort, interrupted = result.aborted, result.interrupted
            warnings.extend(result.warnings)
            logger.info("Graph work finished in %.1f s", time.monotonic() - clock)
        if abort:
            exit_code, reason = 3, abort
        elif interrupted:
            exit_code, reason = 130, "interrupted: rows not written are reported failed (not-sent)"
        else:
            exit_code, reason = _exit_for(writer.counts)
        summary = RunSummary(
            run_id=run_id,
            command="run",
            started=started,
            finished=datetime.now(UTC),
            target=_target_label(settings),
            mode=settings.run.mode,
            dry_run=dry_run,
            inputs=reader.summaries(),
            blank_rows=reader.blank_rows,
            http=http,
            exit_code=exit_code,
            reason=reason,
            warnings=warnings,
        )
        clock = time.monotonic()
        path = writer.finish(summary)
    finally:
        writer.close()
        from importer.graph.auth import close_token_provider

        await close_token_provider(token_provider)
    return RunResult(exit_code, reason, path, dict(summary.counts), summary, warnings)


async def _dispatch(
    settings: Settings,
    token_provider: TokenProvider,
    users: dict[str, list[SkillRow]],
    writer: ReportWriter,
    *,
    dry_run: bool,
    allow_deletes: int | None,
    progress: Callable[[ProgressState], None] | None,
    http: dict[str, int],
) -> DispatchResult:
    from importer.graph.target import open_graph
    from importer.write.dispatcher import Dispatcher

    async with open_graph(settings, token_provider) as client:
        dispatcher = Dispatcher(
            client,
            run=settings.run,
            dry_run=dry_run,
            allow_deletes=allow_deletes,
            on_outcome=writer.add,
        )
        if progress is not None:
            progress(dispatcher.progress)
        with _stop_on_signals(dispatcher.stop):
            result = await dispatcher.run(users)
        http.update(client.stats.as_dict())
        return result
