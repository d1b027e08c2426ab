"""How a writer stops: the one switch the profile dispatcher and the connector writer share.

A stop (Ctrl-C, SIGTERM, a guard, a report that cannot be written) ends every wait of the
client at once and tells the batcher to send nothing more; the first reason given is the one
the run reports. A guard's stop is also the run's ``aborted`` reason (exit ``SAFETY_ABORT``);
an interrupt marks the result ``interrupted`` (exit 130).
"""

from __future__ import annotations

import logging

from importer.graph.batcher import Batcher
from importer.graph.client import GraphClient
from importer.write.outcomes import INTERRUPTED, DispatchResult

__all__ = ["StopSwitch"]

logger = logging.getLogger(__name__)


class StopSwitch:
    """Mixed into a writer that has ``_client``, ``_batcher`` (None until sending begins),
    ``_stop_reason`` ("" while running) and ``result``."""

    _client: GraphClient
    _batcher: Batcher | None
    _stop_reason: str
    result: DispatchResult

    def stop(self, reason: str = "interrupted") -> None:
        """Stop sending: every wait ends now, answers on the wire get a short grace; rows
        never sent are reported ``not-sent``."""
        if not self._stop_reason:
            self._stop_reason = reason
            if reason == "interrupted":
                self.result.interrupted = True
            logger.warning("stopping: %s", reason)
        self._client.stop(self._stop_reason, INTERRUPTED if self.result.interrupted else "")
        if self._batcher is not None:
            self._batcher.stop()

    def _abort(self, reason: str) -> None:
        """Stop for a guard: ``reason`` becomes the run's exit reason (the first one wins)."""
        if not self.result.aborted:
            self.result.aborted = reason
        self.stop(reason)
