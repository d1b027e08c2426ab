"""The resolve stage inside a run: every user to an object id before anything is planned.

The distinct user values are read off the held rows and resolved in one go; the write stage
then reads its chunks through ``ResolvedRows``, which hands it each chunk regrouped by object
id and reports the rows that cannot be written (unknown, ambiguous, disabled) as it goes. A
directory that refuses to be read (401/403) stops the run here, before any write, with every
row reported ``not-sent``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from importer.config import Settings
from importer.graph.client import GraphClient
from importer.progress import RunProgress
from importer.records import Action, RowOutcome, SkillRow
from importer.resolve import DirectoryAccessError, RowResolver, resolve_users

__all__ = ["HeldRows", "ResolvedRows", "report_not_sent", "resolve_for_run"]

logger = logging.getLogger(__name__)


class HeldRows(Protocol):
    """The valid rows of a run, as the spill holds them."""

    @property
    def rows(self) -> int:
        """How many rows in all."""
        ...  # pragma: no cover - protocol

    @property
    def users(self) -> int:
        """How many distinct users."""
        ...  # pragma: no cover - protocol

    def user_values(self) -> Iterator[str]:
        """Each distinct user, as first written."""
        ...  # pragma: no cover - protocol

    def chunks(self) -> Iterator[dict[str, list[SkillRow]]]:
        """Whole users at a time."""
        ...  # pragma: no cover - protocol


class ResolvedRows:
    """The held rows as the write stage reads them: resolved users only, by object id.

    ``rows`` and ``users`` count what was held, unknown and disabled people included (their
    rows are reported by the resolver, not by the writer).
    """

    def __init__(
        self, held: HeldRows, resolver: RowResolver, emit: Callable[[RowOutcome], None]
    ) -> None:
        self._held = held
        self._resolver = resolver
        self._emit = emit
        self._reported: set[tuple[str, str, int, str]] = set()

    @property
    def rows(self) -> int:
        """Rows held (before resolution)."""
        return self._held.rows

    @property
    def users(self) -> int:
        """Users held (before resolution)."""
        return self._held.users

    def chunks(self) -> Iterator[Mapping[str, Sequence[SkillRow]]]:
        """Each held chunk, resolved; empty chunks are left out.

        Rows are held grouped by the user as written, so one person written two ways (a GUID
        and a UPN) far apart in a large file can come up in two chunks. The writer plans a chunk
        while it writes the one before, so such rows could create a skill twice: they are
        failed instead (``user-written-two-ways``), naming the other spelling.
        """
        handed: dict[str, str] = {}
        for chunk in self._held.chunks():
            resolved = self._resolver.chunk(chunk)
            for user_id in [user_id for user_id in resolved if user_id in handed]:
                for row in resolved.pop(user_id):
                    self._written_two_ways(row, handed[user_id])
            handed.update((user_id, rows[0].user) for user_id, rows in resolved.items())
            if resolved:
                yield resolved

    def _written_two_ways(self, row: SkillRow, first: str) -> None:
        source = row.source
        place = (source.table.source, source.table.sheet, source.row, source.column)
        if place in self._reported:
            return
        self._reported.add(place)
        self._emit(
            RowOutcome.for_row(
                row,
                Action.FAILED,
                error_type="user-written-two-ways",
                error=(
                    f"{row.user} is the same person as {first}, written that way elsewhere in "
                    f"the file, too far from this row to be planned together; write one form "
                    f"per person, or raise run.rows_per_chunk"
                ),
            )
        )


def _distinct_values(held: HeldRows, key: str) -> Iterator[str]:
    """The user values to look up. Rows are held grouped by the value ignoring case, which is
    one person for every key but employeeId: there, every spelling is read off the rows."""
    if key != "employeeId":
        yield from held.user_values()
        return
    for chunk in held.chunks():
        for rows in chunk.values():
            yield from dict.fromkeys(row.user for row in rows)


def report_not_sent(held: HeldRows, emit: Callable[[RowOutcome], None], reason: str) -> None:
    """Report every held row ``not-sent`` (the run stopped before planning anything)."""
    for chunk in held.chunks():
        for rows in chunk.values():
            for row in rows:
                emit(
                    RowOutcome.for_row(
                        row, Action.NOT_SENT, error_type="not-sent", error=f"not sent: {reason}"
                    )
                )


async def resolve_for_run(
    settings: Settings,
    client: GraphClient,
    held: HeldRows,
    emit: Callable[[RowOutcome], None],
    figures: dict[str, Any],
    progress: RunProgress | None = None,
) -> ResolvedRows | str:
    """Resolve every held user; the rows to plan come back as ``ResolvedRows``.

    Returns:
        The resolved rows; or, when the directory cannot be read, the reason to stop (every
        row has then been emitted ``not-sent``).
    """
    key = settings.input.user_key
    figures["key"] = key
    try:
        resolution = await resolve_users(
            _distinct_values(held, key), key, client, settings.run, progress=progress
        )
    except DirectoryAccessError as exc:
        logger.error("%s", exc)
        report_not_sent(held, emit, "the directory cannot be read")
        return str(exc)
    figures.update(resolution.figures.as_dict())
    return ResolvedRows(held, RowResolver(resolution, settings.run, emit), emit)
