"""The Results sheet's rows, written as SpreadsheetML text instead of through openpyxl's cells.

openpyxl's write-only mode builds an lxml element per cell: ~60-85 µs a row of 20 columns, 1.2
to 1.7 s (up to 7 s on a loaded machine) for the 20,000 rows a workbook holds, spent at the very
end of a run, after the last answer from Graph. The rows are simple (text, whole numbers, one
fill per action), so they are written here as text, the way openpyxl itself writes them (inline
strings, ``t="n"`` numbers, ``xml:space="preserve"`` on text with outer whitespace): a few µs a
row. openpyxl still writes everything else (Summary sheet and chart, styles, column widths,
frozen header, filter), with a Results sheet that holds only the header; :func:`splice_rows`
then copies that workbook into the final file, the rows inserted before ``</sheetData>`` (the
sheet goes through a temporary file first, so that zipfile knows its size: zip64 for > 2 GiB).
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

__all__ = ["RowsXml", "splice_rows"]

_SHEET_DATA_END = b"</sheetData>"

#: Deflate level of the final file: 1 is 3-4x faster than zlib's default on this XML and the
#: file only ~18% bigger (the sheet text is very repetitive).
_COMPRESS_LEVEL = 1

#: Rows are written out in chunks of this many.
_CHUNK_ROWS = 500

_COPY_BYTES = 1 << 20


def _escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")  # a bare CR would be read back as LF
    return text


def _column_letters(count: int) -> list[str]:
    letters = []
    for number in range(1, count + 1):
        name = ""
        while number:
            number, rest = divmod(number - 1, 26)
            name = chr(65 + rest) + name
        letters.append(name)
    return letters


class RowsXml:
    """Turns rows of cell values (None, int or str) into ``<row>`` elements.

    Args:
        columns: how many columns a row has.
        styles: column index -> (cell value -> style id), for the styled column(s); a value
            with no entry is written unstyled.
    """

    def __init__(self, columns: int, styles: dict[int, dict[str, int]]) -> None:
        self._letters = _column_letters(columns)
        self._styles = styles

    def row(self, number: int, cells: Sequence[object]) -> str:
        """The ``<row r="number">`` element of one row (row 1 is the header)."""
        parts = [f'<row r="{number}">']
        append = parts.append
        styles = self._styles
        for index, value in enumerate(cells):
            ref = f"{self._letters[index]}{number}"
            style = ""
            styled = styles.get(index)
            if styled is not None and isinstance(value, str) and value in styled:
                style = f' s="{styled[value]}"'
            if value is None:
                continue
            if isinstance(value, int):
                append(f'<c r="{ref}"{style} t="n"><v>{value}</v></c>')
                continue
            text = _escape(str(value))
            space = ' xml:space="preserve"' if text != text.strip() else ""
            append(f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{text}</t></is></c>')
        append("</row>")
        return "".join(parts)


def splice_rows(
    skeleton: bytes,
    sheet_member: str,
    path: Path,
    rows: Iterable[str],
    finish_tail: Callable[[bytes], bytes],
) -> None:
    """Write ``path``: the workbook ``skeleton`` with ``rows`` appended to one sheet's data.

    Args:
        skeleton: the workbook openpyxl wrote (in memory), whose sheet ``sheet_member`` holds
            only its first row(s).
        sheet_member: the zip member of that sheet, e.g. ``xl/worksheets/sheet2.xml``.
        path: where the final workbook goes.
        rows: ``<row>`` elements, in order, numbered after the skeleton's rows; consumed once.
        finish_tail: turns the sheet's XML after ``</sheetData>`` into its final form once
            every row is written (e.g. the filter's range, which depends on the row count).
    """
    with (
        zipfile.ZipFile(io.BytesIO(skeleton)) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=_COMPRESS_LEVEL) as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename != sheet_member:
                target.writestr(info, data)
                continue
            cut = data.rindex(_SHEET_DATA_END)
            with tempfile.TemporaryFile() as sheet:
                sheet.write(data[:cut])
                chunk: list[str] = []
                for row in rows:
                    chunk.append(row)
                    if len(chunk) >= _CHUNK_ROWS:
                        sheet.write("".join(chunk).encode("utf-8"))
                        chunk.clear()
                sheet.write("".join(chunk).encode("utf-8"))
                sheet.write(finish_tail(data[cut:]))
                # Spooled first so that its size is known: zipfile turns the zip64 extension on
                # from it when a sheet of huge cells passes the 2 GiB a plain member holds.
                member = zipfile.ZipInfo(info.filename, info.date_time)
                member.compress_type = zipfile.ZIP_DEFLATED
                member.file_size = sheet.tell()
                sheet.seek(0)
                with target.open(member, "w") as out:
                    shutil.copyfileobj(sheet, out, _COPY_BYTES)
