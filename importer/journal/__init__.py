"""The journal of a run's confirmed writes, and what ``undo`` does with it.

Every writing run (``run``, ``undo``) keeps ``journal.jsonl`` in its report folder: one line
per write Graph confirmed, with the skill before and after (``format``), appended and flushed
as each answer comes (``writer``). ``undo`` reads it back, newest write first, and decides
what to send to put each skill back (``undo_rows``, ``undo_plan``); ``backup`` writes the
automatic backup before a run's writes.
"""

from __future__ import annotations

from pathlib import Path

from importer.config import Settings
from importer.journal.format import (
    FORMAT_VERSION,
    JOURNAL_NAME,
    JournalHeader,
    entry_of,
    header_for,
    read_header,
    target_identity,
)
from importer.journal.writer import JournalWriter

__all__ = [
    "FORMAT_VERSION",
    "JOURNAL_NAME",
    "JournalHeader",
    "JournalWriter",
    "entry_of",
    "header_for",
    "open_journal",
    "read_header",
    "target_identity",
]


def open_journal(settings: Settings, folder: Path, command: str, undoes: str = "") -> JournalWriter:
    """Start the journal of the run whose report folder is ``folder`` (its name is the run id)."""
    return JournalWriter(folder, header_for(settings, folder.name, command, undoes))
