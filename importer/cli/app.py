"""The ``skills-import`` group and its error boundary.

Every ``ImporterError`` becomes one line on stderr and its exit code; nothing else is caught,
so a bug still shows its traceback. The exit codes listed in the help come from
``importer.errors.EXIT_CODES``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from importer import __version__
from importer.cli.commands import (
    check,
    connector,
    export,
    inspect,
    login,
    run,
    sandbox,
    undo,
    validate,
)
from importer.errors import EXIT_CODES, ExitCode, ImporterError

__all__ = ["cli", "main"]


class _Boundary(click.Group):
    """Turns every ImporterError into one line on stderr and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ImporterError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


def _exit_code_help() -> str:
    """The exit-code table as a block click prints as it is (``\b`` keeps the lines)."""
    lines = [
        f"  {info.code:>3} {info.name}: {info.meaning.replace('`', '')}" for info in EXIT_CODES
    ]
    return "\b\nExit codes:\n" + "\n".join(lines)


@click.group(
    cls=_Boundary,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=_exit_code_help(),
)
@click.version_option(__version__, prog_name="skills-import")
def cli() -> None:
    """Load employees' skills from CSV and Excel files into their Microsoft Graph profiles.

    The default target is a built-in sandbox (a local emulator of the Graph profile-skills
    API): nothing reaches Microsoft Graph until config.yaml's target.graph says so.
    """


for _command in (validate, run, inspect, sandbox, login, check, undo, export, connector):
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
        return ExitCode.INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except SystemExit as exc:
        if isinstance(exc.code, int):
            return exc.code
        return ExitCode.OK if exc.code is None else ExitCode.USAGE
    return code if isinstance(code, int) else ExitCode.OK
