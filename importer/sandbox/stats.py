"""Live counters of what the sandbox has been asked and how it answered."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SandboxStats"]


@dataclass
class SandboxStats:
    """Counters since start (or the last ``POST /_sandbox/reset``).

    A Graph request is one plain HTTP request to a Graph route or one ``$batch`` item; the outer
    ``$batch`` POST is counted in ``batches`` and under the key ``"$batch <status>"`` instead.

    Attributes:
        requests_by_method_status: ``{"POST 201": n, "GET 200": n, "$batch 200": n, ...}``.
        graph_requests: Graph requests answered (plain requests plus ``$batch`` items).
        batches: ``$batch`` envelopes received.
        throttled: 429 answers (plain or item).
        premature_requests: Requests that arrived inside a Retry-After window already announced.
        writes: Writes stored (creates, updates, deletes; including commit-then-504 ones).
        resets: Connections dropped on purpose.
        directory_reads: ``GET /users`` requests (listing pages and lookups), answered or refused.
        in_flight: HTTP requests being handled right now (not zeroed by ``clear``).
        late_commits_pending: Creates waiting to be stored by the late-commit fault (not
            zeroed by ``clear``).
        spoiled: Answers spoiled by the hostile-answer faults (see ``FaultConfig.spoil_limit``).
        deletes_of_removed: DELETEs answered 404 because a DELETE had already removed the skill.
        deletes_of_unknown: DELETEs answered 404 for a skill id the user never had (a wrong id).
    """

    requests_by_method_status: Counter[str] = field(default_factory=Counter)
    graph_requests: int = 0
    batches: int = 0
    throttled: int = 0
    premature_requests: int = 0
    writes: int = 0
    resets: int = 0
    directory_reads: int = 0
    in_flight: int = 0
    late_commits_pending: int = 0
    spoiled: int = 0
    deletes_of_removed: int = 0
    deletes_of_unknown: int = 0

    def record(self, method: str, status: int) -> None:
        """Count one answered Graph request."""
        self.requests_by_method_status[f"{method} {status}"] += 1
        self.graph_requests += 1

    def record_batch(self, status: int) -> None:
        """Count one ``$batch`` envelope and its outer status."""
        self.requests_by_method_status[f"$batch {status}"] += 1
        self.batches += 1

    def clear(self) -> None:
        """Zero every counter."""
        self.requests_by_method_status.clear()
        self.graph_requests = self.batches = self.throttled = 0
        self.premature_requests = self.writes = self.resets = 0
        self.directory_reads = self.spoiled = 0
        self.deletes_of_removed = self.deletes_of_unknown = 0

    def as_dict(self) -> dict[str, Any]:
        """The counters as JSON-ready data."""
        return {
            "requests_by_method_status": dict(sorted(self.requests_by_method_status.items())),
            "graph_requests": self.graph_requests,
            "batches": self.batches,
            "throttled": self.throttled,
            "premature_requests": self.premature_requests,
            "writes": self.writes,
            "resets": self.resets,
            "directory_reads": self.directory_reads,
            "spoiled": self.spoiled,
            "late_commits_pending": self.late_commits_pending,
            "deletes_of_removed": self.deletes_of_removed,
            "deletes_of_unknown": self.deletes_of_unknown,
        }
