"""The rows the write stage works on: every user's rows together, a slice of users at a time.

Planning needs all of one person's rows at once (to compare them with the skills Graph holds),
but not everybody's. The write stage therefore takes its rows as ``UserRows``: a count, and
chunks of whole users that can be read more than once. A small run is one chunk held in memory;
a large one comes off disk (``importer.pipeline.spill``), so memory grows with the chunk, not
with the file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from importer.records import SkillRow

__all__ = ["RowsInMemory", "UserRows"]


class UserRows(Protocol):
    """Every valid row of a run, grouped by user (the key is ``SkillRow.user_key``)."""

    @property
    def rows(self) -> int:
        """How many rows in all."""
        ...  # pragma: no cover - protocol

    @property
    def users(self) -> int:
        """How many distinct users."""
        ...  # pragma: no cover - protocol

    def chunks(self) -> Iterator[Mapping[str, Sequence[SkillRow]]]:
        """Whole users at a time, each user in exactly one chunk; may be called again."""
        ...  # pragma: no cover - protocol


@dataclass(frozen=True, slots=True)
class RowsInMemory:
    """``UserRows`` over a dict already in memory: one chunk."""

    by_user: Mapping[str, Sequence[SkillRow]]

    @property
    def rows(self) -> int:
        return sum(len(rows) for rows in self.by_user.values())

    @property
    def users(self) -> int:
        return len(self.by_user)

    def chunks(self) -> Iterator[Mapping[str, Sequence[SkillRow]]]:
        if self.by_user:
            yield self.by_user
