"""Workbook input (.xlsx, .xlsm, .xlsb, .xls, .ods): every sheet or the chosen ones.

Read with calamine (python-calamine, Rust): on a 100,000-row xlsx it reads the cells about
fifteen times faster than openpyxl (numbers in BENCHMARKS.md). openpyxl is still what writes
results.xlsx.

The file is checked up front: a zip-based workbook must be a sound archive whose members
decompress within ``MAX_DECOMPRESSED_BYTES`` (and not at a zip bomb's ratio), each chosen
sheet must exist and have a header, and some sheet must have a data row. A cell that reaches
Excel's own limit (``MAX_CELL_CHARS``; calamine cuts longer cells there) stops the read: a cut
value is never imported as if it were whole. Row numbers
and column letters are the ones Excel shows.

What calamine does not show: hidden rows and columns are read like visible ones (as openpyxl
did); a merged range holds its value in its top-left cell only, the other cells read empty.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from itertools import chain, islice
from pathlib import Path
from typing import Any

import python_calamine

from importer.errors import InputError
from importer.read.headers import HEADER_SEARCH_ROWS, HeaderMatcher
from importer.records import SourceRow, Table

__all__ = [
    "MAX_CELL_CHARS",
    "MAX_DECOMPRESSED_BYTES",
    "WORKBOOK_SUFFIXES",
    "WorkbookSource",
    "cell_text",
    "column_letter",
]

logger = logging.getLogger(__name__)

#: File name endings read as workbooks.
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
_ZIPPED = (".xlsx", ".xlsm", ".xlsb", ".ods")

#: Excel's own limit of characters in one cell: a longer cell was not written by Excel.
MAX_CELL_CHARS = 32_767
#: The most a zip-based workbook may decompress to, all members together. A full Excel sheet
#: (1,048,576 rows of a dozen short cells) stays well under it.
MAX_DECOMPRESSED_BYTES = 1 << 30
#: Members above ``_RATIO_FROM`` bytes may not decompress more than this many times their
#: packed size: sheets compress about 5-20 times, a zip bomb a thousand times.
MAX_RATIO = 200
_RATIO_FROM = 16 << 20

_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


def column_letter(index: int) -> str:
    """The Excel column letters of a 0-based column index (0 -> ``A``, 27 -> ``AB``)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


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


def _hash_file(path: Path, display: str) -> tuple[str, bytes]:
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
    return digest.hexdigest(), start


def _check_archive(path: Path, display: str) -> None:
    """A sound zip (every member's CRC) that decompresses within the limits."""
    corrupt = InputError(
        "is not a readable workbook: the file is truncated or corrupt", path=display
    )
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if sum(m.file_size for m in members) > MAX_DECOMPRESSED_BYTES:
                raise _too_big(display, sum(m.file_size for m in members))
            for member in members:
                size = 0
                with archive.open(member) as stream:
                    # Reading to the end checks the CRC; the count stops a member that
                    # decompresses past what its header claims.
                    while chunk := stream.read(1 << 20):
                        size += len(chunk)
                        if total + size > MAX_DECOMPRESSED_BYTES:
                            raise _too_big(display, total + size)
                total += size
                packed = max(member.compress_size, 1)
                if size > _RATIO_FROM and size > packed * MAX_RATIO:
                    raise InputError(
                        f"is refused: its part {member.filename!r} unpacks from {packed:,} to "
                        f"{size:,} bytes ({size // packed:,} times), as a zip bomb does; "
                        f"a real workbook unpacks at most {MAX_RATIO} times",
                        path=display,
                    )
    except InputError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError):
        raise corrupt from None


def _too_big(display: str, size: int) -> InputError:
    return InputError(
        f"is refused: it unpacks to more than {MAX_DECOMPRESSED_BYTES:,} bytes "
        f"(at least {size:,}); split the workbook or save the sheet as CSV",
        path=display,
    )


def _check_container(path: Path, display: str) -> str:
    """Check the file can be a workbook of its kind; return its sha256."""
    sha256, start = _hash_file(path, display)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        if not start.startswith(_OLE_MAGIC):
            raise InputError(
                "is not an Excel 97-2003 workbook (is it a CSV or HTML file renamed to .xls?)",
                path=display,
            )
        return sha256
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
            "is not a workbook (is it a CSV file renamed? then name it .csv)", path=display
        )
    if suffix in _ZIPPED:
        _check_archive(path, display)
    return sha256


