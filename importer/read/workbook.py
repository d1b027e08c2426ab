"""Excel input (.xlsx, .xlsm): every sheet or the chosen ones, header below title rows.

The workbook is checked up front (it is a sound zip, each chosen sheet exists and has a
header, the file has at least one data row) and then streamed in openpyxl's read-only
mode, so memory does not grow with the sheet. Row numbers are the ones Excel shows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import warnings
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import openpyxl

from importer.errors import InputError
from importer.read.headers import HEADER_SEARCH_ROWS, HeaderMatcher
from importer.records import SourceRow, Table

__all__ = ["XLSX_SUFFIXES", "XlsxSource", "cell_text"]

logger = logging.getLogger(__name__)

#: File name endings read as Excel workbooks.
XLSX_SUFFIXES = (".xlsx", ".xlsm")

_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


def cell_text(value: Any) -> str:
    """Render a cell value as the text a user sees: ``4.0`` is ``"4"``, dates are ISO."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _texts(values: Sequence[Any]) -> tuple[str, ...]:
    return tuple(v if type(v) is str else cell_text(v) for v in values)


def _check_container(path: Path, display: str) -> str:
    """Check the file is a sound zip (every member's CRC); return its sha256."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            start = stream.read(8)
            digest.update(start)
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", path=display) from None
    if not start:
        raise InputError("the file is empty", path=display)
    if start.startswith(_OLE_MAGIC):
        raise InputError(
            "is an old .xls or a password-protected workbook; save it as .xlsx without a password",
            path=display,
        )
    if not zipfile.is_zipfile(path):
        if start.startswith(b"PK"):
            raise InputError(
                "is not a readable workbook: the file is truncated or corrupt", path=display
            )
        raise InputError(
            "is not an Excel workbook (is it a CSV file renamed to .xlsx? then name it .csv)",
            path=display,
        )
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError):
        broken = "?"
    if broken is not None:
        raise InputError(
            "is not a readable workbook: the file is truncated or corrupt", path=display
        )
    return digest.hexdigest()


class XlsxSource:
    """One workbook, checked up front and then read sheet by sheet, row by row.

    Args:
        path: the file.
        display: the path as the user gave it.
        sheets: the sheets to read (matched exactly, then ignoring case); empty = every sheet.
        matcher: recognises the header row.
        warnings: where to append non-fatal findings (sheets skipped for want of a header).

    Raises:
        InputError: not a sound workbook, a chosen sheet missing, no sheet with a header, or
            no data row in any sheet.
    """

    def __init__(
        self,
        path: Path,
        display: str,
        sheets: Sequence[str],
        matcher: HeaderMatcher,
        warnings: list[str],
    ) -> None:
        self.path = path
        self.display = display
        self.sha256 = _check_container(path, display)
        self.tables: list[Table] = []
        has_data = False
        workbook = self._load()
        try:
            names = [ws.title for ws in workbook.worksheets]
            chosen = self._choose(names, sheets)
            for name in chosen:
                worksheet = workbook[name]
                worksheet.reset_dimensions()
                rows = (_texts(r) for r in worksheet.iter_rows(min_row=1, values_only=True))
                try:
                    match = matcher.find(islice(rows, HEADER_SEARCH_ROWS), path=display, sheet=name)
                except InputError as exc:
                    if sheets or len(chosen) == 1:
                        raise
                    warnings.append(f"{display} [{name}]: no header row found; sheet skipped")
                    logger.info("%s", exc)
                    continue
                header_row = match.index + 1
                table = Table(display, name, match.header, match.mapping, match.ignored, header_row)
                self.tables.append(table)
                has_data = has_data or any(any(c.strip() for c in row) for row in rows)
        except InputError:
            raise
        except Exception as exc:  # openpyxl raises many types for a bad workbook
            raise InputError(
                f"cannot be read as a workbook ({type(exc).__name__})", path=display
            ) from None
        finally:
            workbook.close()
        if not self.tables:
            raise InputError(
                f"no sheet has a header row with user and displayName columns "
                f"(sheets: {', '.join(chosen)})",
                path=display,
            )
        if not has_data:
            raise InputError("has a header row but no data rows", path=display)
        self.sheets = tuple(t.sheet for t in self.tables)
        self.rows = 0
        self.blank_rows = 0

    def _load(self) -> Any:
        # openpyxl warns about workbook features it does not keep (data validation, default
        # styles, extensions); none matter for reading cell values, so they go to the log.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                workbook = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
            except Exception as exc:  # openpyxl raises many types for a bad workbook
                raise InputError(
                    f"cannot be opened as an Excel workbook ({type(exc).__name__})",
                    path=self.display,
                ) from None
        for warning in caught:
            logger.debug("%s: openpyxl: %s", self.display, warning.message)
        return workbook

    def _choose(self, names: list[str], wanted: Sequence[str]) -> list[str]:
        if not wanted:
            return names
        chosen = []
        folded = {n.casefold(): n for n in names}
        for name in wanted:
            found = name if name in names else folded.get(name.casefold())
            if found is None:
                raise InputError(
                    f"has no sheet named '{name}' (sheets: {', '.join(names)})", path=self.display
                )
            chosen.append(found)
        return list(dict.fromkeys(chosen))

    def iter_rows(self) -> Iterator[SourceRow]:
        """Stream the non-blank data rows of every table; counts ``rows`` and ``blank_rows``."""
        workbook = self._load()
        rows = blank = 0
        try:
            for table in self.tables:
                width = len(table.header)
                worksheet = workbook[table.sheet]
                worksheet.reset_dimensions()
                values = worksheet.iter_rows(min_row=table.header_row + 1, values_only=True)
                for number, raw in enumerate(values, start=table.header_row + 1):
                    cells = _texts(raw)
                    if len(cells) != width:
                        cells = (cells + ("",) * width)[:width]
                    if not "".join(cells).strip():
                        blank += 1
                        continue
                    rows += 1
                    yield SourceRow(table, number, cells)
        except Exception as exc:  # a corrupt sheet surfaces as any openpyxl error
            raise InputError(
                f"cannot be read as a workbook ({type(exc).__name__})", path=self.display
            ) from None
        finally:
            self.rows, self.blank_rows = rows, blank
            workbook.close()
