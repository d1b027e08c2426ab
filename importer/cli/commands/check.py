"""``skills-import check``: preflight the config, sign-in, permissions and a canary write."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from rich.console import Console

from importer.cli.console import setup_logging
from importer.cli.options import config_option
from importer.cli.rendering import render_preflight
from importer.config import load_settings

__all__ = ["check"]


@click.command()
@click.option("--user", required=True, help="A user (UPN or id) for the canary write.")
@click.option("--probe-enums", is_flag=True, help="Also try every proficiency level.")
@config_option
def check(user: str, probe_enums: bool, config_path: Path | None) -> None:
    """Preflight: config, sign-in, permissions, and a canary write/read/delete on --user.

    Exits ok when every step passed, rows-invalid-or-failed when the target refuses something
    (each failed step says what to change), usage-config-or-input for a config or sign-in error.
    """
    from importer.write.preflight import run_checks

    setup_logging("text", True)
    settings = load_settings(config_path)
    report = asyncio.run(run_checks(settings, user, probe_enums=probe_enums))
    render_preflight(Console(), report)
    sys.exit(report.exit_code)
