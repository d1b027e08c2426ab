"""``skills-import sandbox``: serve the built-in Graph emulator, or show one user's skills."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from importer.cli.console import setup_logging
from importer.cli.options import config_option
from importer.cli.rendering import render_user_skills
from importer.config import load_settings
from importer.errors import ConfigError

__all__ = ["sandbox"]


@click.command()
@click.option(
    "--port", type=int, default=8765, show_default=True, help="Port on 127.0.0.1 (0 = a free one)."
)
@click.option(
    "--db", type=click.Path(path_type=Path), help="SQLite file [default: target.sandbox_db]."
)
@click.option(
    "--directory",
    type=click.Path(path_type=Path),
    help="Users CSV [default: target.sandbox_directory].",
)
@click.option("--latency-ms", type=float, default=0, help="Added to every Graph request.")
@click.option("--throttle-rps", type=float, default=0, help="Answer 429 above this rate (0 = off).")
@click.option(
    "--throttle-burst",
    type=float,
    default=0,
    help="Requests admitted at once before throttling [default: a tenth of a second's worth].",
)
@click.option("--error-503-rate", type=float, default=0, help="Share of requests answered 503.")
@click.option(
    "--commit-then-504-rate",
    type=float,
    default=0,
    help="Share of writes stored, then answered 504.",
)
@click.option("--reset-rate", type=float, default=0, help="Share of connections dropped.")
@click.option(
    "--late-commit-rate",
    type=float,
    default=0,
    help="Share of creates stored only --late-commit-ms after they arrive.",
)
@click.option("--late-commit-ms", type=float, default=0, help="How late those creates are stored.")
@click.option(
    "--late-commit-jitter-ms",
    type=float,
    default=0,
    help="Each late commit varies by up to this much either way.",
)
@click.option(
    "--late-commit-answer",
    type=click.Choice(["at-once", "with-commit"]),
    default="at-once",
    show_default=True,
    help="504 at once, or 201 only once stored (after a shorter client timeout has expired).",
)
@click.option("--enums-as-numbers", is_flag=True, help='Answer "proficiency":"4" like Graph has.')
@click.option("--show", "show_user", help="Print one user's skills as a table and exit.")
@config_option
def sandbox(
    port: int,
    db: Path | None,
    directory: Path | None,
    latency_ms: float,
    throttle_rps: float,
    throttle_burst: float,
    error_503_rate: float,
    commit_then_504_rate: float,
    reset_rate: float,
    late_commit_rate: float,
    late_commit_ms: float,
    late_commit_jitter_ms: float,
    late_commit_answer: str,
    enums_as_numbers: bool,
    show_user: str | None,
    config_path: Path | None,
) -> None:
    """Serve the built-in Graph emulator on 127.0.0.1 (never another interface)."""
    from importer.sandbox import FaultConfig, SandboxConfig, dump_user_skills, serve_forever
    from importer.targets import sandbox_directory

    setup_logging("text", False)
    settings = load_settings(config_path)
    db_path = db or settings.target.sandbox_db
    users_csv = directory or sandbox_directory(settings)
    if show_user:
        try:
            skills = dump_user_skills(str(db_path), users_csv, show_user)
        except FileNotFoundError:
            raise ConfigError(
                f"{db_path}: no sandbox database here yet (run an import first)"
            ) from None
        except (LookupError, ValueError) as exc:
            raise ConfigError(f"{users_csv}: {exc}") from None
        render_user_skills(Console(), show_user, skills)
        return
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    faults = FaultConfig(
        latency_ms=latency_ms,
        throttle_rps=throttle_rps,
        throttle_burst=throttle_burst,
        error_503_rate=error_503_rate,
        commit_then_504_rate=commit_then_504_rate,
        reset_rate=reset_rate,
        late_commit_rate=late_commit_rate,
        late_commit_ms=late_commit_ms,
        late_commit_jitter_ms=late_commit_jitter_ms,
        late_commit_answer=late_commit_answer,
        enums_as_numbers=enums_as_numbers,
    )

    def ready(bound: int) -> None:
        click.echo(
            f"Sandbox on http://127.0.0.1:{bound}/beta (db {db_path}); nothing here reaches "
            f"Microsoft Graph. Token: 'sandbox'. Ctrl-C stops it."
        )

    serve_forever(
        SandboxConfig(db_path=str(db_path), directory=users_csv, faults=faults),
        port=port,
        ready=ready,
    )
