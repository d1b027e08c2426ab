"""Before anything is sent: the run refuses when its record cannot be kept or too much is wrong.

A report folder that cannot be written, or more invalid rows than ``run.max_invalid_ratio``
allows, holds every valid row back; each is reported ``not-sent``.
"""

from __future__ import annotations

from importer.config import Settings
from importer.pipeline.spill import report_not_sent
from importer.pipeline.validate import Validated
from importer.report.writer import ReportWriter

__all__ = ["refuse_to_send"]


def refuse_to_send(settings: Settings, validated: Validated, writer: ReportWriter) -> str:
    """Why nothing may be sent ("" when the rows may go to Graph).

    A report folder that cannot be written, or too many invalid rows, holds every valid row
    back: each is reported ``not-sent``. The report folder case is not a safety abort but a
    usage error (the writer's own failure exit says so), hence the empty reason.
    """
    if writer.failure is not None:
        report_not_sent(validated.kept, writer.add, "the report folder cannot be written")
        return ""
    ratio = validated.invalid / validated.rows if validated.rows else 0.0
    # A handful of rows (a fed-back rejects.csv) is judged row by row, not as a share.
    guarded = validated.rows >= settings.run.min_rows_for_ratio
    if not guarded or ratio <= settings.run.max_invalid_ratio:
        return ""
    report_not_sent(validated.kept, writer.add, "too many invalid rows")
    return (
        f"{validated.invalid} of {validated.rows} rows ({ratio:.1%}) are invalid, "
        f"more than max_invalid_ratio {settings.run.max_invalid_ratio:.0%}: nothing "
        f"was sent. Fix the rows in rejects.csv, or raise run.max_invalid_ratio "
        f"(the guard applies from run.min_rows_for_ratio "
        f"{settings.run.min_rows_for_ratio} rows up)"
    )
