"""Throttling, summarised for the log: the first wait, then one line a minute, then totals.

Under heavy throttling Graph answers hundreds of 429s with ``Retry-After``. One log line
each would bury everything else in the log (and in run.log), so the shared gate reports its
waits here instead:

- the first wait of the run is logged as it happens;
- after that, at most one line a minute: the total time waited so far and the rate Graph
  currently accepts (the pacer's rate);
- ``finish`` logs the run's totals, which also go to summary.json (``totals``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

__all__ = ["SUMMARY_EVERY_S", "ThrottleLog"]

logger = logging.getLogger(__name__)

#: Seconds between summary lines while throttling goes on.
SUMMARY_EVERY_S = 60.0


def _no_rate() -> float | None:
    return None


class ThrottleLog:
    """Counts the gate's waits and logs them in summary.

    Args:
        clock: monotonic seconds (injectable in tests).
        every_s: seconds between summary lines.

    Attributes:
        waits: how many times Graph made every request wait.
        waited_s: the time requests were held back in total (overlapping waits counted once).
        accepted_rate: reads the sub-requests per second Graph currently accepts (set by the
            owner of the pacer); None when not pacing.
    """

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, every_s: float = SUMMARY_EVERY_S
    ) -> None:
        self._clock = clock
        self._every_s = every_s
        self._last_line = -math.inf
        self._unreported = 0
        self.waits = 0
        self.waited_s = 0.0
        self.accepted_rate: Callable[[], float | None] = _no_rate

    def note_wait(self, asked_s: float, added_s: float) -> None:
        """Graph asked every request to wait ``asked_s``; the gate is held ``added_s`` longer."""
        self.waits += 1
        self.waited_s += max(0.0, added_s)
        now = self._clock()
        if self.waits == 1:
            logger.info(
                "Graph is throttling: asked to wait %.1f s, every request is held back; "
                "further waits are summarised once a minute",
                asked_s,
            )
            self._last_line = now
        elif now - self._last_line >= self._every_s:
            logger.info("throttling: %s", self._describe())
            self._last_line = now
            self._unreported = 0
        else:
            self._unreported += 1

    def finish(self) -> None:
        """Log the run's totals (nothing when Graph never asked to wait)."""
        if self.waits:
            logger.info("throttling over the run: %s", self._describe())

    def totals(self) -> dict[str, float | int | None]:
        """For summary.json: waits, seconds waited, and the rate accepted at the end."""
        rate = self.accepted_rate()
        return {
            "waits": self.waits,
            "waited_s": round(self.waited_s, 1),
            "accepted_rate": None if rate is None else round(rate, 1),
        }

    def _describe(self) -> str:
        rate = self.accepted_rate()
        accepted = (
            f"; Graph currently accepts about {rate:,.0f} requests/s" if rate is not None else ""
        )
        return f"waited {self.waited_s:,.1f} s in total over {self.waits} waits{accepted}"
