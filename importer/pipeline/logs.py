"""The run's own log: the importer's log lines copied into the report folder (run.log)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

__all__ = ["run_log"]


@contextlib.contextmanager
def run_log(path: Path) -> Iterator[None]:
    """Copy the importer's log lines into the report folder for the length of the run."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.setLevel(logging.INFO)
    package = logging.getLogger("importer")
    previous = package.level
    package.setLevel(logging.INFO)
    package.addHandler(handler)
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(previous)
        handler.close()
