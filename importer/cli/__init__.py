"""The ``skills-import`` command line: parse, build settings, call the pipeline, render.

The only module that imports click and rich. Every ``ImporterError`` becomes one line on
stderr and its exit code; nothing else is caught, so a bug still shows its traceback.

Exit codes: 0 every row created/updated/unchanged/deleted (or valid) · 1 finished, some rows
invalid or failed · 2 usage, config or input error, nothing sent · 3 stopped by a safety guard ·
4 another run holds the lock · 130 interrupted (the report is still written).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from importer import __version__
from importer.config import Settings, load_settings
from importer.errors import ConfigError, ImporterError
from importer.pipeline import RunResult, run_import, validate_files

if TYPE_CHECKING:
    from importer.write.dispatcher import ProgressState

__all__ = ["cli", "main"]

EXIT_CODES = {
    0: "ok",
    1: "rows-invalid-or-failed",
    2: "usage-config-or-input",
    3: "safety-abort",
    4: "locked",
    130: "interrupted",
}

_ACTION_ORDER = (
    "created",
    "updated",
    "unchanged",
    "deleted",
    "valid",
    "would-create",
    "would-update",
    "would-delete",
    "duplicate",
    "invalid",
    "failed",
)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            }
        )


#: Log lines and the progress bar share one console on stderr, so that rich keeps the bar
#: below the log lines instead of drawing over them.
_STDERR = Console(stderr=True)


def _setup_logging(log_format: str, quiet: bool) -> None:
    handler: logging.Handler
    if log_format == "json":
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_JsonFormatter())
    elif _STDERR.is_terminal:
        handler = RichHandler(console=_STDERR, show_path=False, log_time_format="%H:%M:%S")
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    handler.setLevel(logging.WARNING if quiet else logging.INFO)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # aiohttp's access log and azure's HTTP logging would be noise (and azure's may show headers).
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("azure").setLevel(logging.WARNING)


def _overrides(**flags: Any) -> dict[str, Any]:
    """Nested settings from the flags that were actually given (None = not given)."""
    mapping = {
        "mode": ("run", "mode"),
        "concurrency": ("run", "concurrency"),
        "batch_size": ("run", "batch_size"),
        "report_dir": ("report", "dir"),
        "sheets": ("input", "sheets"),
        "target": ("target", "graph"),
    }
    out: dict[str, Any] = {}
    for name, value in flags.items():
        if value is None or value == ():
            continue
        section, key = mapping[name]
        out.setdefault(section, {})[key] = value
    return out


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "-c",
            "--config",
            "config_path",
            type=click.Path(path_type=Path),
            help="Settings file [default: ./config.yaml if present].",
        ),
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


def _settings(config_path: Path | None, **flags: Any) -> Settings:
    return load_settings(config_path, _overrides(**flags))


def _render_summary(console: Console, result: RunResult, title: str) -> None:
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("action")
    table.add_column("rows", justify="right")
    for action in _ACTION_ORDER:
        count = result.counts.get(action, 0)
        if count:
            table.add_row(action, str(count))
    table.add_row("[dim]blank rows skipped[/dim]", str(result.summary.blank_rows))
    console.print(table)
    http = result.summary.http
    if http:
        console.print(
            "HTTP: " + ", ".join(f"{key} {value}" for key, value in http.items()), highlight=False
        )
    console.print(f"Target: {result.summary.target}", highlight=False)
    for warning in result.warnings[:10]:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    if len(result.warnings) > 10:
        console.print(f"[yellow]... and {len(result.warnings) - 10} more warnings in summary.json")
    style = "green" if result.exit_code == 0 else "yellow" if result.exit_code == 1 else "red"
    console.print(f"[{style}]exit {result.exit_code}: {result.reason}[/{style}]", highlight=False)
    console.print(f"Report: {result.report_dir}", highlight=False)


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


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@_common
def validate(
    files: tuple[Path, ...], config_path: Path | None, quiet: bool, log_format: str, **flags: Any
) -> None:
    """Read and validate FILES offline and write the report; never touches the network."""
    _setup_logging(log_format, quiet)
    settings = _settings(config_path, **flags)
    result = validate_files(list(files), settings)
    _render_summary(Console(stderr=False), result, "Validation")
    sys.exit(result.exit_code)


def _poll_progress(
    console: Console, quiet: bool
) -> tuple[Callable[[ProgressState], None], Callable[[], Any]]:
    """A progress callback for run_import, and the coroutine factory that draws it."""
    holder: list[ProgressState] = []
    attached = asyncio.Event()

    def attach(state: ProgressState) -> None:
        holder.append(state)
        attached.set()

    async def draw() -> None:
        logger = logging.getLogger("importer.progress")
        await attached.wait()
        state = holder[0]
        if quiet:
            return
        if console.is_terminal:
            columns = (
                TextColumn("[bold]importing"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeRemainingColumn(),
            )
            with Progress(*columns, console=console, transient=True) as bar:
                task = bar.add_task("rows", total=state.total, detail="")
                started = time.monotonic()
                while True:
                    rate = state.done / max(1e-6, time.monotonic() - started)
                    detail = f"{rate:,.0f} rows/s {_detail(state)}"
                    bar.update(task, completed=state.done, detail=detail)
                    await asyncio.sleep(0.2)
        else:
            started = time.monotonic()
            while True:
                await asyncio.sleep(10)
                rate = state.done / max(1e-6, time.monotonic() - started)
                logger.info(
                    "progress: %d/%d rows (%.0f rows/s) %s",
                    state.done,
                    state.total,
                    rate,
                    _detail(state),
                )

    return attach, draw


def _detail(state: ProgressState) -> str:
    parts = [
        f"{name} {state.actions[name]}"
        for name in ("created", "updated", "unchanged", "failed")
        if state.actions[name]
    ]
    if state.throttled():
        parts.append("(throttled: waiting as Graph asked)")
    return " ".join(parts)


async def _run_with_progress(
    files: Sequence[Path],
    settings: Settings,
    dry_run: bool,
    allow_deletes: int | None,
    console: Console,
    quiet: bool,
) -> RunResult:
    attach, draw = _poll_progress(console, quiet)
    drawer = asyncio.create_task(draw())
    try:
        return await run_import(
            files, settings, dry_run=dry_run, allow_deletes=allow_deletes, progress=attach
        )
    finally:
        drawer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await drawer


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Plan only: report would-create/update/delete.")
@click.option(
    "--allow-deletes",
    type=int,
    help="sync: allow up to N deletes this run, whatever max_delete_ratio says.",
)
@_common
def run(
    files: tuple[Path, ...],
    dry_run: bool,
    allow_deletes: int | None,
    config_path: Path | None,
    quiet: bool,
    log_format: str,
    **flags: Any,
) -> None:
    """Import FILES: read, validate, plan against the target, write, report."""
    _setup_logging(log_format, quiet)
    settings = _settings(config_path, **flags)
    result = asyncio.run(
        _run_with_progress(list(files), settings, dry_run, allow_deletes, _STDERR, quiet)
    )
    title = "Dry run (nothing written)" if dry_run else "Import"
    _render_summary(Console(), result, title)
    sys.exit(result.exit_code)


@cli.command()
@click.option("--port", type=int, default=8765, show_default=True, help="Port on 127.0.0.1.")
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
@click.option("--enums-as-numbers", is_flag=True, help='Answer "proficiency":"4" like Graph has.')
@click.option("--show", "show_user", help="Print one user's skills as a table and exit.")
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Settings file [default: ./config.yaml if present].",
)
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
    enums_as_numbers: bool,
    show_user: str | None,
    config_path: Path | None,
) -> None:
    """Serve the built-in Graph emulator on 127.0.0.1 (never another interface)."""
    from importer.sandbox import FaultConfig, SandboxConfig, dump_user_skills, serve_forever

    _setup_logging("text", False)
    settings = load_settings(config_path)
    db_path = db or settings.target.sandbox_db
    users_csv = directory or settings.target.sandbox_directory
    if show_user:
        try:
            skills = dump_user_skills(str(db_path), users_csv, show_user)
        except FileNotFoundError:
            raise ConfigError(
                f"{db_path}: no sandbox database here yet (run an import first)"
            ) from None
        except (LookupError, ValueError) as exc:
            raise ConfigError(f"{users_csv}: {exc}") from None
        table = Table(title=f"Skills of {show_user} in the sandbox")
        for column in _SHOW_COLUMNS:
            table.add_column(column)
        for skill in skills:
            table.add_row(*(_cell(skill.get(column)) for column in _SHOW_COLUMNS))
        Console().print(table)
        return
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    faults = FaultConfig(
        latency_ms=latency_ms,
        throttle_rps=throttle_rps,
        throttle_burst=throttle_burst,
        error_503_rate=error_503_rate,
        commit_then_504_rate=commit_then_504_rate,
        reset_rate=reset_rate,
        enums_as_numbers=enums_as_numbers,
    )
    click.echo(
        f"Sandbox on http://127.0.0.1:{port}/beta (db {db_path}); nothing here reaches "
        f"Microsoft Graph. Token: 'sandbox'. Ctrl-C stops it."
    )
    serve_forever(
        SandboxConfig(db_path=str(db_path), directory=users_csv, faults=faults), port=port
    )


_SHOW_COLUMNS = (
    "displayName",
    "proficiency",
    "categories",
    "collaborationTags",
    "allowedAudiences",
    "source",
)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}={_cell(item)}" for key, item in value.items())
    return str(value)


@cli.command()
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Settings file [default: ./config.yaml if present].",
)
def login(config_path: Path | None) -> None:
    """Sign in with a device code and cache the account for unattended runs."""
    from importer.graph.auth import login as device_login

    settings = load_settings(config_path)
    account = device_login(settings, prompt=lambda message: click.echo(message, err=True))
    click.echo(f"Signed in as {account}; unattended runs will use this account.")


@cli.command()
@click.option("--user", required=True, help="A user (UPN or id) for the canary write.")
@click.option("--probe-enums", is_flag=True, help="Also try every proficiency level.")
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Settings file [default: ./config.yaml if present].",
)
def check(user: str, probe_enums: bool, config_path: Path | None) -> None:
    """Preflight: config, sign-in, permissions, and a canary write/read/delete on --user.

    Exit 0 when every step passed, 1 when the target refuses something (each failed step says
    what to change), 2 for a config or sign-in error.
    """
    from importer.write.preflight import run_checks

    _setup_logging("text", True)
    settings = load_settings(config_path)
    report = asyncio.run(run_checks(settings, user, probe_enums=probe_enums))
    table = Table(title=f"Preflight against {report.target}")
    for column in ("check", "result", "detail", "what to do"):
        table.add_column(column, overflow="fold")
    marks = {True: "[green]ok[/green]", False: "[red]FAILED[/red]", None: "[dim]skipped[/dim]"}
    for result in report.results:
        table.add_row(result.name, marks[result.ok], result.detail, result.advice)
    Console().print(table)
    sys.exit(report.exit_code)


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
