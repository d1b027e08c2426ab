"""results.xlsx: a Summary sheet and a Results sheet, built at the end from results.csv.

openpyxl's write-only mode writes the Summary sheet and the Results sheet's header, styles and
layout; the Results rows are written as text by ``xlsx_rows`` (openpyxl needs ~60-85 µs a row
there, the text writer ~10). results.csv is read back line by line, so memory does not grow
with the run. The Results sheet is bounded for people: when the run has more rows than
``row_limit``, it holds only the rows that need attention (invalid, failed, not-sent,
duplicate), the first ``row_limit`` of them, and the Summary sheet says so; results.csv always
holds every row.

Cells arrive already neutralised (results.csv is); the Summary values (warnings quote input
file names and headers) are neutralised here, with hidden characters escaped as in results.csv.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from importer.records import Action
from importer.report.csv_files import RESULT_COLUMNS, open_csv, shown
from importer.report.xlsx_rows import RowsXml, splice_rows

__all__ = [
    "ACTION_COLOURS",
    "ATTENTION_ACTIONS",
    "XLSX_ROW_LIMIT",
    "XlsxScope",
    "decide_scope",
    "select_results_lines",
    "write_results_xlsx",
]

logger = logging.getLogger(__name__)

#: results.xlsx lists every row up to this many; above it, its Results sheet holds only the rows
#: that need attention (the workbook is for people; results.csv always holds every row).
XLSX_ROW_LIMIT = 20_000

#: Rows an HR admin has to look at.
ATTENTION_ACTIONS: frozenset[str] = frozenset(
    {Action.INVALID.value, Action.FAILED.value, Action.NOT_SENT.value, Action.DUPLICATE.value}
)

_GREEN, _GREY, _RED, _AMBER, _BLUE = "C6EFCE", "D9D9D9", "FFC7CE", "FFEB9C", "DDEBF7"

#: Fill colour (RGB hex) of the action cell, per action.
ACTION_COLOURS: dict[str, str] = {
    Action.CREATED.value: _GREEN,
    Action.UPDATED.value: _GREEN,
    Action.DELETED.value: _GREEN,
    Action.VALID.value: _GREEN,
    Action.UNCHANGED.value: _GREY,
    Action.SKIPPED.value: _GREY,
    Action.NOT_SENT.value: _AMBER,
    Action.INVALID.value: _RED,
    Action.FAILED.value: _RED,
    Action.DUPLICATE.value: _AMBER,
    Action.WOULD_CREATE.value: _BLUE,
    Action.WOULD_UPDATE.value: _BLUE,
    Action.WOULD_DELETE.value: _BLUE,
}

# Excel refuses these in a cell (the XML cannot hold them, U+FFFE and U+FFFF included; lone
# surrogates come from file names with undecodable bytes) and caps a cell at 32,767 chars.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_MAX_CELL = 32_767
_NUMERIC_COLUMNS = frozenset(RESULT_COLUMNS.index(name) for name in ("row", "status", "attempts"))
_ACTION_COLUMN = RESULT_COLUMNS.index("action")
# source, sheet, row, column, user, userId, displayName, the five value columns, action,
# changes, status, skillId, attempts, errorType, error, requestId.
_WIDTHS = (28, 14, 7, 7, 32, 38, 32, 20, 24, 18, 16, 32, 13, 40, 7, 38, 9, 22, 60, 38)


@dataclass(frozen=True, slots=True)
class XlsxScope:
    """Which rows the Results sheet holds.

    Attributes:
        complete: True when it holds every row of results.csv.
        rows: how many rows it holds.
        note: one sentence for the Summary sheet and summary.json.
    """

    complete: bool
    rows: int
    note: str


def decide_scope(counts: dict[str, int], row_limit: int) -> XlsxScope:
    """Decide what the Results sheet holds, from the final counts per action.

    Rule: at most ``row_limit`` rows means every row; otherwise the rows whose action is
    invalid, failed, not-sent or duplicate, in results.csv order, the first ``row_limit`` of them.
    """
    total = sum(counts.values())
    if total <= row_limit:
        return XlsxScope(True, total, f"all {total} rows of results.csv")
    attention = sum(counts.get(action, 0) for action in ATTENTION_ACTIONS)
    shown = min(attention, row_limit)
    first = f"the first {shown} of " if shown < attention else ""
    return XlsxScope(
        False,
        shown,
        f"{first}the {attention} rows needing attention (invalid, failed, not-sent, duplicate) "
        f"only: "
        f"the run has {total} rows, more than {row_limit}; results.csv holds every row",
    )


def _safe(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if not value:
        return None
    if _SURROGATE.search(value):
        # Shown as results.csv shows them (the CSV files are written with backslashreplace).
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    value = shown(_ILLEGAL.sub("\ufffd", value))
    return value if len(value) <= _MAX_CELL else value[: _MAX_CELL - 1] + "…"


def _result_cells(line: list[str]) -> list[Any]:
    cells: list[Any] = []
    for index, text in enumerate(line):
        if not text:
            cells.append(None)
        elif index in _NUMERIC_COLUMNS and text.isdigit():
            cells.append(int(text))
        elif len(text) > _MAX_CELL or _ILLEGAL.search(text):
            cells.append(_safe(text))
        else:
            cells.append(text)
    return cells


def select_results_lines(results_csv: Path, scope: XlsxScope) -> Iterator[list[str]]:
    """Stream the lines of results.csv that the Results sheet holds under ``scope``."""
    with open_csv(results_csv) as handle:
        reader = csv.reader(handle)
        next(reader, None)
        shown = 0
        for line in reader:
            if shown >= scope.rows:
                return
            if len(line) != len(RESULT_COLUMNS):
                continue
            if scope.complete or line[_ACTION_COLUMN] in ATTENTION_ACTIONS:
                shown += 1
                yield line


def _action_chart(summary: Any, first: int, last: int) -> Any:
    from openpyxl.chart import BarChart, Reference

    """A bar chart of rows per action, from the Summary sheet's own lines."""
    chart = BarChart()
    chart.type = "bar"  # horizontal: action names stay readable
    chart.title = "Rows per action"
    chart.legend = None
    chart.y_axis.title = "rows"
    chart.height = max(6.0, 1.0 + 0.7 * (last - first + 1))
    chart.width = 16.0
    chart.add_data(Reference(summary, min_col=2, min_row=first, max_row=last))
    chart.set_categories(Reference(summary, min_col=1, min_row=first, max_row=last))
    return chart


