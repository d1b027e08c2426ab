"""The shape stage: one ``SourceRow`` per skill, whatever the layout of the source.

- ``rows``: rows pass through unchanged.
- ``matrix``: each non-blank skill cell of a person's row becomes one row; the column's header
  is the skill name and the cell its level. The row keeps the person's original cells (so
  rejects.csv can give the row back once) plus the skill name after them, and names the
  column letter it came from.
- ``list``: each skill of the list cell (split on ``input.skill_separator``) becomes one row;
  "Name (Level)" carries its level, which is never kept as part of the name. A skill without
  a level takes the row's level column, if there is one. An empty list cell gives one row,
  which validation reports (a missing skill name): every person row is accounted for.

Each table's layout is decided on its first ``HEAD_ROWS`` data rows (see ``detect``), logged,
and kept in ``decisions`` for the summary.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field

from importer.config import Settings
from importer.read.workbook import column_letter
from importer.records import SourceRow, Table
from importer.shape.detect import HEAD_ROWS, Decision, decide_layout, level_suffix

__all__ = ["LAYOUTS", "Shaper", "TableLayout"]

logger = logging.getLogger(__name__)

#: The values of ``input.layout`` / ``--layout``.
LAYOUTS = ("auto", "rows", "matrix", "list")


@dataclass(frozen=True, slots=True)
class TableLayout:
    """The layout chosen for one table, for the log and summary.json.

    Attributes:
        source, sheet: the table.
        layout: rows, matrix or list.
        how: "configured", or what ``auto`` saw.
        skill_columns: matrix: the skill columns' headers.
    """

    source: str
    sheet: str
    layout: str
    how: str
    skill_columns: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for the log."""
        where = self.source + (f" [{self.sheet}]" if self.sheet else "")
        skills = f" ({len(self.skill_columns)} skill columns)" if self.skill_columns else ""
        return f"{where}: layout {self.layout}{skills} ({self.how})"


@dataclass(slots=True)
class _Plan:
    layout: str
    tables: dict[int, Table] = field(default_factory=dict)
    letters: dict[int, str] = field(default_factory=dict)
    list_column: int = -1
    level_column: int = -1


def _matrix_plan(table: Table, columns: tuple[int, ...]) -> _Plan:
    width = len(table.header)
    shared = {k: v for k, v in table.mapping.items() if k not in ("displayName", "proficiency")}
    plan = _Plan("matrix")
    for index in columns:
        mapping = {**shared, "displayName": width, "proficiency": index}
        label = f"header of column {column_letter(index)}"
        ignored = tuple(c for i, c in enumerate(table.header) if c and i not in mapping.values())
        plan.tables[index] = Table(
            table.source,
            table.sheet,
            table.header,
            mapping,
            tuple(c for c in ignored if c not in {table.header[j] for j in columns}),
            table.header_row,
            (label,),
            column_letter(index),
        )
        plan.letters[index] = column_letter(index)
    return plan


def _list_plan(table: Table) -> _Plan:
    width = len(table.header)
    name = table.mapping["displayName"]
    mapping = {**table.mapping, "displayName": width, "proficiency": width + 1}
    label = table.header[name]
    derived = Table(
        table.source,
        table.sheet,
        table.header,
        mapping,
        table.ignored,
        table.header_row,
        (label, f"{label} (level)"),
        column_letter(name),
    )
    return _Plan(
        "list",
        {name: derived},
        {name: column_letter(name)},
        list_column=name,
        level_column=table.mapping.get("proficiency", -1),
    )


