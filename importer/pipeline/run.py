"""``run_import``: wires the stages of ``run``: read -> validate -> plan/dispatch -> report.

The only module that knows every stage. The CLI calls ``run_import`` and renders the returned
``RunResult``; nothing here prints.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from importer.config import Settings
from importer.errors import ExitCode, ImporterError
from importer.lock import RunLock
from importer.pipeline.collector import fewer_collections
from importer.pipeline.logs import run_log
from importer.pipeline.orgdata_stage import check_orgdata
from importer.pipeline.refusal import refuse_to_send
from importer.pipeline.result import (
    GraphWork,
    RunResult,
    StateOptions,
    exit_reason,
    read_interrupted_reason,
)
from importer.pipeline.signals import stopped_by_signals
from importer.pipeline.spill import RowSpill, report_not_sent
from importer.pipeline.target_writers import target_writer
from importer.pipeline.validate import Validated, shape_summary, validate_into
from importer.progress import RunProgress
from importer.read.reader import InputReader
from importer.read.rows import RowsInput
from importer.report.writer import ReportWriter, RunSummary, check_report_dir, new_run_id
from importer.shape import Shaper
from importer.validate import load_skills_map

if TYPE_CHECKING:
    # The Graph side (aiohttp, azure-identity, the sandbox) is imported only by `run`, so
    # that `validate` starts quickly.
    from importer.graph.client import TokenProvider

__all__ = ["run_import"]

logger = logging.getLogger(__name__)


def _target_label(settings: Settings) -> str:
    from importer.targets import target_label

    return target_label(settings)


async def run_import(
    paths: Sequence[Path | str | RowsInput],
    settings: Settings,
    *,
    dry_run: bool = False,
    allow_deletes: int | None = None,
    progress: RunProgress | None = None,
    full: bool = False,
    now: datetime | None = None,
) -> RunResult:
    """Read, validate, plan against the target, write, report.

    Args:
        paths: input files, or database URLs (as ``str``) read with ``input.query``.
        settings: the run's settings.
        dry_run: plan only: report ``would-*`` actions, send no write.
        allow_deletes: sync may delete up to this many skills whatever ``max_delete_ratio`` says.
        progress: live counters the stages update (the CLI shows them); one is made if None.
        full: list every person, whatever the confirmed state says (``--full``).
        now: the run's time for the confirmed state (default: now; tests move nights).

    Raises:
        InputError, ConfigError, AuthError: before anything is sent (exit ``USAGE``).

    At the end, or when one of those stops the run, a notification goes out if
    ``notify.when`` asks for one; a failed notification changes nothing.
    """
    from importer.notify import notify_error

    try:
        return await _run_import(
            paths,
            settings,
            dry_run=dry_run,
            allow_deletes=allow_deletes,
            progress=progress,
            state=(full, now),
        )
    except ImporterError as exc:
        await notify_error(settings, exc.exit_code, str(exc), _target_label(settings))
        raise


async def _run_import(
    paths: Sequence[Path | str | RowsInput],
    settings: Settings,
    *,
    dry_run: bool,
    allow_deletes: int | None,
    progress: RunProgress | None,
    state: tuple[bool, datetime | None],
) -> RunResult:
    from importer.graph.auth import make_token_provider, sign_in_first
    from importer.notify import notify_run
    from importer.targets import check_target

    check_target(settings)
    check_report_dir(settings.report.dir)

    progress = progress if progress is not None else RunProgress()
    started = datetime.now(UTC)
    with contextlib.ExitStack() as stack:
        stack.enter_context(fewer_collections())
        if not dry_run:
            stack.enter_context(RunLock.for_settings(settings))
        reader = InputReader(paths, settings)
        load_skills_map(settings.input.skills_map)  # a broken map stops here, before any folder
        check_orgdata(settings)  # and a library that cannot be used
        token_provider = (
            # The Org data target signs in only if it must read the directory (it decides).
            None
            if settings.target.kind == "orgdata-csv"
            else await sign_in_first(make_token_provider(settings))
        )
        run_id = new_run_id(settings.report.dir, started)
        writer = ReportWriter(settings.report.dir, settings.report.formats, run_id)
        stack.enter_context(run_log(writer.path / "run.log"))
        result = await _run_stages(
            settings,
            reader,
            token_provider,
            writer,
            run_id,
            started,
            dry_run=dry_run,
            allow_deletes=allow_deletes,
            progress=progress,
            state=(state[0], state[1] or started),
        )
        # Inside the run log: whether the notification went out is part of the record.
        await notify_run(settings, result.summary, result.report_dir)
        return result


async def _run_stages(
    settings: Settings,
    reader: InputReader,
    token_provider: TokenProvider | None,
    writer: ReportWriter,
    run_id: str,
    started: datetime,
    *,
    dry_run: bool,
    allow_deletes: int | None,
    progress: RunProgress,
    state: tuple[bool, datetime],
) -> RunResult:
    kept: RowSpill | None = None
    shaper = Shaper(settings)
    try:
        # Sync with the confirmed state: who the file names in rows not written has not left.
        writer.seen_users = set() if settings.run.mode == "sync" else None
        with stopped_by_signals() as stopped:
            validated = _read_and_validate(
                settings, reader, writer, shaper, progress, stop=stopped.is_set
            )
            kept = validated.kept
            writer.order_by_input([(d.source, d.sheet) for d in shaper.decisions])
            refusal = None if stopped.is_set() else refuse_to_send(settings, validated, writer)
        file_users, writer.seen_users = writer.seen_users or set(), None
        # The flag is final now that the handlers are back. Rows a refusal reported stay so.
        held_back = refusal is not None and (bool(refusal) or writer.failure is not None)
        interrupted = stopped.is_set() and not held_back
        warnings = [*reader.warnings, *shaper.warnings, *validated.warnings]
        if interrupted:
            progress.interrupt()
            report_not_sent(kept, writer.add, "interrupted before anything was sent")
            work = GraphWork(interrupted=True)
        elif held_back or not kept.rows:
            work = GraphWork(aborted=refusal or "")
        else:
            clock = time.monotonic()
            writer.failure_exit = ExitCode.SAFETY_ABORT
            work = await target_writer(settings.target.kind)(
                settings,
                token_provider,
                kept,
                writer,
                dry_run=dry_run,
                allow_deletes=allow_deletes,
                progress=progress,
                state=StateOptions(state[1], state[0], file_users),
            )
            logger.info("Graph work finished in %.1f s", time.monotonic() - clock)
        warnings.extend(work.warnings)
        summary = _summary(settings, reader, shaper, work, run_id, started, dry_run=dry_run)
        summary.warnings = warnings
        summary.exit_code, summary.reason = (
            (ExitCode.INTERRUPTED, read_interrupted_reason(validated.rows))
            if interrupted
            else exit_reason(work, writer.counts)
        )
        path = writer.finish(summary)
    finally:
        if kept is not None:
            kept.close()
        writer.close()
        from importer.graph.auth import close_token_provider

        if token_provider is not None:
            await close_token_provider(token_provider)
    # A report file that could not be written changes the exit code (ReportWriter.finish).
    return RunResult(
        summary.exit_code, summary.reason, path, dict(summary.counts), summary, warnings
    )


def _summary(
    settings: Settings,
    reader: InputReader,
    shaper: Shaper,
    work: GraphWork,
    run_id: str,
    started: datetime,
    *,
    dry_run: bool,
) -> RunSummary:
    """What summary.json says about the run; the caller sets its exit code, reason, warnings."""
    return RunSummary(
        run_id=run_id,
        command="run",
        started=started,
        finished=datetime.now(UTC),
        target=_target_label(settings),
        mode=settings.run.mode,
        dry_run=dry_run,
        inputs=reader.summaries(),
        blank_rows=reader.blank_rows,
        http=work.http,
        throttling=work.throttling,
        exit_code=ExitCode.OK,
        reason="",
        users=work.users,
        layouts=shape_summary(shaper),
        state=work.state,
        sweep=work.sweep,
    )


def _read_and_validate(
    settings: Settings,
    reader: InputReader,
    writer: ReportWriter,
    shaper: Shaper,
    progress: RunProgress,
    *,
    stop: Callable[[], bool],
) -> Validated:
    """The first step: read, shape and validate; the valid rows are held on disk by user.

    Ctrl-C or SIGTERM (``stop``) ends the reading after the row being read.
    """
    clock = time.monotonic()
    validated = validate_into(
        reader, settings, writer, keep_valid=True, progress=progress, shaper=shaper, stop=stop
    )
    logger.info(
        "read and validated %d rows for %d users in %.1f s",
        validated.rows,
        validated.kept.users,
        time.monotonic() - clock,
    )
    return validated
