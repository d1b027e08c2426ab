"""The files of a report being streamed, and what happens when one cannot be written.

``ReportFiles`` holds results.csv (with its header written through at once, so a folder that
takes no data fails before any row) and rejects.csv, buffers results.csv lines, and turns the
first failed write into ``failure``: the broken file gets nothing more, counting goes on, and
``on_failure`` tells the pipeline to stop sending. ``ResultsStream`` builds on it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import IO

from importer.records import RowOutcome
from importer.report.csv_files import RESULT_COLUMNS, csv_line, open_csv
from importer.report.rejects import RejectsCsv

__all__ = ["ReportFiles"]

logger = logging.getLogger(__name__)


class ReportFiles:
    """results.csv and rejects.csv of one report, and their first write failure.

    Args:
        path: where results.csv goes.
        rejects: where invalid and failed rows go, or None when rejects.csv is not wanted.
    """

    def __init__(self, path: Path, rejects: RejectsCsv | None) -> None:
        self.results_path = path
        self._results: IO[str] | None = open_csv(path, "w")
        self._results.write(csv_line(RESULT_COLUMNS) + "\r\n")
        # Written through at once: a folder that takes no data fails here, before any row.
        self._results.flush()
        self._buffer: list[str] = []
        self._rejects = rejects
        #: The first write that failed ("cannot write results.csv (No space left on device)"),
        #: or None. After it the broken file gets nothing more; counting goes on.
        self.failure: str | None = None
        #: Called once, when the first write fails (the pipeline stops sending).
        self.on_failure: Callable[[], None] | None = None

    def close(self) -> None:
        """Flush and close the files as they are (idempotent); used on abnormal exit."""
        try:
            self._flush()
        finally:
            if self._results is not None:
                with contextlib.suppress(OSError):  # already reported by _flush
                    self._results.close()
                self._results = None
            if self._rejects is not None:
                with contextlib.suppress(OSError):
                    self._rejects.close()

    def fail(self, name: str, exc: OSError) -> None:
        """Note that a report file could not be written; the first failure is kept and told."""
        if self.failure is not None:
            return
        reason = exc.strerror or type(exc).__name__
        self.failure = f"cannot write {name} in {self.results_path.parent} ({reason})"
        logger.error("report folder: %s", self.failure)
        if self.on_failure is not None:
            self.on_failure()

    def _break_results(self, exc: OSError) -> None:
        results, self._results = self._results, None
        if results is not None:
            with contextlib.suppress(OSError):  # its buffer cannot be written either
                results.close()
        self.fail("results.csv", exc)

    def _break_rejects(self, exc: OSError) -> None:
        rejects, self._rejects = self._rejects, None
        if rejects is not None:
            with contextlib.suppress(OSError):
                rejects.close()
        self.fail("rejects.csv", exc)

    def _reject(self, outcome: RowOutcome) -> None:
        if self._rejects is not None:
            try:
                self._rejects.add(outcome)
            except OSError as exc:
                self._break_rejects(exc)

    def _flush(self) -> None:
        if self._buffer and self._results is not None:
            try:
                self._results.write("\r\n".join(self._buffer))
                self._results.write("\r\n")
            except OSError as exc:
                self._break_results(exc)
        self._buffer.clear()
