"""``skills-import undo REPORT_FOLDER``: revert the writes a run's journal records."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from rich.console import Console

from importer.cli.console import setup_logging
from importer.cli.options import config_option, settings_from

__all__ = ["undo"]


@click.command()
@click.argument("report_folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--dry-run", is_flag=True, help="Report what would be undone; send nothing.")
@click.option(
    "--report-dir",
    type=click.Path(path_type=Path),
    help="Where the undo's own report folder is written [default: report.dir].",
)
@click.option("--quiet", is_flag=True, help="Only warnings, errors and the summary.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines for people or for log collectors.",
)
@config_option
def undo(
    report_folder: Path,
    dry_run: bool,
    report_dir: Path | None,
    quiet: bool,
    log_format: str,
    config_path: Path | None,
) -> None:
    """Revert the run whose report folder is REPORT_FOLDER, newest write first.

    Skills the run created are deleted (if unchanged since), fields it updated are put back
    (if they still hold the run's values), skills it deleted are created again. Anything edited
    since the run is kept and reported skipped, changed-since. The undo has its own report
    folder and journal, so it can be undone too. Exit codes as for run.
    """
    from importer.cli.rendering import render_summary
    from importer.pipeline.undo import undo_run

    setup_logging(log_format, quiet)
    settings = settings_from(config_path, report_dir=report_dir)
    result = asyncio.run(undo_run(report_folder, settings, dry_run=dry_run))
    render_summary(Console(), result, "Undo, dry run (nothing written)" if dry_run else "Undo")
    sys.exit(result.exit_code)