def write_results_xlsx(
    path: Path,
    lines: Iterable[list[str]],
    summary_rows: Sequence[tuple[Any, ...]],
    action_rows: tuple[int, int] | None = None,
) -> int:
    """Write results.xlsx: the Summary sheet (with a chart of rows per action), then Results.

    Args:
        path: where results.xlsx goes.
        lines: the parsed results.csv lines the Results sheet holds (already neutralised),
            from ``select_results_lines`` or the writer's own list of attention lines.
        summary_rows: lines of the Summary sheet, in order: (label, value) pairs, a label
            alone (value None) is a section heading; a line may have more cells (a table).
        action_rows: first and last Summary row (1-based) holding (action, rows) lines: the
            chart plots them. None: no chart.

    Returns:
        The number of rows written to the Results sheet.
    """
    # openpyxl (and numpy, which it loads when present) costs about 0.3 s to import: only
    # the commands that write a workbook pay for it.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)

    summary = workbook.create_sheet("Summary")
    summary.column_dimensions["A"].width = 24
    summary.column_dimensions["B"].width = 90
    summary.column_dimensions["C"].width = 90
    for label, value, *more in summary_rows:
        heading = WriteOnlyCell(summary, _safe(label))
        if value is None:
            heading.font = bold
        summary.append([heading, _safe(value), *(_safe(cell) for cell in more)])
    if action_rows is not None:
        summary.add_chart(_action_chart(summary, *action_rows), "D2")

    results = workbook.create_sheet("Results")
    results.freeze_panes = "A2"
    for number, width in enumerate(_WIDTHS, start=1):
        results.column_dimensions[get_column_letter(number)].width = width
    header = []
    for name in RESULT_COLUMNS:
        cell = WriteOnlyCell(results, name)
        cell.font = bold
        header.append(cell)
    results.append(header)
    # The rows themselves are written as text after openpyxl is done (xlsx_rows): the filter's
    # range is fixed there, once the rows are counted.
    last = get_column_letter(len(RESULT_COLUMNS))
    results.auto_filter.ref = f"A1:{last}1"
    fills: dict[str, int] = {}
    for action, colour in ACTION_COLOURS.items():
        styled = WriteOnlyCell(results, action)
        styled.fill = PatternFill("solid", start_color=colour, end_color=colour)
        fills[action] = styled.style_id  # registers the style in the workbook's styles.xml
    sheet_member = f"xl/worksheets/sheet{workbook.index(results) + 1}.xml"
    skeleton = io.BytesIO()
    workbook.save(skeleton)

    rows_xml = RowsXml(len(RESULT_COLUMNS), {_ACTION_COLUMN: fills})
    written = 0

    def rows() -> Iterator[str]:
        nonlocal written
        for line in lines:
            if len(line) != len(RESULT_COLUMNS):
                continue
            written += 1
            yield rows_xml.row(written + 1, _result_cells(line))

    def tail(xml: bytes) -> bytes:
        empty = f'<autoFilter ref="A1:{last}1"/>'.encode()
        return xml.replace(empty, f'<autoFilter ref="A1:{last}{written + 1}"/>'.encode(), 1)

    splice_rows(skeleton.getvalue(), sheet_member, path, rows(), tail)
    logger.debug("wrote %s with %d result rows", path, written)
    return written
