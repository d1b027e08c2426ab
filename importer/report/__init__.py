"""Report: every row's outcome into results.csv, rejects.csv, results.xlsx and summary.json."""

from importer.report.writer import (
    REPORT_FORMATS,
    ReportWriter,
    RunSummary,
    check_report_dir,
    new_run_id,
)

__all__ = ["REPORT_FORMATS", "ReportWriter", "RunSummary", "check_report_dir", "new_run_id"]
