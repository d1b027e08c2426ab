"""The progress of ``run``: phases with counts on a terminal, else a log line every few seconds.

The stages keep live counters (``importer.progress.RunProgress``); this module only reads
them. Both ways of showing them run on a thread of their own, so they keep going while
reading and validating hold the event loop:

- on a terminal, a live line under the log lines: the phase (reading, resolving users,
  listing, writing), n/N with a bar, the rate, the time left, what the phase is doing (the
  directory page or lookup), and a yellow "throttled" while Graph has asked to wait. It
  disappears when the run ends, so the summary table stands alone.
- without a terminal, or with ``--log-format json``, a log line every ``LOG_EVERY_S`` seconds
  (schedulers and run.log get it; "at least every 10 s" with room for a busy machine).

On a terminal, run.log gets the same line every ``TERMINAL_LOG_EVERY_S`` seconds, marked
``RUN_LOG_ONLY`` so the console's handler leaves it out (the live line shows it already).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from importer.cli.console import RUN_LOG_ONLY
from importer.config import Settings
from importer.pipeline import RunResult, run_import
from importer.progress import RunProgress, per_second

__all__ = [
    "LOG_EVERY_S",
    "TERMINAL_LOG_EVERY_S",
    "log_progress",
    "run_with_progress",
]

#: Seconds between progress log lines when there is no terminal to draw on.
LOG_EVERY_S = 5.0
#: Seconds between progress lines in run.log while a terminal shows the live line.
TERMINAL_LOG_EVERY_S = 10.0

logger = logging.getLogger("importer.progress")


def _render(progress: RunProgress) -> Table:
    grid = Table.grid(padding=(0, 1))
    for _ in range(6):
        grid.add_column()
    phases = progress.active()
    if not phases:
        grid.add_row(Text("starting", style="dim"))
        return grid
    for phase in phases:
        count = f"{phase.done:,}" if phase.total is None else f"{phase.done:,}/{phase.total:,}"
        bar: Text | ProgressBar = Text("")
        if phase.total is not None:
            bar = ProgressBar(total=max(phase.total, 1), completed=phase.done, width=30)
        eta = progress.eta_s(phase)
        grid.add_row(
            Text(phase.name, style="bold"),
            bar,
            Text(f"{count} {phase.unit}"),
            Text("interrupted" if progress.interrupted else per_second(progress.rate(phase))),
            Text(f"ETA {_clock(eta)}" if eta is not None else ""),
            Text(phase.note, style="dim"),
        )
    notes: list[Text] = []
    rate = progress.accepted_rate()
    if rate is not None:
        notes.append(Text(f"Graph accepts ~{rate:,.0f} requests/s", style="dim"))
    if progress.throttled():
        notes.append(Text("throttled: waiting as Graph asked", style="yellow"))
    people = progress.people_line()
    if people:
        notes.append(Text(people, style="dim"))
    if notes:
        grid.add_row(Text(""), *notes)
    return grid


def _clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@contextmanager
def log_progress(
    progress: RunProgress, every_s: float = LOG_EVERY_S, *, run_log_only: bool = False
) -> Iterator[None]:
    """Log ``progress.line()`` every ``every_s`` seconds from a thread, for as long as it runs.

    With ``run_log_only``, the lines go to run.log but not to the console.
    """
    stop = threading.Event()
    extra = {RUN_LOG_ONLY: True} if run_log_only else None

    def loop() -> None:
        while not stop.wait(every_s):
            logger.info("progress: %s", progress.line(), extra=extra)

    thread = threading.Thread(target=loop, name="progress-log", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextmanager
def _show(progress: RunProgress, console: Console, quiet: bool, log_format: str) -> Iterator[None]:
    if console.is_terminal and log_format != "json":
        with log_progress(progress, TERMINAL_LOG_EVERY_S, run_log_only=True):
            if quiet:
                yield
                return
            with Live(
                get_renderable=lambda: _render(progress),
                console=console,
                refresh_per_second=4,
                transient=True,
            ):
                yield
    else:
        # Logged even with --quiet: run.log keeps INFO lines whatever the console shows.
        with log_progress(progress):
            yield


async def run_with_progress(
    files: Sequence[Path | str],
    settings: Settings,
    dry_run: bool,
    allow_deletes: int | None,
    console: Console,
    quiet: bool,
    log_format: str = "text",
    *,
    full: bool = False,
) -> RunResult:
    """``run_import`` with its progress shown on ``console`` (or logged) while it runs.

    ``full``: list every person, whatever the confirmed state says (``--full``).
    """
    progress = RunProgress()
    with _show(progress, console, quiet, log_format):
        return await run_import(
            files,
            settings,
            dry_run=dry_run,
            allow_deletes=allow_deletes,
            progress=progress,
            full=full,
        )
