"""Write .xls, .ods and .xlsb test workbooks with test-only writer libraries.

openpyxl writes .xlsx only; these writers (xlwt, odfpy, pyxlsbwriter) are test dependencies,
never used by the importer, which reads every format with calamine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import xlwt  # type: ignore[import-untyped]
from odf.opendocument import OpenDocumentSpreadsheet  # type: ignore[import-untyped]
from odf.table import Table, TableCell, TableRow  # type: ignore[import-untyped]
from odf.text import P  # type: ignore[import-untyped]
from pyxlsbwriter import XlsbWriter  # type: ignore[import-untyped]

__all__ = ["WRITERS", "write_ods", "write_xls", "write_xlsb"]

Sheets = dict[str, Sequence[Sequence[Any]]]


def write_xls(path: Path, sheets: Sheets) -> Path:
    """An Excel 97-2003 workbook; dates get a date format, ``None`` cells stay empty."""
    workbook = xlwt.Workbook()
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for title, rows in sheets.items():
        sheet = workbook.add_sheet(title)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, dt.date):
                    sheet.write(r, c, value, date_style)
                else:
                    sheet.write(r, c, value)
    workbook.save(str(path))
    return path


def _ods_cell(value: Any) -> Any:
    if value is None:
        return TableCell()
    if isinstance(value, bool) or not isinstance(value, (int, float, dt.date)):
        cell = TableCell(valuetype="string")
        cell.addElement(P(text=str(value)))
        return cell
    if isinstance(value, dt.date):
        cell = TableCell(valuetype="date", datevalue=value.isoformat())
    else:
        cell = TableCell(valuetype="float", value=value)
    cell.addElement(P(text=str(value)))
    return cell


def write_ods(path: Path, sheets: Sheets) -> Path:
    """An OpenDocument spreadsheet (LibreOffice)."""
    document = OpenDocumentSpreadsheet()
    for title, rows in sheets.items():
        table = Table(name=title)
        for row in rows:
            line = TableRow()
            for value in row:
                line.addElement(_ods_cell(value))
            table.addElement(line)
        document.spreadsheet.addElement(table)
    document.save(str(path))
    return path


def write_xlsb(path: Path, sheets: Sheets) -> Path:
    """An Excel binary workbook; rows are padded to one width (the writer needs it)."""
    with XlsbWriter(str(path)) as writer:
        for title, rows in sheets.items():
            width = max((len(row) for row in rows), default=1) or 1
            writer.add_sheet(title)
            writer.write_sheet([[*row, *[None] * (width - len(row))] for row in rows])
    return path


#: File suffix -> writer.
WRITERS: dict[str, Callable[[Path, Sheets], Path]] = {
    ".xls": write_xls,
    ".ods": write_ods,
    ".xlsb": write_xlsb,
}
