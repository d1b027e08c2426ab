"""The file ``export`` writes: one row per skill, in the columns ``run`` reads.

Columns: ``user`` (the userPrincipalName), ``displayName``, ``proficiency``, ``categories``,
``collaborationTags``, ``allowedAudiences``, ``webUrl`` (what ``run`` reads, lists joined by
``input.list_separator``), then ``skillId`` and ``sourceTagged`` (``yes`` when the skill carries
the run's source tag). ``run`` ignores the last two, so an unedited export fed to ``run`` sends
no write. The skill id column is not called ``id``: that would be read as a user column.

Rows are streamed: a CSV through ``csv.writer``, a workbook through openpyxl's write-only mode;
the file is written under a temporary name and renamed when complete, so an interrupted export
never leaves a half file under the name asked for. Formula-like cells are neutralised.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from importer.report.csv_files import neutralise, open_csv
from importer.validate.schema import parse_audiences, parse_proficiency

__all__ = ["EXPORT_COLUMNS", "EXPORT_SUFFIXES", "ExportFile", "skill_cells"]

EXPORT_COLUMNS = (
    "user",
    "displayName",
    "proficiency",
    "categories",
    "collaborationTags",
    "allowedAudiences",
    "webUrl",
    "skillId",
    "sourceTagged",
)

#: The output kinds by file suffix.
EXPORT_SUFFIXES = (".csv", ".xlsx")


def _owned(skill: Mapping[str, Any], source_tag: str) -> bool:
    source = skill.get("source")
    kind = source.get("type") if isinstance(source, Mapping) else None
    return kind == source_tag or (isinstance(kind, list) and source_tag in kind)


def _joined(value: Any, separator: str) -> str:
    if not isinstance(value, list):
        return ""
    return f"{separator} ".join(str(item) for item in value)


def skill_cells(
    user: str, skill: Mapping[str, Any], *, source_tag: str, separator: str
) -> list[str]:
    """One export row: the skill's values as ``run`` reads them, its id and whether it is ours."""
    level = skill.get("proficiency")
    audiences = skill.get("allowedAudiences")
    return [
        user,
        str(skill.get("displayName") or ""),
        parse_proficiency(level) or (str(level) if level else ""),
        _joined(skill.get("categories"), separator),
        _joined(skill.get("collaborationTags"), separator),
        (parse_audiences(audiences) or str(audiences)) if audiences else "",
        str(skill.get("webUrl") or ""),
        str(skill.get("id") or ""),
        "yes" if _owned(skill, source_tag) else "no",
    ]


class ExportFile:
    """Streams export rows into ``path`` (``.csv`` or ``.xlsx``), renamed into place on ``done``.

    ``in_place``: write ``path`` itself (a CSV), for a file that must be usable even if the
    process dies before ``done`` (a run's backup, flushed before its writes).
    ``user_column``: the first column's name (a backup names it after ``input.user_key``, so
    that ``run`` with the same configuration finds it).

    Raises:
        OSError: the temporary file cannot be created.
    """

    def __init__(self, path: Path, *, in_place: bool = False, user_column: str = "user") -> None:
        self.path = path
        self.rows = 0
        self._partial = path if in_place else path.with_name(path.name + ".partial")
        self._csv: IO[str] | None = None
        self._workbook: Any = None
        self._sheet: Any = None
        if path.suffix.lower() == ".xlsx":
            from openpyxl import Workbook

            self._workbook = Workbook(write_only=True)
            self._sheet = self._workbook.create_sheet("Skills")
            self._sheet.append([user_column, *EXPORT_COLUMNS[1:]])
        else:
            self._csv = open_csv(self._partial, "w")
            self._writerow = csv.writer(self._csv).writerow
            self._writerow([user_column, *EXPORT_COLUMNS[1:]])

    def add(self, cells: list[str]) -> None:
        """Write one row."""
        safe = [neutralise(cell) for cell in cells]
        if self._sheet is not None:
            self._sheet.append(safe)
        else:
            self._writerow(safe)
        self.rows += 1

    def flush(self) -> None:
        """Hand the CSV rows written so far to the operating system."""
        if self._csv is not None:
            self._csv.flush()

    def done(self) -> None:
        """Finish the file and give it its name."""
        if self._workbook is not None:
            self._workbook.save(self._partial)
            self._workbook = self._sheet = None
        elif self._csv is not None:
            self._csv.close()
            self._csv = None
        if self._partial != self.path:
            self._partial.replace(self.path)

    def abandon(self) -> None:
        """Drop the unfinished file (an interrupted or failed export)."""
        if self._csv is not None:
            self._csv.close()
            self._csv = None
        self._workbook = self._sheet = None
        with contextlib.suppress(FileNotFoundError):
            self._partial.unlink()

    def __enter__(self) -> ExportFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abandon()
