"""The progress of ``run``: a bar on a terminal, a log line every 10 s otherwise.

The dispatcher keeps live counters (``ProgressState``); this module only reads them. The bar
disappears when the run ends, so the summary table stands alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from importer.config import Settings
from importer.pipeline import RunResult, run_import

if TYPE_CHECKING:
    from importer.write.dispatcher import ProgressState

__all__ = ["run_with_progress"]


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


async def run_with_progress(
    files: Sequence[Path | str],
    settings: Settings,
    dry_run: bool,
    allow_deletes: int | None,
    console: Console,
    quiet: bool,
) -> RunResult:
    """``run_import`` with its progress drawn on ``console`` while it runs."""
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
