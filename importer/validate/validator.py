"""The validation stage: SourceRow -> SkillRow, or a RowOutcome (invalid or duplicate).

Rows stream through ``Validator.feed`` and come out one for one, in input order, so the
report can be written as they arrive. The rules live in the Pydantic row model
(``importer.validate.row_model``); the hot path validates each *distinct* cell value once per field
(bounded caches) and builds ``SkillRow`` directly, which keeps a million rows fast.

Skill names first go through the skills map (``input.skills_map``), if any: a renamed row asks
for the mapped name, and a name mapped to nothing makes the row ``skipped`` (``mapped-out``).
Duplicates are keyed by (user, displayName), trimmed and case-insensitive as in Graph; the
index holds hashes and a row reference per key, never rows. An identical repeat is
``duplicate``; other values follow ``input.duplicates`` (``importer.validate.duplicates``):
under ``error`` every row of the key is ``invalid`` (``conflicting-duplicate``), the earlier
ones through the corrections ``finish`` returns. Rows invalid otherwise are not indexed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import replace
from operator import itemgetter

from pydantic import ValidationError

from importer.config import Settings
from importer.errors import InputError
from importer.records import FIELDS, Action, RowOutcome, SkillRow, SourceRow, Table
from importer.validate.duplicates import (
    RANK_BITS,
    REF_BITS,
    ROW_BITS,
    DuplicateIndex,
    DuplicateState,
)
from importer.validate.row_model import CELL_ADAPTERS, CellRules, is_plain_name, is_plain_user
from importer.validate.scale import ScaleState, ScaleWatch
from importer.validate.schema import PROFICIENCY_LEVELS, quote_value
from importer.validate.shown import Checked, Shown, shown_fields, shown_values
from importer.validate.skills_map import load_skills_map

__all__ = ["CellsLookup", "Validator"]

#: Finds the original cells of rows by (source, sheet, row); see ``Validator.finish``.
CellsLookup = Callable[
    [Collection[tuple[str, str, int]]], Mapping[tuple[str, str, int], tuple[str, ...]]
]

logger = logging.getLogger(__name__)

# Caches, cleared when full (same results); 250,000 combos with a link per row held 115 MB.
_CACHE_LIMIT = 65_536
_COMBO_LIMIT = 65_536
# Longer values are checked every time instead of being remembered: 100,000 cached 4 KB
# categories cells would hold 400 MB.
_CACHED_LENGTH = 512
_MASK64 = (1 << 64) - 1
_FINGERPRINT_MASK = (1 << (64 - RANK_BITS)) - 1
#: The rank of each level for ``input.duplicates: highest`` (0: no level).
_RANK: dict[object, int] = {level: rank for rank, level in enumerate(PROFICIENCY_LEVELS, start=1)}
_MAPPED_OUT = "mapped-out"


_Problem = tuple[int, tuple[str, str]]
# A checked key cell: (value, (error_type, message) or None, hash of the case-folded value).
# A row's key is the xor of its user's and its skill name's hashes; the user's is mixed by a
# multiplier so that ("x", "y") and ("y", "x") differ.
_KeyCell = tuple[str, tuple[str, str] | None, int]
_MIX = (0x9E3779B97F4A7C15, 1)
# Checked optional cells: (values in FIELDS order from proficiency on, problems or None,
# the values' fingerprint and the table's number, packed as in DuplicateIndex.first, 1 when
# the level cell is filled else 0, the values as report cells: ``Shown``).
_Combo = tuple[tuple[object, ...], list[_Problem] | None, int, int, Shown]
_Checked = tuple[object, tuple[str, str] | None]


class _Layout:
    """Where each field sits in one table's cells, its header for messages, and a cache.

    The optional cells of a row are looked up together: in real files the combinations of
    level, category, tags, visibility and link repeat a lot, so one dictionary hit replaces
    five validations and the fingerprint comes precomputed.
    """

    __slots__ = (
        "absent",
        "absent_problems",
        "combos",
        "getter",
        "headers",
        "level_column",
        "optional",
        "ref",
        "slots",
    )

    def __init__(self, table: Table, number: int) -> None:
        indexes = [table.mapping.get(field, -1) for field in FIELDS]
        names = (*table.header, *table.labels)
        self.headers = tuple(
            names[i] if 0 <= i < len(names) else field
            for field, i in zip(FIELDS, indexes, strict=True)
        )
        self.optional = tuple(p for p in range(2, len(FIELDS)) if indexes[p] >= 0)
        self.slots = tuple(p - 2 for p in self.optional)
        # Values of the fields this table lacks (what an empty cell gives: None or a default).
        self.absent: list[object] = [None] * (len(FIELDS) - 2)
        self.absent_problems: list[_Problem] = []
        self.getter = itemgetter(indexes[0], indexes[1], *(indexes[p] for p in self.optional))
        self.ref = number << ROW_BITS
        #: The table whose level cells ``ScaleWatch`` counts (a matrix: the whole sheet).
        self.level_column = (table.source, table.sheet)
        self.combos: dict[tuple[str, ...], _Combo] = {}


class Validator:
    """Turns SourceRows into SkillRows or RowOutcomes (action invalid / duplicate), in input order.

    Args:
        settings: uses ``values`` (synonyms), ``defaults``, ``input.list_separator``,
            ``input.skills_map`` and ``input.duplicates``.
        compact: keep the duplicate index compact (``run``; see ``DuplicateIndex``).

    Raises:
        ConfigError: a synonym or default names no canonical value, or the skills map is
            unusable.

    Attributes:
        skills_map: the loaded ``input.skills_map``, or None.
    """

    def __init__(self, settings: Settings, *, compact: bool = False) -> None:
        self._rules = CellRules.from_settings(settings)
        # The fast pre-screen knows name@domain users only.
        self._plain_users = settings.input.user_key in ("auto", "userPrincipalName", "mail")
        # Employee ids are compared exactly ("E1" and "e1" are two people); the rest ignore case.
        self._exact_users = settings.input.user_key == "employeeId"
        self._keys: tuple[dict[str, _KeyCell], dict[str, _KeyCell]] = ({}, {})
        self._cells: list[dict[str, _Checked]] = [{} for _ in FIELDS]
        self._layouts: dict[int, _Layout] = {}
        self._index = DuplicateIndex(settings.input.duplicates, compact=compact)
        self.skills_map = load_skills_map(settings.input.skills_map)
        # Raw name cells the map renamed (offline validation reports the mapped name).
        self._renamed: set[str] = set()
        # Level cells per column, and those beyond the numeric scale: a typo or another scale?
        self._scale = ScaleWatch(self._rules.proficiency.scale.describe())

    def _layout(self, table: Table) -> _Layout:
        layout = self._layouts.get(id(table))
        if layout is None:
            layout = _Layout(table, self._index.table_number(table))
            for position in range(2, len(FIELDS)):
                if position not in layout.optional:
                    value, problem = self._check(position, "")
                    layout.absent[position - 2] = value
                    if problem is not None:
                        layout.absent_problems.append((position, problem))
            self._layouts[id(table)] = layout
        return layout

    def _check(self, position: int, raw: str) -> _Checked:
        cache = self._cells[position]
        found = cache.get(raw)
        if found is not None:
            return found
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        try:
            value = CELL_ADAPTERS[FIELDS[position]].validate_python(raw, context=self._rules)
            result: _Checked = (value, None)
        except ValidationError as exc:
            error = exc.errors(include_url=False, include_input=False, include_context=False)[0]
            result = (None, (error["type"], error["msg"]))
        if len(raw) <= _CACHED_LENGTH:
            cache[raw] = result
        return result

    def _check_key(self, position: int, raw: str) -> _KeyCell:
        cache = self._keys[position]
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        # Most cells are plainly valid; the pre-screens accept only what the model accepts,
        # unchanged (a property test holds them to that), and skip the model's overhead.
        result: _KeyCell
        problem: tuple[str, str] | None
        if (position == 0 and self._plain_users and is_plain_user(raw)) or (
            position == 1 and is_plain_name(raw, self._rules.skill_separator)
        ):
            text, problem = raw, None
        else:
            value, problem = self._check(position, raw)
            text = str(value) if problem is None else ""
        if position == 1 and problem is None and self.skills_map is not None:
            mapped = self.skills_map.apply(text)
            if mapped is None:
                problem = (_MAPPED_OUT, f"{quote_value(text)} is left out by the skills map")
                text = ""
            elif mapped != text:
                self._renamed.add(raw)
                text = mapped
        folded = text if position == 0 and self._exact_users else text.casefold()
        mixed = (hash(folded) * _MIX[position]) & _MASK64
        result = (text, problem, mixed)
        if len(raw) <= _CACHED_LENGTH:
            cache[raw] = result
        self._cells[position].pop(raw, None)
        return result

    def _check_combo(self, layout: _Layout, raw: tuple[str, ...]) -> _Combo:
        combos = layout.combos
        if len(combos) >= _COMBO_LIMIT:
            combos.clear()
        values = list(layout.absent)
        problems: list[_Problem] | None = None
        caches = self._cells
        for slot, position, text in zip(layout.slots, layout.optional, raw, strict=True):
            checked = caches[position].get(text) or self._check(position, text)
            values[slot] = checked[0]
            if checked[1] is not None:
                problems = problems or []
                problems.append((position, checked[1]))
        if problems is not None:
            problems.extend(layout.absent_problems)
            problems.sort()
        frozen = tuple(values)
        fingerprint = (hash(frozen) & _FINGERPRINT_MASK) << RANK_BITS | _RANK.get(values[0], 0)
        filled = int(layout.optional[:1] == (2,) and bool(raw[0].strip()))
        combo = (
            frozen,
            problems,
            fingerprint << REF_BITS | layout.ref,
            filled,
            shown_values(frozen),
        )
        if sum(map(len, raw)) <= _CACHED_LENGTH:
            combos[raw] = combo
        return combo

    def feed(self, rows: Iterable[SourceRow]) -> Iterator[SkillRow | RowOutcome]:
        """Validate rows as they stream by.

        Yields:
            For each input row, in order, exactly one item: a ``SkillRow`` (valid so far), or
            a ``RowOutcome`` with action ``invalid`` or ``duplicate`` (see ``check``).
        """
        yield from self.check(rows, build=True)  # type: ignore[misc]

    def check(
        self, rows: Iterable[SourceRow], *, build: bool = False
    ) -> Iterator[SkillRow | Checked | RowOutcome]:
        """Validate rows as they stream by; ``build=False`` skips building ``SkillRow``s.

        Offline validation only reports a valid row: it gets the ``SourceRow`` itself back
        with its normalised values as report cells (``Checked``; the cells are shared by
        every row with the same optional cells), which saves a million objects on a
        million-row file.

        Yields:
            For each input row, in order, exactly one item: a ``SkillRow`` or ``Checked``
            (valid so far), or
            a ``RowOutcome`` with action ``invalid`` (``error_type`` and an ``error`` that
            names each problem's column) or ``duplicate`` (an identical repeat; ``error``
            names the first row, it is a note, not an error).
        """
        # One row at a time on purpose: batching column-wise measured slower in CPython,
        # because a row's cells are hot in the CPU cache only while it is being handled.
        users, names = self._keys
        check_key = self._check_key
        check_combo = self._check_combo
        remember = self._index.first.setdefault
        repeat = self._index.repeat
        renamed = self._renamed
        add_levels = self._scale.add_levels
        table: Table | None = None
        levels = 0  # filled level cells of the current table, not yet counted
        counted = ("", "")  # ... and where they are counted
        try:
            for source in rows:
                if source.table is not table:
                    add_levels(counted, levels)
                    levels = 0
                    table = source.table
                    layout = self._layout(table)
                    getter, combos = layout.getter, layout.combos
                    counted = layout.level_column
                raw = getter(source.cells)
                user = users.get(raw[0]) or check_key(0, raw[0])
                name = names.get(raw[1]) or check_key(1, raw[1])
                combo = combos.get(raw[2:]) or check_combo(layout, raw[2:])
                levels += combo[3]
                if user[1] is None and name[1] is None and combo[1] is None:
                    key = user[2] ^ name[2]
                    packed = combo[2] | source.row
                    # A key's first valid row is stored and comes back (equal: it holds the row).
                    if (
                        remember(key, packed) == packed
                        or (outcome := repeat(source, key, packed, user[0], name[0], combo[4]))
                        is None
                    ):
                        if build:
                            yield SkillRow(source, user[0], name[0], *combo[0])  # type: ignore[arg-type]
                        elif renamed and raw[1] in renamed:
                            yield RowOutcome.for_source(
                                source,
                                Action.VALID,
                                user=user[0],
                                display_name=name[0],
                                **shown_fields(combo[4]),
                            )
                        else:
                            yield source, combo[4]
                    else:
                        yield outcome
                else:
                    yield self._invalid(source, layout, user, name, combo)
        finally:
            add_levels(counted, levels)

    def _invalid(
        self, source: SourceRow, layout: _Layout, user: _KeyCell, name: _KeyCell, combo: _Combo
    ) -> RowOutcome:
        if name[1] is not None and name[1][0] == _MAPPED_OUT:
            # The admin left this skill out: whatever else is wrong with the row no longer matters.
            return RowOutcome.for_source(
                source, Action.SKIPPED, error_type=_MAPPED_OUT, error=name[1][1]
            )
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
        for position, (error_type, _) in problems:
            if error_type == "out-of-scale":
                table = source.table
                self._scale.note(
                    (table.source, table.sheet, layout.headers[position]),
                    source.row,
                    source.get(FIELDS[position]),
                )
        return RowOutcome.for_source(
            source, Action.INVALID, error_type=problems[0][1][0], error="; ".join(parts)
        )

    @property
    def duplicates_policy(self) -> str:
        """``input.duplicates``: error, first, last or highest."""
        return self._index.policy

    def mapped_name(self, name: str) -> str:
        """A (valid, trimmed) skill name as the skills map renames it; itself when unmapped."""
        if self.skills_map is None:
            return name
        return self.skills_map.apply(name) or name

    def unused_map_warning(self, used: set[str] | None = None) -> str | None:
        """The one warning about skills map entries that matched no name (None if all did).

        Args:
            used: the keys matched, when another process validated part of the input too.
        """
        if self.skills_map is None:
            return None
        return self.skills_map.unused_warning(used)

    def beyond_state(self) -> ScaleState:
        """Level cells and those beyond the scale so far, to merge with another part of the
        same table."""
        return self._scale.state()

    def merge_beyond(self, other: ScaleState) -> None:
        """Add another part's level counts (see ``beyond_state``)."""
        self._scale.merge(other)

    def scale_error(self) -> InputError | None:
        """The whole-source error for level columns that look like another numeric scale.

        A 1-10 file read against the 1-5 scale would otherwise import 5/10 as expert; a lone
        typo stays its row's ``invalid`` (``importer.validate.scale``). Call it once the rows
        are validated, before anything is sent.
        """
        return self._scale.error()

    def duplicate_state(self) -> DuplicateState:
        """The duplicate index so far, for merging with another part of the same table."""
        return self._index.export()

    def finish(self, cells_of: CellsLookup | None = None) -> list[RowOutcome]:
        """``corrections`` as a list."""
        return list(self.corrections(cells_of))

    def corrections(self, cells_of: CellsLookup | None = None) -> Iterator[RowOutcome]:
        """Outcomes replacing rows already yielded, one at a time, once ``feed`` is exhausted.

        Each replaces the earlier item with the same (source, sheet, row): under ``error`` an
        ``invalid`` / ``conflicting-duplicate`` outcome for each row of a conflicting key that
        ``feed`` yielded as valid or duplicate (not those it yielded invalid); otherwise a
        ``duplicate`` for each row superseded. ``cells_of`` (e.g. ``InputReader.lookup_cells``)
        gives the rejected rows' original cells for rejects.csv; without, they have none.
        """
        index = self._index
        wanted: set[tuple[str, str, int]] = set()
        if cells_of is not None and index.policy == "error":  # only rejected rows show cells
            wanted = {(c.source, c.sheet, c.row) for c in index.corrections()}
        found = cells_of(wanted) if cells_of is not None and wanted else {}
        for c in index.corrections():
            cells = found.get((c.source, c.sheet, c.row))
            yield c if cells is None else replace(c, cells=cells)
