"""``skills-import login``: sign in once with a device code for unattended runs."""

from __future__ import annotations

from pathlib import Path

import click

from importer.cli.console import setup_logging
from importer.cli.options import config_option
from importer.config import load_settings

__all__ = ["login"]


@click.command()
@config_option
def login(config_path: Path | None) -> None:
    """Sign in with a device code and cache the account for unattended runs."""
    from importer.graph.auth import login as device_login

    setup_logging("text", False)
    settings = load_settings(config_path)
    account = device_login(settings, prompt=lambda message: click.echo(message, err=True))
    click.echo(f"Signed in as {account}; unattended runs will use this account.")
