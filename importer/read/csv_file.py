"""CSV and text input: encoding and delimiter detection, header search, streamed rows.

The whole file is checked once up front (sha256, encoding, binary content, header, at least
one data row), so a broken file fails before anything is sent. Rows are then streamed with
the ``csv`` module, which tracks physical lines: a record's row number is the line where it
starts, as an editor shows, even after quoted cells that span several lines.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import logging
import sys
import zipfile
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from importer.config import InputSettings
from importer.errors import InputError
from importer.read.headers import HEADER_SEARCH_ROWS, HeaderMatch, HeaderMatcher
from importer.records import SourceRow, Table

__all__ = ["CSV_SUFFIXES", "CsvSource"]

logger = logging.getLogger(__name__)

#: File name endings read as delimited text.
CSV_SUFFIXES = (".csv", ".txt", ".tsv")

_CANDIDATES = (",", ";", "\t", "|")
_CHUNK = 1 << 20
_HEAD = 1 << 16
# A NUL byte in a text file is a stray (one bad cell, reported on its row as a control
# character); a binary file, or UTF-16 without its byte-order mark, holds runs or swarms of them.
_MAX_STRAY_NULS = 16
_BINARY = (
    "looks like a binary file, not CSV text (it is full of NUL bytes; "
    "if it is UTF-16 text, save it with a byte-order mark or as UTF-8)"
)

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _workbook_kind(path: Path, head: bytes) -> tuple[str, str] | None:
    """What workbook a file named like text really is, and its extension; or None.

    Excel's .xlsx / .xlsm / .xlsb are zip archives with an ``xl/`` folder, .ods a zip whose
    ``mimetype`` says so; .xls (and a password-protected workbook of any kind) is an OLE2
    compound file. Saving as CSV is often a rename: the reader would otherwise see "NUL bytes".
    """
    if head.startswith(_OLE_MAGIC):
        return "an Excel workbook (Excel 97-2003, or password-protected)", ".xls"
    if not head.startswith(_ZIP_MAGIC):
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if any(name.startswith("xl/") for name in names):
                binary = "xl/workbook.bin" in names
                return "an Excel workbook", ".xlsb" if binary else ".xlsx"
            if "mimetype" in names and b"spreadsheet" in archive.read("mimetype"):
                return "an OpenDocument spreadsheet", ".ods"
    except (zipfile.BadZipFile, OSError, KeyError):
        return None
    return None


# A cell may legitimately be long (a pasted description); the csv module's 128 KiB default
# would turn such a file into an error halfway through the run.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def _scan(path: Path, display: str, encoding: str) -> tuple[str, str, bytes]:
    """Hash the file and settle its encoding in one pass. Returns (sha256, encoding, head)."""
    digest = hashlib.sha256()
    head = b""
    chosen = encoding
    nuls = 0
    size = path.stat().st_size
    decoder: codecs.IncrementalDecoder | None = None
    try:
        with path.open("rb") as stream:
            first = True
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                if first:
                    head, first = chunk[:_HEAD], False
                    kind = _workbook_kind(path, head)
                    if kind is not None:
                        raise InputError(
                            f"this is {kind[0]} named {path.suffix}, not text: rename it "
                            f"{path.with_suffix(kind[1]).name} and run again (or save it "
                            f"from Excel as CSV UTF-8)",
                            path=display,
                        )
                    if encoding == "auto":
                        chosen = _encoding_from_bom(chunk)
                    decoder = codecs.getincrementaldecoder(chosen)("strict")
                if not chosen.startswith("utf-16"):
                    nuls += chunk.count(b"\x00")
                    if b"\x00\x00" in chunk or nuls > max(_MAX_STRAY_NULS, size // 1000):
                        raise InputError(_BINARY, path=display)
                if decoder is not None:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError as exc:
                        if encoding != "auto":
                            raise InputError(
                                f"is not valid {encoding} text ({exc.reason})", path=display
                            ) from None
                        decoder = None
            if decoder is not None:
                decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        if encoding != "auto":
            raise InputError(f"is not valid {encoding} text ({exc.reason})", path=display) from None
        decoder = None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", path=display) from None
    if decoder is None:
        chosen = _legacy_encoding(path)
        logger.info("%s: not UTF-8, reading it as %s", display, chosen)
    return digest.hexdigest(), chosen, head


def _encoding_from_bom(chunk: bytes) -> str:
    if chunk.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8"


def _legacy_encoding(path: Path) -> str:
    """cp1252 (what Excel on Western Windows writes), else latin-1, which decodes anything."""
    decoder = codecs.getincrementaldecoder("cp1252")("strict")
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                decoder.decode(chunk)
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def _candidates(head: str, configured: str) -> list[str]:
    if configured != "auto":
        return [configured]
    lines = head.splitlines()[:HEADER_SEARCH_ROWS]
    counts = {d: sum(line.count(d) for line in lines) for d in _CANDIDATES}
    found = sorted((d for d in _CANDIDATES if counts[d]), key=lambda d: -counts[d])
    return found or [","]


class CsvSource:
    """One delimited text file, checked up front and then read row by row.

    Args:
        path: the file.
        display: the path as the user gave it (used in messages and reports).
        settings: the ``input`` section (delimiter, encoding).
        matcher: recognises the header row.

    Raises:
        InputError: the file cannot be read, is empty, binary, not decodable in the chosen
            encoding, has no recognisable header, or has a header but no data rows.
    """

    def __init__(
        self, path: Path, display: str, settings: InputSettings, matcher: HeaderMatcher
    ) -> None:
        self.path = path
        self.display = display
        encoding = settings.encoding.strip().lower() or "auto"
        if encoding != "auto":
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise InputError(
                    f"unknown encoding {encoding!r} in input.encoding", path=display
                ) from None
        if path.stat().st_size == 0:
            raise InputError("the file is empty", path=display)
        self.sha256, self.encoding, head_bytes = _scan(path, display, encoding)
        head = head_bytes.decode(self.encoding, errors="replace").lstrip("\ufeff")
        if not head.strip():
            raise InputError("the file is empty", path=display)
        self.delimiter, match = self._detect(_candidates(head, settings.delimiter), matcher)
        self.table = Table(display, "", match.header, match.mapping, match.ignored)
        self._header_index = match.index
        self._check_has_data()
        self.rows = 0
        self.blank_rows = 0
        #: Whether the last ``iter_rows(stop_line=...)`` found a record starting on that line.
        self.stopped_at_line = False

    def _open(self) -> io.TextIOWrapper:
        return self.path.open(encoding=self.encoding, newline="")

    def _open_at(self, offset: int) -> io.TextIOWrapper:
        raw = self.path.open("rb")
        raw.seek(offset)
        # A byte-order mark only ever stands at the very start of the file.
        encoding = "utf-8" if self.encoding == "utf-8-sig" else self.encoding
        return io.TextIOWrapper(raw, encoding=encoding, newline="")

    def _detect(self, candidates: list[str], matcher: HeaderMatcher) -> tuple[str, HeaderMatch]:
        first_error: InputError | None = None
        for delimiter in candidates:
            with self._open() as stream:
                head = islice(csv.reader(stream, delimiter=delimiter), HEADER_SEARCH_ROWS)
                try:
                    return delimiter, matcher.find(head, path=self.display)
                except InputError as exc:
                    first_error = first_error or exc
        assert first_error is not None  # candidates is never empty
        raise first_error

    def _check_has_data(self) -> None:
        with self._open() as stream:
            reader = csv.reader(stream, delimiter=self.delimiter)
            for index, cells in enumerate(reader):
                if index == self._header_index:
                    header_line = reader.line_num
                elif index > self._header_index and any(c.strip() for c in cells):
                    break
            else:
                raise InputError("has a header row but no data rows", path=self.display)
        self.table = Table(
            self.display, "", self.table.header, self.table.mapping, self.table.ignored, header_line
        )

    def iter_rows(
        self, start: tuple[int, int] | None = None, stop_line: int | None = None
    ) -> Iterator[SourceRow]:
        """Stream the non-blank data rows; counts ``rows`` and ``blank_rows`` as it goes.

        Args:
            start: (byte offset, line number) of a record boundary to start from instead of
                the first data row (for reading one part of a large file).
            stop_line: stop before the record that starts on this line. When no record starts
                there (the line lies inside a quoted cell that spans lines), the rows go on to
                the end of the file and ``stopped_at_line`` stays False: this read is the
                truth, so whoever chose the line learns that it was not a record boundary.
        """
        table = self.table
        width = len(table.header)
        user_index = table.mapping["user"]
        with self._open() if start is None else self._open_at(start[0]) as stream:
            reader = csv.reader(stream, delimiter=self.delimiter)
            base = 0 if start is None else start[1] - 1
            if start is None:
                for _ in islice(reader, self._header_index + 1):
                    pass
            last = base + reader.line_num
            stop = stop_line if stop_line is not None else sys.maxsize
            self.stopped_at_line = False
            rows = blank = 0
            try:
                for cells in reader:
                    start_line = last + 1
                    if start_line >= stop:
                        if start_line == stop:
                            self.stopped_at_line = True
                            break
                        stop = sys.maxsize  # a record spanned the line: read on to the end
                    last = base + reader.line_num
                    if len(cells) != width:
                        cells = (cells + [""] * width)[:width]
                    if not (cells[user_index].strip() or "".join(cells).strip()):
                        blank += 1
                        continue
                    rows += 1
                    yield SourceRow(table, start_line, tuple(cells))
            finally:
                self.rows, self.blank_rows = rows, blank
