"""The Python entry point for migration scripts: rows in, the same run as the command line.

A script that already holds the rows (read from an API, a legacy export, a pandas DataFrame)
hands them over instead of writing a file first::

    from importer.api import import_rows

    result = import_rows(
        [{"Employee Email": "adele.vance@contoso.com", "Skill": "Excel", "Level": "4"}],
        config="config.yaml",
        dry_run=True,
    )
    print(result.exit_code, result.counts, result.report_dir)

The rows go through the same header matching, validation, skills map, duplicates policy,
planning, writing and report as ``skills-import run``; ``exit_code`` means what the command's
exit code means. Errors that stop a run before anything is sent (a config or input error)
raise ``ImporterError`` subclasses whose ``exit_code`` is 2, as the command would exit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from importer.config import Settings, load_settings
from importer.pipeline import RunResult, run_import, validate_files
from importer.read import RowsInput

__all__ = ["RowsInput", "import_rows", "import_rows_async", "validate_rows"]


def _settings(config: Settings | Path | str | None) -> Settings:
    if isinstance(config, Settings):
        return config
    return load_settings(Path(config) if config is not None else None)


async def import_rows_async(
    rows: Iterable[Mapping[str, Any]] | Any,
    *,
    config: Settings | Path | str | None = None,
    dry_run: bool = False,
    name: str = "rows",
) -> RunResult:
    """``import_rows`` for a script that already runs an event loop (e.g. a notebook)."""
    return await run_import([RowsInput(rows, name)], _settings(config), dry_run=dry_run)


def import_rows(
    rows: Iterable[Mapping[str, Any]] | Any,
    *,
    config: Settings | Path | str | None = None,
    dry_run: bool = False,
    name: str = "rows",
) -> RunResult:
    """Import rows as ``skills-import run`` imports a file.

    Args:
        rows: mappings of column name to value (the first row's keys are the header), or a
            pandas DataFrame. Column names are matched like a file's header.
        config: a config file, ready ``Settings``, or None for ``./config.yaml`` if present.
        dry_run: plan only: report would-create/update/delete, write nothing.
        name: what the report shows as the rows' ``source``.

    Returns:
        The run's result: ``exit_code`` (as for the command: ``importer.errors.EXIT_CODES``),
        counts per action, and the report folder.

    Raises:
        ImporterError: before anything is sent (``exit_code`` 2, or 4 when another run holds
            the lock).
    """
    return asyncio.run(import_rows_async(rows, config=config, dry_run=dry_run, name=name))


def validate_rows(
    rows: Iterable[Mapping[str, Any]] | Any,
    *,
    config: Settings | Path | str | None = None,
    name: str = "rows",
) -> RunResult:
    """Validate rows offline, as ``skills-import validate`` does a file (no network)."""
    return validate_files([RowsInput(rows, name)], _settings(config))
