"""``skills-import validate``: read and validate offline, write the report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from importer.cli.console import setup_logging
from importer.cli.options import common_options, settings_from
from importer.cli.rendering import render_summary
from importer.pipeline import validate_files

__all__ = ["validate"]


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@common_options
def validate(
    files: tuple[Path, ...], config_path: Path | None, quiet: bool, log_format: str, **flags: Any
) -> None:
    """Read and validate FILES offline and write the report; never touches the network."""
    setup_logging(log_format, quiet)
    settings = settings_from(config_path, **flags)
    result = validate_files(list(files), settings)
    render_summary(Console(stderr=False), result, "Validation")
    sys.exit(result.exit_code)
