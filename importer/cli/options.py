"""The options every command shares, declared once.

``config_option`` is the one declaration of ``-c/--config``; ``common_options`` adds the
options of the commands that read input files (``run``, ``validate``). ``settings_from`` turns
the given flags into the run's settings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from importer.config import Settings, load_settings

__all__ = ["common_options", "config_option", "settings_from"]

#: Flag name -> (settings section, key). A flag that was not given (None) changes nothing.
_FLAG_SETTINGS = {
    "mode": ("run", "mode"),
    "concurrency": ("run", "concurrency"),
    "batch_size": ("run", "batch_size"),
    "report_dir": ("report", "dir"),
    "sheets": ("input", "sheets"),
    "target": ("target", "graph"),
}


def config_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``-c/--config PATH`` as the ``config_path`` argument."""
    return click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(path_type=Path),
        help="Settings file [default: ./config.yaml if present].",
    )(func)


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--config`` and the settings flags of the commands that read input files."""
    options = [
        config_option,
        click.option(
            "--report-dir",
            type=click.Path(path_type=Path),
            help="Where the run's report folder is written [default: reports].",
        ),
        click.option(
            "--mode",
            type=click.Choice(["create", "upsert", "sync"]),
            help="create: only add missing skills; upsert: add and update; sync: also "
            "delete skills this tool created that left the file.",
        ),
        click.option("--concurrency", type=int, help="HTTP requests in flight at once."),
        click.option("--batch-size", type=int, help="Sub-requests per $batch (1 = no $batch)."),
        click.option(
            "--sheet",
            "sheets",
            multiple=True,
            help="Workbook sheet to read (repeatable) [default: every sheet].",
        ),
        click.option("--target", help="sandbox, a Graph cloud URL, or http://127.0.0.1:PORT."),
        click.option("--quiet", is_flag=True, help="Only warnings, errors and the summary."),
        click.option(
            "--log-format",
            type=click.Choice(["text", "json"]),
            default="text",
            show_default=True,
            help="Log lines for people or for log collectors.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _overrides(**flags: Any) -> dict[str, Any]:
    """Nested settings from the flags that were actually given (None = not given)."""
    out: dict[str, Any] = {}
    for name, value in flags.items():
        if value is None or value == ():
            continue
        section, key = _FLAG_SETTINGS[name]
        out.setdefault(section, {})[key] = value
    return out


def settings_from(config_path: Path | None, **flags: Any) -> Settings:
    """The run's settings: the config file, then the flags that were given on top."""
    return load_settings(config_path, _overrides(**flags))
