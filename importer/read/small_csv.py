"""Small CSV files an admin edits beside the input (a skills map, a skills library).

They come from Excel as often as from a text editor: UTF-16 with its BOM, UTF-8 with or without
one, or cp1252; comma, semicolon or tab between cells. Read whole (they hold thousands of lines
at most), so the delimiter is told from the header line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

from importer.errors import ConfigError

if TYPE_CHECKING:
    from _csv import Reader

__all__ = ["read_small_csv"]


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def read_small_csv(path: Path, setting: str) -> Reader:
    """A csv reader over the file's lines, the header first.

    The reader's ``line_num`` counts the file's lines, for messages.

    Raises:
        ConfigError: the file cannot be read, naming ``setting`` (the key that named the file).
    """
    try:
        text = _decode(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{setting}: {path}: cannot read ({exc.strerror})") from None
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
