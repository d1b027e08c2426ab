"""``skills-import connector setup``: prepare the people-data connector a run writes to."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from rich.console import Console

from importer.cli.console import setup_logging
from importer.cli.options import config_option
from importer.config import load_settings

__all__ = ["connector"]


@click.group()
def connector() -> None:
    """The people-data connector target (target.kind: connector)."""


@connector.command()
@click.option(
    "--wait",
    "wait_s",
    type=click.FloatRange(min=0),
    default=900.0,
    show_default=True,
    help="Wait at most this many seconds for the schema to be ready.",
)
@config_option
def setup(wait_s: float, config_path: Path | None) -> None:
    """Create the connection, register its schema and profile source; safe to rerun.

    Waits for the schema (Microsoft says 5 to 15 minutes) with progress, at most --wait
    seconds, then prints what an admin must still approve. Exits ok when the connection is
    ready, rows-invalid-or-failed when Graph refused a step or the schema was not ready in
    time, usage-config-or-input for a config or sign-in error, locked when a run holds the lock.
    """
    from importer.connector.setup import run_setup
    from importer.targets import target_label

    setup_logging("text", True)
    settings = load_settings(config_path)
    console = Console()
    console.print(
        f"Setting up connector '{settings.connector.connection_id}' on {target_label(settings)}"
    )
    report = asyncio.run(
        run_setup(settings, wait_s=wait_s, progress=lambda line: console.print(f"  {line}"))
    )
    console.print("The connection is ready for `skills-import run` with target.kind: connector.")
    console.print("Still to do by an admin:")
    for number, step in enumerate(report.admin_steps, start=1):
        console.print(f"  {number}. {step}", soft_wrap=True)
    sys.exit(0)
