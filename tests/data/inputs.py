"""Build input files in a temporary folder and read them back through the real reader."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl

from importer.config import Settings
from importer.read.reader import InputReader
from importer.records import SourceRow

__all__ = ["HEADER", "SAMPLES", "read_rows", "write_text", "write_xlsx"]

#: The bundled samples folder.
SAMPLES = Path(__file__).resolve().parents[2] / "samples"

#: A typical HR header.
HEADER = "Employee Email,Skill,Level,Category,Tags,Visibility,Link"


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` exactly as given (no newline translation)."""
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(path: Path, sheets: dict[str, Sequence[Sequence[Any]]]) -> Path:
    """Write a workbook with one sheet per entry; ``None`` cells stay empty."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    workbook.save(path)
    return path


def read_rows(
    *paths: Path, settings: Settings | None = None
) -> tuple[InputReader, list[SourceRow]]:
    """Open the inputs and read every row."""
    reader = InputReader(list(paths), settings or Settings())
    return reader, list(reader.rows())
