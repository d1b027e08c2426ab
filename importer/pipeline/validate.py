"""Validation streaming: rows from the reader through the validator into the report.

``validate_files`` is the offline ``validate`` command; ``validate_into`` is also the first
stage of ``run``, which keeps the valid rows (grouped by user) for the Graph stages.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from importer.config import Settings
from importer.errors import ExitCode
from importer.pipeline.collector import fewer_collections
from importer.pipeline.parallel_validate import find_split, validate_in_two_parts
from importer.pipeline.result import RunResult, exit_for, read_interrupted_reason
from importer.pipeline.signals import rows_until_stopped, stopped_by_signals
from importer.pipeline.spill import RowSpill
from importer.progress import READING, RunProgress
from importer.read.csv_file import CsvSource
from importer.read.database import DatabaseSource
from importer.read.reader import InputReader
from importer.read.rows import RowsInput
from importer.records import Action, RowOutcome, SkillRow, SourceRow
from importer.report.writer import ReportWriter, RunSummary, check_report_dir, new_run_id
from importer.shape import Shaper
from importer.shape.detect import HEAD_ROWS
from importer.validate import Validator, load_skills_map
from importer.validate.shown import Checked

__all__ = ["Validated", "shape_summary", "stream_checked", "validate_files", "validate_into"]


@dataclass(slots=True)
class Validated:
    """The valid rows of a run (on disk, grouped by user), how many rows were read and invalid."""

    kept: RowSpill
    rows: int
    invalid: int
    warnings: list[str]
    #: Ctrl-C or SIGTERM stopped the reading: ``rows`` were read, the rest of the input was not.
    interrupted: bool = False


def _head(source: CsvSource | DatabaseSource) -> list[SourceRow]:
    """The first data rows of a CSV or a query, read without counting them as input."""
    counts = source.rows, source.blank_rows
    rows = source.iter_rows()
    try:
        head = list(islice(rows, HEAD_ROWS))
    finally:
        if isinstance(rows, Generator):
            rows.close()
    source.rows, source.blank_rows = counts
    return head


def shape_summary(shaper: Shaper) -> list[dict[str, Any]]:
    """The layout chosen per table, for summary.json."""
    return [
        {
            "source": d.source,
            "sheet": d.sheet,
            "layout": d.layout,
            "how": d.how,
            "skill_columns": list(d.skill_columns),
        }
        for d in shaper.decisions
    ]


def stream_checked(checked: Iterator[SkillRow | Checked | RowOutcome], writer: ReportWriter) -> int:
    """The hot loop of a million-row `validate`: checked rows into the report, in input order.

    Valid rows (``Checked``: the row and its normalised values, from ``Validator.check``) go to
    the report in runs; every other outcome in between keeps its place. Returns how many rows
    were seen.
    """
    rows = 0
    valid: list[Checked] = []
    keep = valid.append
    for item in checked:
        if type(item) is tuple:
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


def validate_into(
    reader: InputReader,
    settings: Settings,
    writer: ReportWriter,
    *,
    keep_valid: bool,
    progress: RunProgress | None = None,
    shaper: Shaper | None = None,
    stop: Callable[[], bool] | None = None,
) -> Validated:
    """Shape and validate the rows; invalid and duplicate rows go straight to the report.

    With ``progress`` (``run`` only), the reading phase counts the rows as they go by. When
    ``stop`` (``run`` only) says so between two rows, reading ends there (``interrupted``).

    Raises:
        InputError: a table's layout cannot be told or does not fit, or a level column holds
            numbers beyond the configured scale (before anything is sent).
    """
    # ``run`` (keep_valid) may see millions of rows: its duplicate index is the compact one.
    validator = Validator(settings, compact=keep_valid)
    shaper = shaper or Shaper(settings)
    read = reader.rows() if stop is None else rows_until_stopped(reader.rows(), stop)
    source_rows = shaper.shape(read)
    kept = RowSpill(settings.run.rows_per_chunk)
    rows = 0
    if progress is not None:
        progress.start(READING)
    try:
        if keep_valid:
            keep = kept.add
            for item in validator.feed(source_rows):
                rows += 1
                if progress is not None:
                    progress.set_done(READING, rows)
                if isinstance(item, RowOutcome):
                    writer.add(item)
                else:
                    keep(item)
        else:
            rows = stream_checked(validator.check(source_rows), writer)
        interrupted = stop is not None and stop()
        scale_error = validator.scale_error()
        if scale_error is not None and not interrupted:  # nothing is sent after an interrupt
            raise scale_error
        late: list[RowOutcome] = []
        for correction in validator.corrections(reader.lookup_cells):
            where = (correction.source, correction.sheet, correction.row, correction.column)
            name = correction.display_name if correction.column else ""
            if keep_valid and kept.discard(*where, name=name):
                writer.add(correction)
            else:
                late.append(correction)
        if late:
            writer.correct(late)
        if progress is not None and not interrupted:
            progress.finish(READING)
    except BaseException:
        kept.close()
        raise
    invalid = writer.counts.get(Action.INVALID.value, 0)
    warning = validator.unused_map_warning()
    return Validated(
        kept=kept,
        rows=rows,
        invalid=invalid,
        warnings=[warning] if warning else [],
        interrupted=interrupted,
    )


def validate_files(paths: Sequence[Path | str | RowsInput], settings: Settings) -> RunResult:
    """Read and validate offline; write the report. Never touches the network."""
    with fewer_collections():
        return _validate_files(paths, settings)


def _validate_files(paths: Sequence[Path | str | RowsInput], settings: Settings) -> RunResult:
    started = datetime.now(UTC)
    check_report_dir(settings.report.dir)  # before a large input is read for nothing
    reader = InputReader(paths, settings)
    load_skills_map(settings.input.skills_map)  # a broken map stops here, before any folder
    shaper = Shaper(settings)
    run_id = new_run_id(settings.report.dir, started)
    writer = ReportWriter(settings.report.dir, settings.report.formats, run_id)
    try:
        csv_source = reader.single_splittable()
        split = find_split(csv_source) if csv_source is not None else None
        if csv_source is not None and split is not None:
            # One rows-layout CSV may be validated in two processes; decide its layout first.
            split = (
                split
                if shaper.decide(csv_source.table, _head(csv_source)).layout == "rows"
                else None
            )
        # Ctrl-C or SIGTERM ends the reading after the row being read; the rows read so far
        # are reported, as a run does.
        with stopped_by_signals() as stopped:
            if csv_source is not None and split is not None:
                warnings = validate_in_two_parts(
                    reader, csv_source, split, settings, writer, stream_checked, stopped.is_set
                )
            else:
                warnings = validate_into(
                    reader, settings, writer, keep_valid=False, shaper=shaper, stop=stopped.is_set
                ).warnings
        if stopped.is_set():
            exit_code = ExitCode.INTERRUPTED
            reason = read_interrupted_reason(sum(writer.counts.values()), validating=True)
        else:
            exit_code, reason = exit_for(writer.counts)
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
            warnings=[*reader.warnings, *shaper.warnings, *warnings],
            layouts=shape_summary(shaper),
        )
        path = writer.finish(summary)
    finally:
        writer.close()
    # A report file that could not be written changes the exit code (see ReportWriter.finish).
    return RunResult(
        summary.exit_code, summary.reason, path, dict(summary.counts), summary, summary.warnings
    )
