"""How the directory was read, for the log and summary.json (``users`` figures)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["DirectoryFigures"]


@dataclass(slots=True)
class DirectoryFigures:
    """How the users were resolved, for the log and summary.json.

    Attributes:
        strategy: ``delta`` (last run's snapshot plus the changes since), ``lookups``,
            ``listing``, ``listing, then lookups`` or ``none``.
        people: distinct user values looked for.
        requests: HTTP requests sent to the directory (a ``$batch`` counts one).
        sub_requests: listing pages plus lookups (each lookup is one ``$batch`` item).
        listing_pages: pages of the listing read.
        lookups: ``$filter`` lookups sent.
        directory_users: users the listing went through.
        lookup_budget: the requests the lookups were estimated to cost.
        delta_pages: pages of changes read (``delta``).
        changes: users created, changed or deleted since the snapshot (``delta``).
        listing_reason: why the snapshot was not used, when a run keeps one.
    """

    strategy: str = "none"
    people: int = 0
    requests: int = 0
    sub_requests: int = 0
    listing_pages: int = 0
    lookups: int = 0
    directory_users: int = 0
    lookup_budget: int = 0
    delta_pages: int = 0
    changes: int = 0
    listing_reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The figures as JSON-ready data."""
        return asdict(self)
