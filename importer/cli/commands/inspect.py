"""``skills-import inspect``: what is in the sources, and a skills map template to edit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console

from importer.cli.console import setup_logging
from importer.cli.options import (
    SOURCES,
    config_option,
    settings_from,
    sources_of,
    user_key_option,
)

__all__ = ["inspect"]


@click.command()
@SOURCES
@config_option
@click.option(
    "--report-dir",
    type=click.Path(path_type=Path),
    help="Where the inspection's folder is written [default: reports].",
)
@click.option(
    "--sheet", "sheets", multiple=True, help="Workbook sheet to read (repeatable) [default: all]."
)
@user_key_option
@click.option("--query", help="Database SOURCE: the SELECT that yields the rows.")
@click.option(
    "--query-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Database SOURCE: a file holding the SELECT.",
)
def inspect(sources: tuple[str, ...], config_path: Path | None, **flags: Any) -> None:
    """Show what SOURCE... holds, offline, and write a skills map template.

    Lists the column mapping, the distinct skill names with clusters of near-identical ones,
    each level, tag and audience value with what it maps to, and the people by identity form.
    Names are read as they are, before any configured input.skills_map. The screen is saved as
    inspect.txt next to skills_map.csv (one row per name, `to` pre-filled with a suggestion):
    edit it, then point input.skills_map at it.
    """
    from importer.inspect import inspect_sources  # rapidfuzz is loaded only for inspect

    setup_logging("text", True)
    settings = settings_from(config_path, **flags)
    result = inspect_sources(sources_of(sources), settings)
    console = Console(highlight=False, soft_wrap=True)
    console.out(result.text, end="")
    console.print(f"Written: {result.report_dir / 'inspect.txt'}")
    console.print(
        f"Template: {result.report_dir / 'skills_map.csv'} (edit `to`, then set input.skills_map)"
    )
