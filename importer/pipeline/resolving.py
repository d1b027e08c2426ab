"""The resolve stage inside a run: every user to an object id before anything is planned.

Kept apart from ``run`` so that module stays the plain wiring. A directory that refuses to be
read (401/403) stops the run here, before any write, with every row reported ``not-sent``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from importer.config import Settings
from importer.graph.client import GraphClient
from importer.records import Action, RowOutcome, SkillRow
from importer.resolve import DirectoryAccessError, apply_resolution, resolve_users

__all__ = ["resolve_for_run"]

logger = logging.getLogger(__name__)


async def resolve_for_run(
    settings: Settings,
    client: GraphClient,
    users: Mapping[str, Sequence[SkillRow]],
    emit: Callable[[RowOutcome], None],
    figures: dict[str, Any],
) -> dict[str, list[SkillRow]] | str:
    """Resolve every row's user; emit the outcomes of rows that cannot be written.

    Returns:
        The rows to plan, grouped by object id; or, when the directory cannot be read, the
        reason to stop (every row has then been emitted ``not-sent``).
    """
    key = settings.input.user_key
    figures["key"] = key
    values = (row.user for rows in users.values() for row in rows)
    try:
        resolution = await resolve_users(values, key, client, settings.run)
    except DirectoryAccessError as exc:
        logger.error("%s", exc)
        for rows in users.values():
            for row in rows:
                emit(
                    RowOutcome.for_row(
                        row,
                        Action.NOT_SENT,
                        error_type="not-sent",
                        error="not sent: the directory cannot be read",
                    )
                )
        return str(exc)
    figures.update(resolution.figures.as_dict())
    return apply_resolution(users, resolution, settings.run, emit)
