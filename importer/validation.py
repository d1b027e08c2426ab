"""The validation stage: SourceRow -> SkillRow, or a RowOutcome (invalid or duplicate).

Rows stream through ``Validator.feed`` and come out one for one, in input order, so the
report can be written as they arrive. The rules live in the Pydantic row model
(``importer.row_model``); the hot path validates each *distinct* cell value once per field
(bounded caches) and builds ``SkillRow`` directly, which keeps a million rows fast.

Duplicates are keyed by (user, displayName), trimmed and compared case-insensitively
(DESIGN section 4). The index holds two 64-bit hashes and a row reference per key, never
the rows. A repeat with the same normalised values is ``duplicate``; a repeat with other
values is ``invalid`` (``conflicting-duplicate``), and so is every earlier row of that key:
those were already yielded, so ``finish`` returns corrections that replace them.
Rows invalid for another reason take no part in duplicate detection.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from operator import itemgetter

from pydantic import ValidationError

from importer.config import Settings
from importer.records import FIELDS, Action, RowOutcome, SkillRow, SourceRow, Table
from importer.row_model import CELL_ADAPTERS, CellRules

__all__ = ["Validator"]

logger = logging.getLogger(__name__)

_CACHE_LIMIT = 100_000
_MASK64 = (1 << 64) - 1
_REF_BITS = 48
_REF_MASK = (1 << _REF_BITS) - 1
_ROW_BITS = 32
_ROW_MASK = (1 << _ROW_BITS) - 1
_CONFLICT = "conflicting-duplicate"

_Problem = tuple[int, tuple[str, str]]
# A checked key cell: (value, (error_type, message) or None, case-folded value).
_KeyCell = tuple[str, tuple[str, str] | None, str]
# Checked optional cells: (values in FIELDS order from proficiency on, problems or None,
# fingerprint of the values).
_Combo = tuple[tuple[object, ...], list[_Problem] | None, int]


class _Layout:
    """Where each field sits in one table's cells, its header for messages, and a cache.

    The optional cells of a row are looked up together: in real files the combinations of
    level, category, tags, visibility and link repeat a lot, so one dictionary hit replaces
    five validations and the fingerprint comes precomputed.
    """

    __slots__ = ("combos", "getter", "headers", "optional", "ref")

    def __init__(self, table: Table, number: int) -> None:
        indexes = [table.mapping.get(field, -1) for field in FIELDS]
        self.headers = tuple(
            table.header[i] if i >= 0 else field for field, i in zip(FIELDS, indexes, strict=True)
        )
        self.optional = tuple(p for p in range(2, len(FIELDS)) if indexes[p] >= 0)
        self.getter = itemgetter(indexes[0], indexes[1], *(indexes[p] for p in self.optional))
        self.ref = number << _ROW_BITS
        self.combos: dict[tuple[str, ...], _Combo] = {}


class Validator:
    """Turns SourceRows into SkillRows or RowOutcomes (action invalid / duplicate), in input order.

    Args:
        settings: uses ``values`` (synonyms), ``defaults``, ``input.list_separator``.

    Raises:
        ConfigError: a synonym or default names no canonical value.
    """

    def __init__(self, settings: Settings) -> None:
        self._rules = CellRules.from_settings(settings)
        self._keys: tuple[dict[str, _KeyCell], dict[str, _KeyCell]] = ({}, {})
        self._cells: list[dict[str, tuple[object, tuple[str, str] | None]]] = [{} for _ in FIELDS]
        self._tables: list[Table] = []
        self._layouts: dict[int, _Layout] = {}
        # key hash -> (values fingerprint << 48) | row reference of the key's first valid row
        self._first: dict[int, int] = {}
        # key hash -> references of identical repeats (yielded as duplicate)
        self._repeats: dict[int, list[int]] = {}
        # key hash -> references of rows yielded invalid as conflicting, and the key's text
        self._conflicts: dict[int, list[int]] = {}
        self._names: dict[int, tuple[str, str]] = {}

    def _layout(self, table: Table) -> _Layout:
        layout = self._layouts.get(id(table))
        if layout is None:
            self._tables.append(table)
            layout = _Layout(table, len(self._tables) - 1)
            self._layouts[id(table)] = layout
        return layout

    def _check(self, position: int, raw: str) -> tuple[object, tuple[str, str] | None]:
        cache = self._cells[position]
        found = cache.get(raw)
        if found is not None:
            return found
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        try:
            value = CELL_ADAPTERS[FIELDS[position]].validate_python(raw, context=self._rules)
            result: tuple[object, tuple[str, str] | None] = (value, None)
        except ValidationError as exc:
            error = exc.errors(include_url=False, include_input=False, include_context=False)[0]
            result = (None, (error["type"], error["msg"]))
        cache[raw] = result
        return result

    def _check_key(self, position: int, raw: str) -> _KeyCell:
        cache = self._keys[position]
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        value, problem = self._check(position, raw)
        text = str(value) if problem is None else ""
        cache[raw] = result = (text, problem, text.casefold())
        self._cells[position].pop(raw, None)
        return result

    def _check_combo(self, layout: _Layout, raw: tuple[str, ...]) -> _Combo:
        if len(layout.combos) >= _CACHE_LIMIT:
            layout.combos.clear()
        cells = dict(zip(layout.optional, raw, strict=True))
        values: list[object] = []
        problems: list[_Problem] = []
        for position in range(2, len(FIELDS)):
            value, problem = self._check(position, cells.get(position, ""))
            values.append(value)
            if problem is not None:
                problems.append((position, problem))
        frozen = tuple(values)
        combo = (frozen, problems or None, hash(frozen) & _MASK64)
        layout.combos[raw] = combo
        return combo

    def feed(self, rows: Iterable[SourceRow]) -> Iterator[SkillRow | RowOutcome]:
        """Validate rows as they stream by.

        Yields:
            For each input row, in order, exactly one item: a ``SkillRow`` (valid so far), or
            a ``RowOutcome`` with action ``invalid`` (``error_type`` and an ``error`` that
            names each problem's column) or ``duplicate`` (an identical repeat; ``error``
            names the first row, it is a note, not an error).
        """
        users, names = self._keys
        check_key = self._check_key
        check_combo = self._check_combo
        first = self._first
        conflicts = self._conflicts
        layout: _Layout | None = None
        table: Table | None = None
        for source in rows:
            if source.table is not table:
                table = source.table
                layout = self._layout(table)
                getter, combos = layout.getter, layout.combos
            assert layout is not None
            raw = getter(source.cells)
            user = users.get(raw[0]) or check_key(0, raw[0])
            name = names.get(raw[1]) or check_key(1, raw[1])
            combo = combos.get(raw[2:]) or check_combo(layout, raw[2:])
            if user[1] is not None or name[1] is not None or combo[1] is not None:
                yield self._invalid(source, layout, user, name, combo)
                continue
            key = hash((user[2], name[2]))
            ref = layout.ref | source.row
            seen = first.get(key)
            if seen is None:
                first[key] = (combo[2] << _REF_BITS) | ref
                yield SkillRow(source, user[0], name[0], *combo[0])  # type: ignore[arg-type]
            elif key in conflicts or seen >> _REF_BITS != combo[2]:
                yield self._conflicting(source, key, seen & _REF_MASK, ref)
            else:
                self._repeats.setdefault(key, []).append(ref)
                yield RowOutcome.for_source(
                    source,
                    Action.DUPLICATE,
                    user=user[0],
                    display_name=name[0],
                    error=f"same as {self._where(seen & _REF_MASK, here=ref)}",
                )

    def _invalid(
        self, source: SourceRow, layout: _Layout, user: _KeyCell, name: _KeyCell, combo: _Combo
    ) -> RowOutcome:
        problems: list[_Problem] = []
        if user[1] is not None:
            problems.append((0, user[1]))
        if name[1] is not None:
            problems.append((1, name[1]))
        problems.extend(combo[1] or ())
        parts = [
            f"column '{layout.headers[position]}' ({FIELDS[position]}): {message}"
            for position, (_, message) in problems
        ]
        return RowOutcome.for_source(
            source, Action.INVALID, error_type=problems[0][1][0], error="; ".join(parts)
        )

    def _conflicting(self, source: SourceRow, key: int, first_ref: int, ref: int) -> RowOutcome:
        conflicts = self._conflicts.setdefault(key, [])
        others = [first_ref, *self._repeats.get(key, ()), *conflicts]
        conflicts.append(ref)
        user, name = source.get("user").strip(), source.get("displayName").strip()
        self._names.setdefault(key, (user, name))
        return RowOutcome.for_source(
            source,
            Action.INVALID,
            error_type=_CONFLICT,
            error=self._conflict_message(user, name, others, ref),
        )

    def _conflict_message(self, user: str, name: str, others: list[int], ref: int) -> str:
        return (
            f"user '{user}' has skill '{name}' more than once with different values "
            f"(also in {self._where(*others, here=ref)}); keep one row per user and skill"
        )

    def _where(self, *refs: int, here: int) -> str:
        """Name rows for a message: "rows 12, 40", or with the file/sheet when it differs."""
        here_table = here >> _ROW_BITS
        same = [r & _ROW_MASK for r in refs if r >> _ROW_BITS == here_table]
        parts = []
        if same:
            parts.append(f"row{'s' if len(same) > 1 else ''} {', '.join(map(str, same))}")
        for r in refs:
            if r >> _ROW_BITS != here_table:
                table = self._tables[r >> _ROW_BITS]
                where = table.source + (f" [{table.sheet}]" if table.sheet else "")
                parts.append(f"{where} row {r & _ROW_MASK}")
        return ", ".join(parts)

    def finish(self) -> list[RowOutcome]:
        """Corrections, once ``feed`` is exhausted.

        Returns:
            For every key with conflicting rows, an ``invalid`` / ``conflicting-duplicate``
            outcome for each of its rows that ``feed`` yielded as a SkillRow or duplicate.
            Each replaces the earlier item with the same (source, sheet, row). Their
            ``header`` is the table's, but ``cells`` are empty: the rows were not kept.
        """
        corrections: list[RowOutcome] = []
        for key, conflicting in self._conflicts.items():
            first_ref = self._first[key] & _REF_MASK
            earlier = [first_ref, *self._repeats.get(key, ())]
            user, name = self._names[key]
            for ref in earlier:
                others = [r for r in (*earlier, *conflicting) if r != ref]
                table = self._tables[ref >> _ROW_BITS]
                corrections.append(
                    RowOutcome(
                        source=table.source,
                        sheet=table.sheet,
                        row=ref & _ROW_MASK,
                        user=user,
                        display_name=name,
                        action=Action.INVALID,
                        error_type=_CONFLICT,
                        error=self._conflict_message(user, name, others, ref),
                        header=table.header,
                    )
                )
        return corrections
