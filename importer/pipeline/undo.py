"""``undo_run``: revert the writes a run's journal records, as a run of its own.

The undo takes the same run lock, signs in the same way, lists each affected person's skills
now, and sends its creates, PATCHes and deletes through the same dispatcher as ``run`` (batches,
throttling, retries, creates never posted twice). It writes its own report folder, with one
results.csv line per journal entry, and its own journal, so an undo can be undone in turn. The
decision rules are in ``importer.journal.undo_plan``.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from importer.config import Settings
from importer.errors import ExitCode
from importer.journal import JOURNAL_NAME, open_journal, read_header
from importer.journal.undo_plan import UndoPlanner
from importer.journal.undo_rows import JournalRows
from importer.lock import RunLock
from importer.pipeline.logs import run_log
from importer.pipeline.result import GraphWork, RunResult, exit_for
from importer.pipeline.signals import stop_on_signals
from importer.progress import RunProgress
from importer.records import InputSummary, RowOutcome
from importer.report.writer import ReportWriter, RunSummary, check_report_dir, new_run_id

if TYPE_CHECKING:
    from importer.graph.client import TokenProvider

__all__ = ["undo_run"]


async def undo_run(
    folder: Path,
    settings: Settings,
    *,
    dry_run: bool = False,
    progress: RunProgress | None = None,
) -> RunResult:
    """Revert the run whose report folder is ``folder``.

    Args:
        folder: a run's (or an undo's) report folder holding ``journal.jsonl``.
        settings: the settings of the target the run wrote to.
        dry_run: report what would be sent (``would-*``), send nothing.
        progress: live counters for the CLI.

    At the end a notification goes out if ``notify.when`` asks for one, as after ``run``.

    Raises:
        InputError: no journal, or one written to another tenant, target or kind (exit 2).
    """
    from importer.graph.auth import close_token_provider, make_token_provider, sign_in_first
    from importer.notify import notify_run
    from importer.targets import check_target, target_label

    check_target(settings)
    check_report_dir(settings.report.dir)
    header = read_header(folder, settings)
    journal_path = folder / JOURNAL_NAME
    settings = settings.model_copy(
        update={
            "run": settings.run.model_copy(
                update={"mode": "upsert", "source_tag": header.source_tag}
            )
        }
    )
    progress = progress if progress is not None else RunProgress()
    started = datetime.now(UTC)
    with contextlib.ExitStack() as stack:
        if not dry_run:
            stack.enter_context(RunLock.for_settings(settings))
        entries = JournalRows(journal_path, settings.run.rows_per_chunk)
        token_provider = await sign_in_first(make_token_provider(settings))
        run_id = new_run_id(settings.report.dir, started)
        writer = ReportWriter(settings.report.dir, settings.report.formats, run_id)
        stack.enter_context(run_log(writer.path / "run.log"))
        try:
            work = await _revert(
                settings, token_provider, folder, header.run_id, entries, writer, progress, dry_run
            )
            exit_code, reason = _exit_reason(work, writer.counts)
            inputs = [
                InputSummary(str(journal_path), _sha256(journal_path), entries.rows, 0),
            ]
            summary = RunSummary(
                run_id=run_id,
                command="undo",
                started=started,
                finished=datetime.now(UTC),
                target=target_label(settings),
                mode=f"undo of {header.run_id or folder.name}",
                dry_run=dry_run,
                inputs=inputs,
                blank_rows=0,
                http=work.http,
                exit_code=exit_code,
                reason=reason,
                warnings=work.warnings,
                throttling=work.throttling,
            )
            path = writer.finish(summary)
        finally:
            writer.close()
            await close_token_provider(token_provider)
        # Inside the run log, as for `run`: whether the notification went out is on record.
        await notify_run(settings, summary, path)
    return RunResult(
        summary.exit_code, summary.reason, path, dict(summary.counts), summary, work.warnings
    )


async def _revert(
    settings: Settings,
    token_provider: TokenProvider,
    folder: Path,
    undone_run: str,
    entries: JournalRows,
    writer: ReportWriter,
    progress: RunProgress,
    dry_run: bool,
) -> GraphWork:
    from importer.pipeline.delta import void_confirmed
    from importer.targets import open_graph
    from importer.write.dispatcher import Dispatcher

    work = GraphWork()
    if not entries.rows:
        return work

    def emit(outcome: RowOutcome) -> None:
        progress.count(outcome.action)
        writer.add(outcome)

    planner = UndoPlanner(
        source_tag=settings.run.source_tag,
        skip=emit,
        warn=work.warnings.append,
    )
    journal = None
    if not dry_run:
        journal = open_journal(settings, writer.path, "undo", undone_run or folder.name)
    async with open_graph(settings, token_provider) as client:
        dispatcher = Dispatcher(
            client,
            run=settings.run,
            dry_run=dry_run,
            allow_deletes=entries.rows,
            on_outcome=writer.add,
            progress=progress,
            on_confirmed=journal.record if journal is not None else None,
            plan=planner,
        )
        writer.on_failure(dispatcher.stop)
        if not dry_run:
            # These people's skills are about to change behind the confirmed state's back.
            await void_confirmed(settings, client, token_provider, entries.people())
        try:
            with stop_on_signals(dispatcher.stop):
                result = await dispatcher.run(entries)
        finally:
            writer.on_failure(None)
            if journal is not None:
                journal.close()
        client.gate.log.finish()
        work.http = client.stats.as_dict()
        work.throttling = client.gate.log.totals()
    work.aborted, work.interrupted = result.aborted, result.interrupted
    work.warnings.extend(result.warnings)
    if journal is not None and journal.failure:
        work.warnings.append(journal.failure)
    return work


def _exit_reason(work: GraphWork, counts: dict[str, int]) -> tuple[ExitCode, str]:
    if work.aborted:
        return ExitCode.SAFETY_ABORT, work.aborted
    if work.interrupted:
        return ExitCode.INTERRUPTED, "interrupted: entries not undone are reported not-sent"
    return exit_for(counts)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
