"""``skills-import export``: the skills in Graph today, one row per skill, to CSV or Excel."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from rich.console import Console

from importer.cli.console import STDERR, setup_logging
from importer.cli.options import config_option, settings_from, user_key_option
from importer.errors import ConfigError

__all__ = ["export"]


@click.command()
@click.option(
    "--users",
    "users_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A file of user values (one a line, or the first column of a CSV), resolved like "
    "run's user column.",
)
@click.option("--all", "all_users", is_flag=True, help="Every user in the directory.")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The file to write: .csv or .xlsx.",
)
@user_key_option
@click.option("--target", help="sandbox, a Graph cloud URL, or http://127.0.0.1:PORT.")
@click.option("--quiet", is_flag=True, help="Only warnings, errors and the summary.")
@config_option
def export(
    users_file: Path | None,
    all_users: bool,
    output: Path,
    user_key: str | None,
    target: str | None,
    quiet: bool,
    config_path: Path | None,
) -> None:
    """Write the skills in Graph today, one row per skill, in the columns run reads.

    Fed back to run unedited, the file sends no write. Two more columns say each skill's id
    (skillId) and whether it carries this tool's source tag (sourceTagged). Exit 0 when every
    person was exported, 1 when some could not be found or listed.
    """
    from importer.pipeline.export import export_skills

    if (users_file is None) == (not all_users):
        raise ConfigError("export: give either --users FILE or --all")
    setup_logging("text", quiet)
    settings = settings_from(config_path, user_key=user_key, target=target)
    result = asyncio.run(export_skills(settings, output, users_file=users_file))
    for warning in result.warnings[:20]:
        STDERR.print(f"[yellow]warning:[/yellow] {warning}", markup=True, highlight=False)
    if len(result.warnings) > 20:
        STDERR.print(f"... and {len(result.warnings) - 20} more", highlight=False)
    Console().print(f"{result.reason}: {result.path}", highlight=False)
    sys.exit(result.exit_code)
