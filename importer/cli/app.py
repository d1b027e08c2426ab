"""The ``skills-import`` group and its error boundary.

Every ``ImporterError`` becomes one line on stderr and its exit code; nothing else is caught,
so a bug still shows its traceback.

Exit codes: 0 every row created/updated/unchanged/deleted (or valid) · 1 finished, some rows
invalid or failed · 2 usage, config or input error, nothing sent · 3 stopped by a safety guard ·
4 another run holds the lock · 130 interrupted (the report is still written).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from importer import __version__
from importer.cli.commands import check, login, run, sandbox, validate
from importer.errors import ImporterError

__all__ = ["cli", "main"]


class _Boundary(click.Group):
    """Turns every ImporterError into one line on stderr and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ImporterError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Boundary, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="skills-import")
def cli() -> None:
    """Load employees' skills from CSV and Excel files into their Microsoft Graph profiles.

    The default target is a built-in sandbox (a local emulator of the Graph profile-skills
    API): nothing reaches Microsoft Graph until config.yaml's target.graph says so.

    Exit codes: 0 all rows ok, 1 some rows invalid or failed, 2 usage/config/input error
    (nothing sent), 3 stopped by a safety guard, 4 another run holds the lock, 130 interrupted.
    """


for _command in (validate, run, sandbox, login, check):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit code."""
    try:
        code = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="skills-import",
            standalone_mode=False,
        )
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    return code if isinstance(code, int) else 0
