"""``skills-import check``: preflight the config, sign-in, permissions and a canary write."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from rich.console import Console

from importer.cli.console import setup_logging
from importer.cli.options import config_option, settings_from, user_key_option
from importer.cli.rendering import render_preflight

__all__ = ["check"]


@click.command()
@click.option(
    "--user",
    required=True,
    help="A user for the canary write, written as --user-key says: object id, UPN, mail "
    "or employeeId (looked up in the directory, as run does).",
)
@user_key_option
@click.option("--probe-enums", is_flag=True, help="Also try every proficiency level.")
@config_option
def check(user: str, user_key: str | None, probe_enums: bool, config_path: Path | None) -> None:
    """Preflight: config, sign-in, permissions, and a canary write/read/delete on --user.

    Exits ok when every step passed, rows-invalid-or-failed when the target refuses something
    (each failed step says what to change), usage-config-or-input for a config or sign-in error.
    """
    from importer.write.preflight import run_checks

    setup_logging("text", True)
    settings = settings_from(config_path, user_key=user_key)
    report = asyncio.run(run_checks(settings, user, probe_enums=probe_enums))
    render_preflight(Console(), report)
    sys.exit(report.exit_code)
