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
from importer.errors import ConfigError
from importer.read import is_database_url
from importer.shape import LAYOUTS
from importer.validate.user_keys import USER_KEYS

__all__ = [
    "SOURCES",
    "common_options",
    "config_option",
    "settings_from",
    "sources_of",
    "user_key_option",
]

#: Flag name -> (settings section, key). A flag that was not given (None) changes nothing.
_FLAG_SETTINGS = {
    "mode": ("run", "mode"),
    "concurrency": ("run", "concurrency"),
    "batch_size": ("run", "batch_size"),
    "report_dir": ("report", "dir"),
    "sheets": ("input", "sheets"),
    "user_key": ("input", "user_key"),
    "layout": ("input", "layout"),
    "target": ("target", "graph"),
    "query": ("input", "query"),
    "library": ("orgdata", "library"),
}

#: The SOURCE arguments of the commands that read input: file paths or database URLs.
SOURCES = click.argument("sources", metavar="SOURCE...", nargs=-1, required=True)


def sources_of(arguments: tuple[str, ...]) -> list[Path | str]:
    """File paths as ``Path``; database URLs stay ``str`` (a Path would fold their ``//``)."""
    return [text if is_database_url(text) else Path(text) for text in arguments]


def config_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``-c/--config PATH`` as the ``config_path`` argument."""
    return click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(path_type=Path),
        help="Settings file [default: ./config.yaml if present].",
    )(func)


def user_key_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--user-key KEY``: what the user column holds (``input.user_key``)."""
    return click.option(
        "--user-key",
        type=click.Choice(list(USER_KEYS)),
        help="What the user column holds; every key is resolved through the directory "
        "[default: input.user_key, auto: a GUID is an object id, else a UPN].",
    )(func)


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--config`` and the settings flags of the commands that read input files."""
    options: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
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
        user_key_option,
        click.option(
            "--layout",
            type=click.Choice(list(LAYOUTS)),
            help="rows: one skill per row; matrix: one column per skill, levels in the cells; "
            "list: several skills in one cell, each optionally 'Name (Level)'; auto: decided "
            "from the header and cells [default: input.layout, auto].",
        ),
        click.option("--target", help="sandbox, a Graph cloud URL, or http://127.0.0.1:PORT."),
        click.option("--query", help="Database SOURCE: the SELECT that yields the rows."),
        click.option(
            "--query-file",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Database SOURCE: a file holding the SELECT.",
        ),
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
    """The run's settings: the config file, then the flags that were given on top.

    Raises:
        ConfigError: both ``--query`` and ``--query-file``, or a query file that cannot be read.
    """
    query_file: Path | None = flags.pop("query_file", None)
    if query_file is not None:
        if flags.get("query") is not None:
            raise ConfigError("command line: give --query or --query-file, not both")
        try:
            flags["query"] = query_file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ConfigError(f"{query_file}: cannot read the query file ({reason})") from None
    return load_settings(config_path, _overrides(**flags))
