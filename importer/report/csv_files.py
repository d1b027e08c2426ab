"""The CSV files of a run's report: results.csv (every row) and rejects.csv (rows to fix).

Both are UTF-8 with a BOM (so Excel shows non-ASCII names right; the reader accepts the BOM)
and CRLF line ends (RFC 4180, what Excel writes). Every cell that a spreadsheet could take
for a formula is neutralised with a leading ``'`` (see ``neutralise``), header cells included.
results.csv also shows invisible and text-direction characters as escapes (``shown``), so no
cell can disguise its line; rejects.csv keeps the original text, to be fixed and fed back.

rejects.csv's own logic (which rows, which columns) is in ``importer.report.rejects``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from importer.records import FIELDS, Action, RowOutcome
from importer.validate import INVISIBLE_CHARACTERS

__all__ = [
    "CSV_ENCODING",
    "FORMULA_PREFIXES",
    "REJECT_ACTIONS",
    "RESULT_COLUMNS",
    "CorrectionKey",
    "correction_key",
    "csv_line",
    "csv_records",
    "has_hidden",
    "neutralise",
    "open_csv",
    "replace_results_rows",
    "result_row",
    "shown",
]

#: (source, sheet, row, column, skill name folded): where a corrected outcome goes; column and
#: name are "" for rows of the rows layout (one outcome per input row).
CorrectionKey = tuple[str, str, int, str, str]

#: The columns of results.csv, in order.
RESULT_COLUMNS: tuple[str, ...] = (
    "source",
    "sheet",
    "row",
    "column",
    "user",
    "userId",
    *FIELDS[1:],  # displayName and the values the row asks for, normalised
    "action",
    "changes",
    "status",
    "skillId",
    "attempts",
    "errorType",
    "error",
    "requestId",
)

#: First characters that make Excel, LibreOffice or Sheets read a cell as a formula (OWASP
#: CSV injection list, plus NUL as ASVS 1.2.10 asks).
FORMULA_PREFIXES: frozenset[str] = frozenset("=+-@\t\r\0")

#: Actions whose rows go to rejects.csv.
REJECT_ACTIONS: frozenset[Action] = frozenset({Action.INVALID, Action.FAILED})

#: The files start with the BOM Excel needs to detect UTF-8; utf-8-sig strips it on reading.
CSV_ENCODING = "utf-8-sig"

_BUFFER_BYTES = 1 << 20

# What results.csv shows escaped (``\\u202e``): invisible and text-direction characters, which
# could make a line read as something else. Control characters are left to CSV quoting.
_HIDDEN = re.compile(f"[{INVISIBLE_CHARACTERS}]")


def has_hidden(text: str) -> bool:
    """True when ``text`` holds a character that ``shown`` escapes."""
    return not text.isascii() and _HIDDEN.search(text) is not None


def shown(cell: str) -> str:
    """A results.csv cell: hidden characters escaped (see ``has_hidden``), then neutralised."""
    if has_hidden(cell):
        cell = _HIDDEN.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), cell)
    return neutralise(cell)


def neutralise(cell: str) -> str:
    """Return ``cell`` made safe to open in a spreadsheet.

    A cell starting with ``= + - @``, tab, CR or NUL gets a leading ``'``: spreadsheets then
    show it as text instead of evaluating it. Other cells are returned unchanged (the same
    object, so the common case costs one set lookup).
    """
    return "'" + cell if cell[:1] in FORMULA_PREFIXES else cell


class _LineFormatter:
    """Formats one CSV line exactly as csv.writer writes it into a file, without the CRLF."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        # Keep the CRLF terminator: csv.writer quotes cells holding its characters, and a
        # lone CR in a cell must be quoted to survive.
        self._writerow = csv.writer(self._buffer).writerow

    def __call__(self, cells: Iterable[Any]) -> str:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writerow(cells)
        return self._buffer.getvalue()[:-2]


#: ``csv_line(cells)``: one CSV line (RFC 4180 quoting as csv.writer does it), no line end.
csv_line = _LineFormatter()


