"""The automatic backup (``run.backup: auto``): the affected people's skills before any write.

A run backs up when it is a ``sync`` run, or when it would update or delete more than
``run.backup_threshold`` skills. The people backed up are those the run updates or deletes a
skill of (a create loses nothing); all their skills, as the planner listed them, go to
``backup/skills.csv`` in the report folder, in ``export``'s columns (the user column as the
input wrote the person, named for ``input.user_key``), before the chunk's first write. The
listings are the ones the plan was made from, so the backup costs no request.

A run large enough to be planned a chunk at a time (``run.rows_per_chunk``) cannot count its
updates before its first write without listing everyone twice, so with ``auto`` every chunk
is backed up: such a run holds tens of thousands of rows, well above the default threshold.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from importer.config import Settings
from importer.records import OpKind
from importer.report.export_file import ExportFile, skill_cells
from importer.write.planner import Planned

__all__ = ["BACKUP_FILE", "RunBackup"]

logger = logging.getLogger(__name__)

#: The backup's place in the report folder.
BACKUP_FILE = Path("backup") / "skills.csv"

_LOSSY = (OpKind.UPDATE, OpKind.DELETE)

#: The backup's user column, per ``input.user_key``: a name ``run`` reads under that key.
_USER_COLUMN = {
    "auto": "user",
    "id": "userId",
    "userPrincipalName": "userPrincipalName",
    "mail": "mail",
    "employeeId": "employeeId",
}


class RunBackup:
    """Backs up a run's affected people before its writes (a dispatcher ``before_writes``).

    A backup that cannot be written stops the run before the chunk's writes (exit 3): a run
    that was to be backed up never writes without its backup.

    Args:
        folder: the run's report folder.
        settings: ``run.mode``, ``run.backup_threshold``, ``run.source_tag`` and
            ``input.list_separator`` are used.
    """

    def __init__(self, folder: Path, settings: Settings) -> None:
        self.path = folder / BACKUP_FILE
        self.people = 0
        self.failure = ""
        self._run = settings.run
        self._separator = settings.input.list_separator
        self._user_key = settings.input.user_key
        self._file: ExportFile | None = None

    def __call__(
        self,
        plans: list[Planned],
        listed: Callable[[str], list[dict[str, Any]]],
        chunked: bool,
    ) -> str | None:
        """Write the affected people of one chunk, if this run is one to back up.

        Returns:
            Why the run must not write (the backup cannot be written), or None.
        """
        affected = [
            (user, rows, plan)
            for user, rows, plan in plans
            if plan is not None and any(op.kind in _LOSSY for op in plan.operations)
        ]
        lossy = sum(op.kind in _LOSSY for _u, _r, p in affected for op in p.operations)
        wanted = self._run.mode == "sync" or chunked or lossy > self._run.backup_threshold
        if not affected or not wanted:
            return None
        try:
            if self._file is None:
                self.path.parent.mkdir(exist_ok=True)
                self._file = ExportFile(
                    self.path, in_place=True, user_column=_USER_COLUMN[self._user_key]
                )
            for user, rows, _plan in affected:
                written_as = rows[0].user if rows else user
                for skill in listed(user):
                    self._file.add(
                        skill_cells(
                            written_as,
                            skill,
                            source_tag=self._run.source_tag,
                            separator=self._separator,
                        )
                    )
                self.people += 1
            self._file.flush()
        except OSError as exc:
            self.failure = (
                f"the backup {self.path} cannot be written ({exc.strerror or exc}): nothing "
                f"more was written; free the space, or set run.backup: off"
            )
            return self.failure
        logger.info("backed up %d people's skills to %s before writing", self.people, self.path)
        return None

    def close(self) -> None:
        """Finish the file."""
        if self._file is not None:
            try:
                self._file.done()
            except OSError as exc:
                self.failure = f"the backup {self.path} cannot be written ({exc.strerror or exc})"
            self._file = None
