"""The upload files: one line per person, cut into files below the upload limit.

Each file starts with the header; a person's line is never split, and a file is closed before
the line that would take it over the limit. Lines are written as Python's csv module quotes them
(a field with a comma, a quote or a line end is quoted, quotes doubled), encoded UTF-8 without a
byte order mark, lines ended by CRLF (RFC 4180). The file names are numbered from 001 in the
order people were written, so that a split run uploads in a known order.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import IO

from importer.orgdata.format import HEADER, MAX_FILE_BYTES

__all__ = ["FILE_STEM", "LineTooLongError", "UploadFiles"]

#: ``<report folder>/orgdata/people-skills-001.csv``, ``-002``...
FILE_STEM = "people-skills"


class LineTooLongError(ValueError):
    """One person's line alone is longer than a file may be."""


def _encoded(fields: tuple[str, ...]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(fields)
    return buffer.getvalue().encode("utf-8")


class UploadFiles:
    """Writes people's lines into numbered files under ``folder``, each below ``max_bytes``.

    Args:
        folder: where the files go (created on the first line).
        max_bytes: the most bytes a file may hold, header included.
    """

    def __init__(self, folder: Path, max_bytes: int = MAX_FILE_BYTES) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self._header = _encoded(HEADER)
        if len(self._header) >= max_bytes:
            raise ValueError(f"max_bytes {max_bytes} leaves no room after the header")
        self._file: IO[bytes] | None = None
        self._size = 0
        #: The files written so far, in order.
        self.paths: list[Path] = []
        #: People written, per file (same order as ``paths``).
        self.people: list[int] = []

    def write(self, email: str, skills: str) -> Path:
        """Write one person's line; returns the file it went into.

        Raises:
            LineTooLongError: the line would not fit even in a file of its own.
        """
        line = _encoded((email, skills))
        if len(self._header) + len(line) > self.max_bytes:
            raise LineTooLongError(
                f"{len(line):,} bytes, more than a {self.max_bytes:,}-byte upload file holds"
            )
        if self._file is None or self._size + len(line) > self.max_bytes:
            self._next_file()
        assert self._file is not None
        self._file.write(line)
        self._size += len(line)
        self.people[-1] += 1
        return self.paths[-1]

    def _next_file(self) -> None:
        self.close()
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{FILE_STEM}-{len(self.paths) + 1:03d}.csv"
        self._file = path.open("wb")
        self._file.write(self._header)
        self._size = len(self._header)
        self.paths.append(path)
        self.people.append(0)

    def close(self) -> None:
        """Close the file being written (the files stay)."""
        if self._file is not None:
            self._file.close()
            self._file = None