def _oversized(display: str, sheet: str, row: int, cells: Sequence[str]) -> None:
    for index, cell in enumerate(cells):
        if len(cell) >= MAX_CELL_CHARS:
            # calamine cuts a longer cell at the limit: a cell that reaches it may have been
            # cut, and a cut value must not be imported as if it were whole.
            raise InputError(
                f"cell {column_letter(index)}{row} reaches Excel's limit of {MAX_CELL_CHARS:,} "
                f"characters in a cell (a longer cell is cut there when read); shorten it",
                path=display,
                sheet=sheet,
            )


class WorkbookSource:
    """One workbook, checked up front and then read sheet by sheet, row by row.

    Args:
        path: the file.
        display: the path as the user gave it.
        sheets: the sheets to read (matched exactly, then ignoring case); empty = every sheet.
        matcher: recognises the header row.
        warnings: where to append non-fatal findings (sheets skipped for want of a header).

    Raises:
        InputError: not a sound workbook, too large unpacked, a chosen sheet missing, no sheet
            with a header, or no data row in any sheet.
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
        self._kept: python_calamine.CalamineSheet | None = None
        has_data = False
        workbook = self._load()
        try:
            names = list(workbook.sheet_names)
            chosen = self._choose(names, sheets)
            for name in chosen:
                sheet = workbook.get_sheet_by_name(name)
                rows = self._sheet_rows(sheet, name, 1)
                head = [cells for _, cells in islice(rows, HEADER_SEARCH_ROWS + 1)]
                try:
                    match = matcher.find(head, path=display, sheet=name)
                except InputError as exc:
                    if sheets or len(chosen) == 1:
                        raise
                    warnings.append(f"{display} [{name}]: no header row found; sheet skipped")
                    logger.info("%s", exc)
                    continue
                header_row = match.index + 1
                table = Table(display, name, match.header, match.mapping, match.ignored, header_row)
                self.tables.append(table)
                if len(self.tables) == 1:
                    self._kept = sheet
                rest = chain(head[header_row:], (cells for _, cells in rows))
                has_data = has_data or any(any(c.strip() for c in row) for row in rest)
        except InputError:
            raise
        except Exception as exc:  # calamine raises its own types for a bad workbook
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

    def _load(self) -> python_calamine.CalamineWorkbook:
        try:
            return python_calamine.CalamineWorkbook.from_path(str(self.path))
        except python_calamine.PasswordError:
            raise InputError(
                "is password-protected; save it without a password", path=self.display
            ) from None
        except Exception as exc:  # calamine raises its own types for a bad workbook
            raise InputError(
                f"cannot be opened as a workbook ({type(exc).__name__}: {str(exc)[:120]})",
                path=self.display,
            ) from None

    def _sheet(
        self, workbook: python_calamine.CalamineWorkbook, name: str
    ) -> python_calamine.CalamineSheet:
        # The first table's sheet, parsed while checking the file, is kept for the first read
        # of its rows: parsing a large sheet is most of the reading time.
        kept, self._kept = self._kept, None
        if kept is not None and kept.name == name:
            return kept
        return workbook.get_sheet_by_name(name)

    def _sheet_rows(
        self, sheet: python_calamine.CalamineSheet, name: str, first: int
    ) -> Iterator[tuple[int, tuple[str, ...]]]:
        """(Excel row number, cells from column A) of every row from row ``first`` on."""
        start = sheet.start
        if start is None:  # an empty sheet
            return
        top, left = start
        for number in range(first, top + 1):
            yield number, ()
        pad = ("",) * left
        for number, raw in enumerate(sheet.iter_rows(), start=top + 1):
            if number < first:
                continue
            cells = _texts(raw)
            if pad:
                cells = pad + cells
            if len("".join(cells)) >= MAX_CELL_CHARS:
                _oversized(self.display, name, number, cells)
            yield number, cells

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
        rows = blank = 0
        workbook = self._load()
        try:
            for table in self.tables:
                width = len(table.header)
                sheet = self._sheet(workbook, table.sheet)
                for number, cells in self._sheet_rows(sheet, table.sheet, table.header_row + 1):
                    if len(cells) != width:
                        cells = (cells + ("",) * width)[:width]
                    if not "".join(cells).strip():
                        blank += 1
                        continue
                    rows += 1
                    yield SourceRow(table, number, cells)
        except InputError:
            raise
        except Exception as exc:  # a corrupt sheet surfaces as any calamine error
            raise InputError(
                f"cannot be read as a workbook ({type(exc).__name__})", path=self.display
            ) from None
        finally:
            self.rows, self.blank_rows = rows, blank
            workbook.close()
