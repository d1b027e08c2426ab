"""Run progress: phases with counts, rate and time left, and the throttled note."""

from __future__ import annotations

import logging
import threading

import pytest

from importer.cli.progress import log_progress
from importer.graph.throttle_log import ThrottleLog
from importer.progress import LISTING, READING, WRITING, RunProgress
from tests.conftest import FakeClock


def test_a_progress_line_names_each_running_phase_with_count_rate_and_time_left() -> None:
    clock = FakeClock()
    progress = RunProgress(clock=clock)
    progress.start(READING)
    progress.set_done(READING, 0)
    clock.advance(2)
    progress.set_done(READING, 4000)
    assert progress.line() == "reading 4000 rows (2,000/s)"

    progress.finish(READING)
    progress.start(LISTING, 400, "users")
    progress.start(WRITING, 1000, "rows")
    progress.advance(phase=LISTING)
    progress.count("created")
    clock.advance(10)
    progress.advance(99, phase=LISTING)
    for _ in range(49):
        progress.count("created")
    progress.throttled = lambda: True
    progress.accepted_rate = lambda: 180.0

    assert progress.line() == (
        "listing 100/400 users (10/s, about 30 s left); writing 50/1000 rows (5/s, about 3 min "
        "left); rows so far: created 50; Graph accepts about 180 requests/s; throttled: "
        "waiting as Graph asked"
    )


def test_finished_phases_drop_out_and_the_last_one_stays() -> None:
    progress = RunProgress(clock=FakeClock())
    progress.start(LISTING, 1, "users")
    progress.advance(phase=LISTING)
    assert progress.line().startswith("listing 1/1 users")
    progress.start(WRITING, 2)
    assert progress.line().startswith("writing 0/2 rows")


def test_without_a_terminal_progress_is_logged_until_the_run_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="importer.progress")
    progress = RunProgress()
    progress.start(WRITING, 10)
    logged = []

    class Seen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            logged.append(record.getMessage())
            if len(logged) == 3:
                done.set()

    done = threading.Event()
    handler = Seen()
    logging.getLogger("importer.progress").addHandler(handler)
    try:
        with log_progress(progress, every_s=0.01):
            assert done.wait(10)
        count = len(logged)
    finally:
        logging.getLogger("importer.progress").removeHandler(handler)
    assert len(logged) == count  # the thread stopped with the run
    assert logged[0] == "progress: writing 0/10 rows (0/s)"


def test_throttling_is_logged_once_then_summarised_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="importer.graph.throttle_log")
    clock = FakeClock()
    log = ThrottleLog(clock=clock)
    log.accepted_rate = lambda: 150.0
    for _ in range(40):  # a 429 every 2 s for 80 s, each holding requests back 1 s
        log.note_wait(1.0, 1.0)
        clock.advance(2)
    log.finish()

    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        "Graph is throttling: asked to wait 1.0 s, every request is held back; further waits "
        "are summarised once a minute",
        "throttling: waited 31.0 s in total over 31 waits; Graph currently accepts about 150 "
        "requests/s",
        "throttling over the run: waited 40.0 s in total over 40 waits; Graph currently "
        "accepts about 150 requests/s",
    ]
    assert log.totals() == {"waits": 40, "waited_s": 40.0, "accepted_rate": 150.0}


def test_the_rate_follows_rows_finished_lately_and_a_slow_rate_is_not_shown_as_zero() -> None:
    clock = FakeClock()
    progress = RunProgress(clock=clock)
    progress.start(WRITING, 3000)
    for _ in range(1000):  # a fast start: 1,000 rows in 10 s
        progress.count("created")
    clock.advance(10)
    progress.line()
    for second in range(90):  # then retries under 503/504: one row every 3 s
        clock.advance(1)
        if second % 3 == 0:
            progress.count("created")
        progress.line()  # the display asks every second
    assert progress.line() == (
        "writing 1030/3000 rows (0.3/s, about 1.6 h left); rows so far: created 1030"
    )


def test_after_an_interrupt_the_line_shows_what_was_really_written_and_no_time_left() -> None:
    clock = FakeClock()
    progress = RunProgress(clock=clock)
    progress.start(WRITING, 3000)
    for _ in range(1200):
        progress.count("created")
    clock.advance(60)
    progress.interrupt()
    for _ in range(3):  # answers for rows already in flight still come in
        progress.count("created")
    for _ in range(1797):  # the rest is reported not-sent at once
        progress.count("not-sent")
    assert progress.line() == (
        "writing 1203/3000 rows (interrupted); rows so far: created 1203, not-sent 1797"
    )
