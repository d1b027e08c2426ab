"""``skills-import run``: read, validate, plan against the target, write, report."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from importer.cli.console import STDERR, setup_logging
from importer.cli.options import SOURCES, common_options, settings_from, sources_of
from importer.cli.progress import run_with_progress
from importer.cli.rendering import render_summary

__all__ = ["run"]


@click.command()
@SOURCES
@click.option("--dry-run", is_flag=True, help="Plan only: report would-create/update/delete.")
@click.option(
    "--allow-deletes",
    type=int,
    help="sync: allow up to N deletes this run, whatever max_delete_ratio says.",
)
@click.option(
    "--full",
    is_flag=True,
    help="List every person against Graph, whatever the confirmed state says (run.delta).",
)
@click.option(
    "--library",
    type=click.Path(dir_okay=False, path_type=Path),
    help="target.kind orgdata-csv: a People Skills library file; names not in it are refused.",
)
@common_options
def run(
    sources: tuple[str, ...],
    dry_run: bool,
    allow_deletes: int | None,
    full: bool,
    library: Path | None,
    config_path: Path | None,
    quiet: bool,
    log_format: str,
    **flags: Any,
) -> None:
    """Import SOURCE...: read, validate, plan against the target, write, report.

    A SOURCE is a CSV or Excel file, or a database URL (sqlite:///legacy.db, postgresql://...)
    read with --query, --query-file or input.query.
    """
    setup_logging(log_format, quiet)
    settings = settings_from(config_path, library=library, **flags)
    result = asyncio.run(
        run_with_progress(
            sources_of(sources),
            settings,
            dry_run,
            allow_deletes,
            STDERR,
            quiet,
            log_format,
            full=full,
        )
    )
    title = "Dry run (nothing written)" if dry_run else "Import"
    render_summary(Console(), result, title)
    sys.exit(result.exit_code)
