"""``skills-import validate``: read and validate offline, write the report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from importer.cli.console import setup_logging
from importer.cli.options import SOURCES, common_options, settings_from, sources_of
from importer.cli.rendering import render_summary
from importer.pipeline import validate_files

__all__ = ["validate"]


@click.command()
@SOURCES
@common_options
def validate(
    sources: tuple[str, ...], config_path: Path | None, quiet: bool, log_format: str, **flags: Any
) -> None:
    """Read and validate SOURCE... offline and write the report; never touches the network.

    A SOURCE is a CSV or Excel file, or a database URL (sqlite:///legacy.db, postgresql://...)
    read with --query, --query-file or input.query.
    """
    setup_logging(log_format, quiet)
    settings = settings_from(config_path, **flags)
    result = validate_files(sources_of(sources), settings)
    render_summary(Console(stderr=False), result, "Validation")
    sys.exit(result.exit_code)
