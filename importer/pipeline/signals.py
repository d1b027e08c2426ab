"""Interrupts during ``run``: Ctrl-C, SIGTERM or Ctrl-Break stop sending; the report is written.

The run then ends with exit 130.

The handlers are installed with ``signal.signal``, which every operating system has, never with
``loop.add_signal_handler``, which Windows' event loops lack. A handler only asks the event loop,
thread-safely, to call ``stop``; that wakes the loop at once (through its self-pipe on POSIX,
its proactor wake-up on Windows), so the stop does not wait for the next timer. Handlers are
installed only from the main thread (the only one Python lets install them); elsewhere, as in
some tests, the run simply cannot be interrupted by a signal. The previous handlers come back
when the block ends.

While rows are read and validated the event loop is held, so ``stopped_by_signals`` only sets a
flag the reading loop looks at between rows; the first signal also gives the previous handlers
back, so a second Ctrl-C stops at once (without a report) when a read is stuck.

Which signals, per operating system:

- POSIX: SIGINT (Ctrl-C) and SIGTERM (what cron, systemd and Kubernetes send before SIGKILL).
- Windows: SIGINT (Ctrl-C), SIGBREAK (Ctrl-Break, and what a console host sends when it asks
  the job to stop), and SIGTERM for ``signal.raise_signal``. Task Scheduler's "end task" kills
  the process outright: no program can write a report then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Generator, Iterator
from types import FrameType
from typing import Any, TypeVar

__all__ = ["interrupt_signals", "rows_until_stopped", "stop_on_signals", "stopped_by_signals"]

logger = logging.getLogger(__name__)

_Row = TypeVar("_Row")


def interrupt_signals() -> list[int]:
    """The signals that interrupt a run on this operating system."""
    signals = [int(signal.SIGINT), int(signal.SIGTERM)]
    ctrl_break = getattr(signal, "SIGBREAK", None)  # Windows only
    if ctrl_break is not None:
        signals.append(int(ctrl_break))
    return signals


@contextlib.contextmanager
def stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Call ``stop`` on the running loop when the run is interrupted; restore handlers after.

    Args:
        stop: asks the run to stop sending (idempotent); called on the event loop's thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()

    def stop_now(signum: int) -> None:
        logger.warning("interrupted (signal %d): stopping; the report will be written", signum)
        stop()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop already closed
            loop.call_soon_threadsafe(stop_now, signum)

    previous: dict[int, Any] = {}
    try:
        for signum in interrupt_signals():
            try:
                previous[signum] = signal.signal(signum, on_signal)
            except (OSError, ValueError):
                continue  # a signal this platform will not let a program catch
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


@contextlib.contextmanager
def stopped_by_signals() -> Iterator[threading.Event]:
    """A flag set by the first interrupt; the previous handlers come back at once after it.

    For work that holds the event loop (reading and validating): it checks the flag between
    rows. A second Ctrl-C then acts as Python's default does (``KeyboardInterrupt``), for a
    read that does not come back.
    """
    stopped = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stopped
        return
    previous: dict[int, Any] = {}

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        previous.clear()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.warning(
            "interrupted (signal %d): stopping after the row being read; the report of the "
            "rows read so far will be written (interrupt again to stop at once, without it)",
            signum,
        )
        stopped.set()
        restore()

    try:
        for signum in interrupt_signals():
            try:
                previous[signum] = signal.signal(signum, on_signal)
            except (OSError, ValueError):
                continue
        yield stopped
    finally:
        restore()


def rows_until_stopped(rows: Iterator[_Row], stop: Callable[[], bool]) -> Iterator[_Row]:
    """The rows, up to the one read when ``stop`` turned true: the reader reads no further.

    Rows the shaper or the validator still hold are let through, so every row read is reported.
    """
    try:
        for row in rows:
            yield row
            if stop():
                return
    finally:
        if isinstance(rows, Generator):
            rows.close()