def open_csv(path: Path, mode: str = "r") -> IO[str]:
    """Open a report CSV with the report's encoding, newline handling and a large buffer.

    A file opened for writing starts with the BOM. It is written by hand and the file encoded
    as plain UTF-8: Python's utf-8-sig encoder is a Python-level call on every write, which
    doubles the cost of writing rejects.csv row by row.
    """
    if "r" in mode:
        return path.open(mode, encoding=CSV_ENCODING, newline="", buffering=_BUFFER_BYTES)
    # backslashreplace: a file name with undecodable bytes arrives with lone surrogates.
    handle = path.open(
        mode, encoding="utf-8", errors="backslashreplace", newline="", buffering=_BUFFER_BYTES
    )
    handle.write("\ufeff")
    return handle


def result_row(
    outcome: RowOutcome, source_cell: str | None = None, sheet_cell: str | None = None
) -> tuple[Any, ...]:
    """Return the cells of the results.csv line of one outcome, ``shown`` (neutralised, hidden
    characters escaped).

    ``source_cell`` and ``sheet_cell`` are the already shown source and sheet, when the caller
    has them cached.
    """
    o = outcome
    return (
        shown(o.source) if source_cell is None else source_cell,
        shown(o.sheet) if sheet_cell is None else sheet_cell,
        o.row or "",  # row 0 is a skill deleted by sync: it has no input row
        shown(o.column),
        shown(o.user),
        shown(o.user_id),
        shown(o.display_name),
        shown(o.proficiency),
        shown(o.categories),
        shown(o.collaboration_tags),
        shown(o.allowed_audiences),
        shown(o.web_url),
        o.action.value,
        shown(o.changes),
        o.status,
        shown(o.skill_id),
        o.attempts,
        shown(o.error_type),
        shown(o.error),
        shown(o.request_id),
    )


def _records(handle: IO[str]) -> Iterator[str]:
    """Yield the raw text of each CSV record, line end included (a record may span lines)."""
    partial = ""
    for line in handle:
        if partial:
            partial += line
            if partial.count('"') % 2 == 0:  # RFC 4180 doubles quotes inside quoted cells
                yield partial
                partial = ""
        elif line.count('"') % 2:
            partial = line
        else:
            yield line
    if partial:
        yield partial


#: The raw text of each record of a report CSV (for rewriting one without parsing every cell).
csv_records = _records


def correction_key(source: str, sheet: str, row: int, column: str, name: str) -> CorrectionKey:
    """Where a corrected outcome goes: the row, and for a row made by the matrix or list layout
    (several outcomes per input row) its column and skill name as well."""
    return (source, sheet, row, column, name.strip().casefold() if column else "")


def replace_results_rows(path: Path, corrections: Mapping[CorrectionKey, RowOutcome]) -> None:
    """Rewrite results.csv so each corrected row appears once, with its corrected outcome.

    A corrected row takes the place of its first earlier line (input order is kept); later
    lines with the same location are dropped; corrections for rows never written are
    appended. Streams the file and copies untouched records as raw text, so a correction in
    a million-row report costs a fraction of a second and memory stays bounded. Rows made by
    the matrix and list layouts are located by row, column and skill name.
    """
    pending: dict[tuple[str, ...], RowOutcome] = {
        (shown(source), shown(sheet), str(row or ""), column, name): outcome
        for (source, sheet, row, column, name), outcome in corrections.items()
    }
    seen: set[tuple[str, ...]] = set()
    temporary = path.with_name(path.name + ".tmp")
    with open_csv(path) as src, open_csv(temporary, "w") as dst:
        records = _records(src)
        dst.write(next(records, csv_line(RESULT_COLUMNS) + "\r\n"))
        for record in records:
            if '"' in record:
                fields = next(csv.reader([record]), [])[:7]
            else:
                fields = record.split(",", 7)[:7]
            fields += [""] * (7 - len(fields))
            column = fields[3]
            key = (*fields[:3], column, fields[6].strip().casefold() if column else "")
            outcome = pending.get(key)
            if outcome is None or (column and key in seen):
                # A later line of the same skill in one list cell is a row of its own.
                dst.write(record)
            elif key not in seen:
                seen.add(key)
                dst.write(csv_line(result_row(outcome)) + "\r\n")
        for key, outcome in pending.items():
            if key not in seen:
                dst.write(csv_line(result_row(outcome)) + "\r\n")
    temporary.replace(path)
