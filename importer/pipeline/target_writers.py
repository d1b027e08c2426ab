"""Which writer receives a run's valid rows, by ``target.kind``.

Every target sits behind the same reading, validation and report; a writer resolves the users
it needs, writes, and reports each row. ``orgdata-csv`` goes into upload files
(``orgdata_stage``); the targets written through Graph (``profile``, ``connector``) share the
Graph stage (``graph_stage``: sign-in, resolve, retry, throttling), which picks the profile
dispatcher or the connector writer. A target outside Graph adds one branch here.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Protocol

from importer.config import Settings
from importer.pipeline.result import GraphWork, StateOptions
from importer.pipeline.spill import RowSpill
from importer.progress import RunProgress
from importer.report.writer import ReportWriter

if TYPE_CHECKING:
    from importer.graph.client import TokenProvider

__all__ = ["TargetWriter", "target_writer"]


class TargetWriter(Protocol):
    """What receives a run's valid rows: resolves, writes and reports each one."""

    def __call__(
        self,
        settings: Settings,
        token_provider: TokenProvider | None,
        users: RowSpill,
        writer: ReportWriter,
        *,
        dry_run: bool,
        allow_deletes: int | None,
        progress: RunProgress,
        state: StateOptions | None = None,
    ) -> Awaitable[GraphWork]: ...  # pragma: no cover - protocol


def target_writer(kind: str) -> TargetWriter:
    """The writer behind the shared validation for ``target.kind`` (see the module docstring)."""
    if kind == "orgdata-csv":
        from importer.pipeline.orgdata_stage import write_orgdata

        return write_orgdata
    from importer.pipeline.graph_stage import dispatch

    return dispatch