class Shaper:
    """Turns the rows of every table into one row per skill, per the table's layout.

    Args:
        settings: uses ``input.layout``, ``input.skill_columns``, ``input.skill_separator``
            and ``values.proficiency`` (to recognise levels).

    Attributes:
        decisions: the layout of each table seen so far, in order.
        warnings: things the user should read once (columns left out of a matrix...).
    """

    def __init__(self, settings: Settings) -> None:
        self._layout = settings.input.layout
        self._skill_columns = settings.input.skill_columns
        self._separator = settings.input.skill_separator
        self._values = settings.values.proficiency
        self._ignored = settings.columns.ignore
        self.decisions: list[TableLayout] = []
        self.warnings: list[str] = []
        self._decided: dict[int, Decision] = {}

    def decide(self, table: Table, head: list[SourceRow]) -> Decision:
        """Decide (and record) the layout of one table from its first data rows.

        Raises:
            InputError: the layout does not fit, or ``auto`` cannot tell.
        """
        known = self._decided.get(id(table))
        if known is not None:
            return known
        decision = decide_layout(
            table,
            head,
            configured=self._layout,
            skill_columns=self._skill_columns,
            separator=self._separator,
            values=self._values,
            ignored=self._ignored,
        )
        skills = tuple(table.header[i] for i in decision.skill_columns)
        chosen = TableLayout(table.source, table.sheet, decision.layout, decision.how, skills)
        self.decisions.append(chosen)
        logger.info("%s", chosen.describe())
        if decision.layout == "matrix":
            others = [
                c
                for i, c in enumerate(table.header)
                if c and i not in table.mapping.values() and i not in decision.skill_columns
            ]
            if others:
                where = table.source + (f" [{table.sheet}]" if table.sheet else "")
                self.warnings.append(
                    f"{where}: ignoring column{'s' if len(others) > 1 else ''} "
                    f"{', '.join(repr(c) for c in others)} (not skill columns: their cells are "
                    f"not levels; list them under input.skill_columns if they are skills)"
                )
                logger.warning("%s", self.warnings[-1])
        if "proficiency" not in table.mapping and decision.layout != "matrix":
            where = table.source + (f" [{table.sheet}]" if table.sheet else "")
            self.warnings.append(
                f"{where}: no level column was recognised (proficiency: level, skill level, "
                f"proficiency, ...); skills are imported without a level"
                + ("" if decision.layout == "rows" else " unless the cell says '(Level)'")
            )
            logger.warning("%s", self.warnings[-1])
        self._warn_unnamed(table, head)
        self._decided[id(table)] = decision
        return decision

    def _warn_unnamed(self, table: Table, head: list[SourceRow]) -> None:
        """Say once when a column without a header holds values: it cannot be read."""
        unnamed = [
            index
            for index, name in enumerate(table.header)
            if not name and any(row.cells[index].strip() for row in head)
        ]
        if unnamed:
            where = table.source + (f" [{table.sheet}]" if table.sheet else "")
            letters = ", ".join(column_letter(index) for index in unnamed)
            several = len(unnamed) > 1
            self.warnings.append(
                f"{where}: column{'s' if several else ''} {letters} "
                f"{'hold' if several else 'holds'} values but no header; "
                f"{'they are' if several else 'it is'} ignored (give "
                f"{'them a header' if several else 'it a header'} to import "
                f"{'them' if several else 'it'})"
            )
            logger.warning("%s", self.warnings[-1])

    def shape(self, rows: Iterable[SourceRow]) -> Iterator[SourceRow]:
        """One row per skill, in input order (a person's skills in column or list order).

        Raises:
            InputError: a table's layout does not fit, or ``auto`` cannot tell (raised when
                the table's first rows have been read, before anything is sent).
        """
        table: Table | None = None
        head: list[SourceRow] = []
        plan: _Plan | None = None
        deciding = False
        for row in rows:
            if row.table is not table:
                if head:
                    plan = yield from self._start(table, head)
                table, head, deciding = row.table, [], True
            if deciding:
                head.append(row)
                if len(head) >= HEAD_ROWS:
                    plan = yield from self._start(table, head)
                    head, deciding = [], False
            elif plan is None:
                yield row
            else:
                yield from self._produce(plan, row)
        if head:
            yield from self._start(table, head)

    def _start(
        self, table: Table | None, head: list[SourceRow]
    ) -> Generator[SourceRow, None, _Plan | None]:
        """Decide a table's layout on its first rows, shape them, and return the plan."""
        assert table is not None
        decision = self.decide(table, head)
        if decision.layout == "rows":
            yield from head
            return None
        plan = (
            _matrix_plan(table, decision.skill_columns)
            if decision.layout == "matrix"
            else _list_plan(table)
        )
        for row in head:
            yield from self._produce(plan, row)
        return plan

    def _produce(self, plan: _Plan, row: SourceRow) -> Iterator[SourceRow]:
        cells = row.cells
        if plan.layout == "matrix":
            for index, table in plan.tables.items():
                if cells[index].strip():
                    yield SourceRow(
                        table, row.row, (*cells, table.header[index]), plan.letters[index]
                    )
            return
        index = plan.list_column
        table = plan.tables[index]
        letter = plan.letters[index]
        own_level = cells[plan.level_column] if plan.level_column >= 0 else ""
        items = [item.strip() for item in cells[index].split(self._separator)]
        items = [item for item in items if item] or [""]
        for item in items:
            split = level_suffix(item)
            name, level = split if split is not None else (item, own_level)
            yield SourceRow(table, row.row, (*cells, name, level), letter)
