"""results.csv as outcomes stream in: the hot path of the report.

``ResultsStream`` formats one line per outcome, counts actions, remembers each row's last
action (one byte per row number of each table, so late corrections can adjust the counts),
passes rejected rows to rejects.csv, and keeps up to ``attention_limit`` lines of rows needing
attention for results.xlsx. The files themselves and their write failures are
``importer.report.files``'s. ``importer.report.writer.ReportWriter`` owns one and writes the
other files. Nothing here holds outcomes: memory stays bounded for millions of rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from importer.records import Action, RowOutcome, SkillRow, SourceRow, Table
from importer.report.csv_files import (
    FORMULA_PREFIXES,
    REJECT_ACTIONS,
    RESULT_COLUMNS,
    CorrectionKey,
    correction_key,
    csv_line,
    has_hidden,
    open_csv,
    replace_results_rows,
    result_row,
    shown,
)
from importer.report.error_types import ErrorTally, ErrorTallyPart
from importer.report.files import ReportFiles
from importer.report.input_order import order_results
from importer.report.rejects import RejectsCsv
from importer.report.xlsx import ATTENTION_ACTIONS

__all__ = ["ResultsStream"]

logger = logging.getLogger(__name__)


_ACTIONS: tuple[Action, ...] = tuple(Action)
# Actions as small integers: list indexes for the counts, bytes in the per-table index.
_CODES: dict[str, int] = {action.value: code for code, action in enumerate(_ACTIONS, start=1)}
_TEXT: tuple[str, ...] = ("", *(action.value for action in _ACTIONS))
# The cells after the values of a line without details, per action code.
_AFTER: tuple[str, ...] = ("", *(f",{action.value},,,,0,,," for action in _ACTIONS))
#: A valid row's values as results.csv shows them: proficiency, categories, collaborationTags,
#: allowedAudiences, webUrl (lists joined by "; ", "" for an empty cell).
Values = tuple[str, ...]
_NO_VALUES: Values = ("", "", "", "", "")
_VALUE_FIELDS = ("proficiency", "categories", "collaboration_tags", "allowed_audiences", "web_url")
# Formatted value cells remembered (cleared when full): combinations repeat a lot.
_VALUES_CACHE = 65_536
_HEAD_COMMAS = 6  # the commas of a line up to its displayName
_REJECT_CODES = frozenset(_CODES[action] for action in REJECT_ACTIONS)
_ATTENTION_CODES = frozenset(_CODES[action] for action in ATTENTION_ACTIONS)
_FLUSH_ROWS = 4096
_COMMAS = len(RESULT_COLUMNS) - 1
_TAIL_COMMAS = 8  # the commas of a line from its action on
_ABSENT = 1 << 30  # a cell index no row reaches: the column is not in the table


def _needs_care(line: str, commas: int, starts: tuple[str, ...] | None = None) -> bool:
    """Whether a line joined with plain commas is wrong as it stands.

    It is right unless a cell holds a quote, a line break or a comma (csv.writer must quote
    it: then the line has more than ``commas`` commas), a cell holds an invisible or
    text-direction character (``shown`` escapes it), or a cell starts with a formula
    character (``neutralise`` must guard it). ``starts`` names the only cells that can start
    so (the hot paths know them: user and name); without it every cell after a comma is
    looked at (the first cell of a line, the source, is neutralised already). ``line`` may
    be a whole line or a probe such as ``",user,name,"``.
    """
    if '"' in line or "\n" in line or "\r" in line or line.count(",") != commas:
        return True
    if has_hidden(line):
        return True
    if starts is None:
        return (
            ",=" in line
            or ",+" in line
            or ",-" in line
            or ",@" in line
            or ",\t" in line
            or ",\0" in line
        )
    for cell in starts:  # noqa: SIM110 - any() and a generator cost more, once per row
        if cell[:1] in FORMULA_PREFIXES:
            return True
    return False


def _value_fields(values: Values) -> dict[str, str]:
    return dict(zip(_VALUE_FIELDS, values, strict=False))


class ResultsStream(ReportFiles):
    """Streams results.csv (and rejected rows to rejects.csv) as outcomes arrive.

    Args:
        path: where results.csv goes.
        rejects: where invalid and failed rows go, or None when rejects.csv is not wanted.
        attention_limit: how many lines of rows needing attention (invalid, failed,
            duplicate) to keep for results.xlsx; 0 keeps none.
    """

    def __init__(self, path: Path, rejects: RejectsCsv | None, attention_limit: int) -> None:
        super().__init__(path, rejects)
        self._attention: list[str] = []
        self._attention_limit = attention_limit
        self._attention_codes = _ATTENTION_CODES if attention_limit > 0 else frozenset()
        self._need_template = rejects is not None
        self._counts = [0] * len(_TEXT)
        self._actions: dict[tuple[str, str], bytearray] = {}
        self._table_source: str | None = None
        self._table_sheet: str | None = None
        self._table_actions = bytearray()
        self._source_cell = ""
        self._sheet_cell = ""
        self._prefix = ","
        self._plain_prefix = False
        self._values_text: dict[Values, str] = {}
        self._row_cells: dict[tuple[Any, ...], str] = {}
        self._row_table: Table | None = None
        self._user_index = self._name_index = _ABSENT
        self._corrections: dict[CorrectionKey, RowOutcome] = {}
        self._in_place: set[CorrectionKey] = set()
        # The last action of each row made by the matrix or list layout (several per input
        # row, so the one byte per row number cannot say), for ``correct``.
        self._produced: dict[CorrectionKey, int] = {}
        self._removed_rejects: set[tuple[str, str, int]] = set()
        self._input_order: Sequence[tuple[str, str]] | None = None
        #: Rows per error type with an example each (rows in the fast paths have none).
        self.errors = ErrorTally()

    @property
    def corrected(self) -> bool:
        """Whether ``correct`` changed any row (then the attention lines may be stale)."""
        return bool(self._corrections)

    @property
    def counts(self) -> dict[str, int]:
        """Rows per action value so far, every action present (zeros included)."""
        return {_TEXT[code]: self._counts[code] for code in range(1, len(_TEXT))}

    def add(self, outcome: RowOutcome) -> None:
        """Record one outcome: a line of results.csv (and of rejects.csv if invalid/failed)."""
        o = outcome
        code = _CODES[o.action]
        if o.source is not self._table_source or o.sheet is not self._table_sheet:
            self._switch_table(o.source, o.sheet)
        status = o.status
        line = (
            f"{self._source_cell},{self._sheet_cell},{o.row or ''},{o.column},{o.user},"
            f"{o.user_id},{o.display_name},{o.proficiency},{o.categories},"
            f"{o.collaboration_tags},{o.allowed_audiences},{o.web_url},{_TEXT[code]},"
            f"{o.changes},{'' if status is None else status},{o.skill_id},{o.attempts},"
            f"{o.error_type},{o.error},{o.request_id}"
        )
        if _needs_care(line, _COMMAS):
            line = csv_line(result_row(o, self._source_cell, self._sheet_cell))
        self._record(code, o.row, line)
        if o.column:
            key = correction_key(o.source, o.sheet, o.row, o.column, o.display_name)
            self._produced[key] = code
        if o.error_type:
            self.errors.note(o)
        rejects = self._rejects
        if rejects is not None:
            if code in _REJECT_CODES:
                self._reject(o)
            elif self._need_template and o.header:
                rejects.note_header(o.header)
                self._need_template = False

    def add_source_row(
        self, source_row: SourceRow, action: Action = Action.VALID, values: Values = _NO_VALUES
    ) -> None:
        """Record an outcome without details straight from its input row.

        Writes the same line as ``add(RowOutcome.for_source(source_row, action, ...))`` with
        ``values`` (proficiency, categories, collaborationTags, allowedAudiences, webUrl as
        results.csv shows them) without building the outcome. Rejected actions (invalid,
        failed) go through ``add``; runs of ``valid`` rows are faster through
        ``add_valid_rows``.
        """
        table = source_row.table
        if table is not self._row_table:
            self._enter_table(table)
        code = _CODES[action]
        cells = source_row.cells
        user = cells[self._user_index].strip() if self._user_index < len(cells) else ""
        name = cells[self._name_index].strip() if self._name_index < len(cells) else ""
        head = f"{self._prefix}{source_row.row},{source_row.column},{user},,{name}"
        # Only user and name can need care: the prefix is quoted already, the values are
        # formatted once per combination, the tail is fixed. When the prefix itself holds
        # quotes (a file name with a comma), probe the two cells.
        probe = head if self._plain_prefix else f",{source_row.column},{user},,{name}"
        commas = _HEAD_COMMAS if self._plain_prefix else 4
        if code in _REJECT_CODES or _needs_care(probe, commas, (user, name)):
            self.add(RowOutcome.for_source(source_row, action, **_value_fields(values)))
            return
        text = self._values_text.get(values) or self._format_values(values)
        self._record(code, source_row.row, f"{head},{text}{_AFTER[code]}")
        if source_row.column:
            key = correction_key(table.source, table.sheet, source_row.row, source_row.column, name)
            self._produced[key] = code
        if self._need_template and table.header and self._rejects is not None:
            self._rejects.note_header(table.header)
            self._need_template = False

    def add_valid_rows(self, checked: Sequence[tuple[SourceRow, Values]]) -> None:
        """Record a run of ``valid`` rows, each with its values: ``add_source_row`` for each,
        with less overhead.

        The same lines as ``add_source_row``; the per-table state is looked up once per call
        instead of once per row. Rows that need anything special take the one-row path.
        """
        code = _CODES[Action.VALID.value]
        after = _AFTER[code]
        buffer = self._buffer
        keep_attention = code in self._attention_codes
        known = self._values_text
        written = 0
        index = 0
        total = len(checked)
        while index < total:
            source_row, values = checked[index]
            table = source_row.table
            if table is not self._row_table or self._need_template or keep_attention:
                self.add_source_row(source_row, Action.VALID, values)
                index += 1
                continue
            prefix, user_at, name_at = self._prefix, self._user_index, self._name_index
            actions = self._table_actions
            plain = self._plain_prefix
            commas = _HEAD_COMMAS
            # A tight loop over the rows of this table.
            while index < total:
                source_row, values = checked[index]
                if source_row.table is not table:
                    break
                cells = source_row.cells
                user = cells[user_at].strip() if user_at < len(cells) else ""
                name = cells[name_at].strip() if name_at < len(cells) else ""
                column = source_row.column
                head = f"{prefix}{source_row.row},{column},{user},,{name}"
                probe = head if plain else f",{column},{user},,{name}"
                if _needs_care(probe, commas if plain else 4, (user, name)):
                    self.add_source_row(source_row, Action.VALID, values)
                    index += 1
                    continue
                row = source_row.row
                if column:
                    key = correction_key(table.source, table.sheet, row, column, name)
                    self._produced[key] = code
                elif row > 0:
                    if row >= len(actions):
                        actions.extend(bytes(max(row + 1 - len(actions), len(actions))))
                    actions[row] = code
                text = known.get(values) or self._format_values(values)
                buffer.append(f"{head},{text}{after}")
                written += 1
                index += 1
                if len(buffer) >= _FLUSH_ROWS:
                    self._counts[code] += written
                    written = 0
                    self._flush()
        self._counts[code] += written

    def add_person_rows(self, rows: Sequence[SkillRow], action: Action, changes: str) -> None:
        """Record one person's rows that share an outcome with no detail but ``changes``
        (the rows the confirmed state lets a run skip, half a million on a quiet night).

        Writes the same lines as ``add(RowOutcome.for_row(row, action, changes=changes))`` for
        each row, without building the outcomes: the user's cells and the tail of the line
        are checked once for the person; a row that needs anything special takes ``add``.
        """
        if not rows:
            return
        code = _CODES[action]
        user, user_id = rows[0].user, rows[0].user_id
        tail = f",{_TEXT[code]},{changes},,,0,,,"
        slow = (
            code in _REJECT_CODES
            or code in self._attention_codes
            or _needs_care(f",{user},{user_id}", 2, (user, user_id))
            or _needs_care(tail, _TAIL_COMMAS, (changes,))
        )
        cells = self._row_cells
        for row in rows:
            source = row.source
            table = source.table
            column = source.column
            key = (
                column,
                row.display_name,
                row.proficiency,
                row.categories,
                row.collaboration_tags,
                row.allowed_audiences,
                row.web_url,
            )
            after = cells.get(key)
            if after is None:
                after = self._row_cells_text(key)
            if (
                slow
                or not after
                or self._need_template
                or row.user != user
                or row.user_id != user_id
            ):
                self.add(RowOutcome.for_row(row, action, changes=changes))
                continue
            if table.source is not self._table_source or table.sheet is not self._table_sheet:
                self._switch_table(table.source, table.sheet)
            number = source.row
            self._record(
                code,
                number,
                f"{self._prefix}{number or ''},{column},{user},{user_id},{after}{tail}",
            )
            if column:
                produced = correction_key(
                    table.source, table.sheet, number, column, row.display_name
                )
                self._produced[produced] = code

    def _row_cells_text(self, key: tuple[Any, ...]) -> str:
        """A row's skill name and value cells as ``add_person_rows`` writes them, or "" when
        its column or name needs care; remembered per combination (they repeat a lot)."""
        column, name, proficiency, categories, tags, audiences, web_url = key
        text = ""
        if not _needs_care(f",{column},{name}", 2, (column, name)):
            values = (
                proficiency or "",
                "; ".join(categories) if categories else "",
                "; ".join(tags) if tags else "",
                audiences or "",
                web_url or "",
            )
            text = f"{name},{self._values_text.get(values) or self._format_values(values)}"
        if len(self._row_cells) >= _VALUES_CACHE:
            self._row_cells.clear()
        self._row_cells[key] = text
        return text

    def _format_values(self, values: Values) -> str:
        """The value cells of a line, as ``result_row`` shows them; remembered per values."""
        known = self._values_text
        if len(known) >= _VALUES_CACHE:
            known.clear()
        text = ",".join(values)
        # Plain values (nearly all) are their own cells; the rest go through csv_line.
        if text.count(",") != len(values) - 1 or _needs_care(text, len(values) - 1, values):
            text = csv_line(tuple(shown(value) for value in values))
        known[values] = text
        return text

    def attention_lines(self) -> list[str]:
        """The results.csv lines kept for results.xlsx (rows needing attention)."""
        return list(self._attention)

    def row_actions(self, source: str, sheet: str) -> bytes:
        """The action code of every row of one table so far (0 = no row), for ``absorb``."""
        return bytes(self._actions.get((source, sheet), b""))

    def absorb(
        self,
        results: Path,
        source: str,
        sheet: str,
        actions: bytes,
        counts: dict[str, int],
        attention: list[str],
        rejects: Iterable[RowOutcome],
        errors: ErrorTallyPart | None = None,
    ) -> None:
        """Append the results of a later part of a table that another process validated.

        Args:
            results: that part's results.csv (same columns; its header line is skipped).
            source, sheet: the table.
            actions: that part's ``row_actions`` (its rows come after every row here).
            counts: that part's ``counts``.
            attention: that part's ``attention_lines``.
            rejects: that part's invalid and failed outcomes, in row order.
            errors: that part's error types (``ErrorTally.part``).
        """
        self._flush()
        if self._results is not None:
            try:
                with open_csv(results) as part:
                    part.readline()
                    while chunk := part.read(1 << 20):
                        self._results.write(chunk)
            except OSError as exc:
                self._break_results(exc)
        self._switch_table(source, sheet)
        mine = self._table_actions
        if len(mine) < len(actions):
            mine.extend(bytes(len(actions) - len(mine)))
        first = len(actions) - len(actions.lstrip(b"\x00"))
        mine[first : len(actions)] = actions[first:]
        for action, count in counts.items():
            self._counts[_CODES[action]] += count
        room = self._attention_limit - len(self._attention)
        if room > 0 and self._attention_codes:
            self._attention.extend(attention[:room])
        for outcome in rejects:
            self._reject(outcome)
        if errors is not None:
            self.errors.absorb(source, sheet, errors)

    def correct(self, outcomes: Iterable[RowOutcome], *, in_place: bool = False) -> None:
        """Replace earlier outcomes of the same rows (same source, sheet and row).

        Used for conflicting duplicates found at the end of validation. Counts change at
        once; results.csv and rejects.csv are rewritten at ``finish`` so that each row appears
        exactly once, with its corrected outcome. In results.csv a corrected row keeps its
        line; an outcome for a row never added before is added at the end. In rejects.csv a
        corrected row goes to the end, after the rows streamed, in the order of the calls;
        with ``in_place`` it goes where its row number puts it among the rows of its table,
        as if it had been streamed so (for reports streamed in input order: ``validate``).
        A later correction of the same row replaces an earlier one, in its own place.
        """
        for outcome in outcomes:
            where = (outcome.source, outcome.sheet, outcome.row)
            key = correction_key(*where, outcome.column, outcome.display_name)
            code = _CODES[outcome.action]
            if outcome.column:
                previous = self._produced.get(key, 0)
                self._produced[key] = code
            else:
                actions = self._actions.get((outcome.source, outcome.sheet), bytearray())
                previous = actions[outcome.row] if 0 < outcome.row < len(actions) else 0
            if previous:
                self._counts[previous] -= 1
                if previous in _REJECT_CODES and key not in self._corrections:
                    self._removed_rejects.add(where)
            self._counts[code] += 1
            if outcome.row > 0 and not outcome.column:
                self._switch_table(outcome.source, outcome.sheet)
                self._index(code, outcome.row)
            self._corrections.pop(key, None)  # a later correction goes to the end
            self._corrections[key] = outcome
            if in_place:
                self._in_place.add(key)
            else:
                self._in_place.discard(key)
            self.errors.replace(outcome)

    def order_by_input(self, tables: Sequence[tuple[str, str]]) -> None:
        """At ``finish``, put results.csv in input order: ``tables`` (source, sheet) as read."""
        self._input_order = list(tables)

    def finish(self) -> None:
        """Close results.csv and rejects.csv with every correction applied.

        A file that cannot be written is left as far as it got (see ``failure``). Asked to
        (``order_by_input``), results.csv is then put in input order; if that fails (a full
        disk), it stays complete in the order the outcomes came, and a warning says so.
        """
        self._flush()
        if self._results is not None:
            try:
                self._results.close()
            except OSError as exc:
                self._break_results(exc)
            self._results = None
        if self._corrections and self.failure is None:
            try:
                replace_results_rows(self.results_path, self._corrections)
            except OSError as exc:
                self.fail("results.csv", exc)
        if self._input_order is not None and self.failure is None:
            try:
                order_results(self.results_path, self._input_order)
            except OSError as exc:
                logger.warning(
                    "results.csv is complete but in the order the outcomes came, not in input "
                    "order (%s)",
                    exc.strerror or type(exc).__name__,
                )
        if self._rejects is not None:
            in_place = [o for key, o in self._corrections.items() if key in self._in_place]
            appended = [o for key, o in self._corrections.items() if key not in self._in_place]
            try:
                self._rejects.finish(self._removed_rejects, appended, in_place)
            except OSError as exc:
                self._break_rejects(exc)

    def _record(self, code: int, row: int, line: str) -> None:
        self._counts[code] += 1
        if row > 0:
            self._index(code, row)
        buffer = self._buffer
        buffer.append(line)
        if len(buffer) >= _FLUSH_ROWS:
            self._flush()
        if code in self._attention_codes and len(self._attention) < self._attention_limit:
            self._attention.append(line)

    def _index(self, code: int, row: int) -> None:
        actions = self._table_actions
        if row >= len(actions):
            actions.extend(bytes(max(row + 1 - len(actions), len(actions))))
        actions[row] = code

    def _switch_table(self, source: str, sheet: str) -> None:
        self._table_source, self._table_sheet = source, sheet
        self._table_actions = self._actions.setdefault((source, sheet), bytearray())
        self._source_cell = shown(source)
        self._sheet_cell = shown(sheet)
        self._prefix = csv_line((self._source_cell, self._sheet_cell)) + ","
        self._plain_prefix = self._prefix.count(",") == 2
        self._row_table = None

    def _enter_table(self, table: Table) -> None:
        # The matrix layout makes one table per skill column, all of one sheet: moving
        # between them keeps the sheet's state.
        if table.source is not self._table_source or table.sheet is not self._table_sheet:
            self._switch_table(table.source, table.sheet)
        self._row_table = table
        self._user_index = table.mapping.get("user", _ABSENT)
        self._name_index = table.mapping.get("displayName", _ABSENT)
