"""What is in a source, read once: skill names, enum values, people and their identity forms.

``survey_sources`` reads the rows as they are (no skills map, no validation) and counts. It keeps
one counter entry per distinct cell value, never the rows, so a million rows with 20,000
distinct names take a few megabytes.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

from importer.config import Settings
from importer.errors import EnumValueError
from importer.read import InputReader
from importer.records import Table
from importer.shape import Shaper, TableLayout
from importer.validate.row_model import CellRules
from importer.validate.schema import EnumNormaliser
from importer.validate.skills_map import map_key

__all__ = [
    "ENUM_FIELDS",
    "IDENTITY_FORMS",
    "EnumValue",
    "Survey",
    "identity_form",
    "survey_sources",
]

#: The enum columns whose values are listed with what they map to.
ENUM_FIELDS = ("proficiency", "collaborationTags", "allowedAudiences")

#: The identity forms a user cell may take, in report order.
IDENTITY_FORMS = ("GUID", "UPN-like", "email", "employee-id-like", "other")

_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_EMPLOYEE_ID = re.compile(r"[A-Za-z]{0,4}[-_]?\d{1,12}")
_LIST_FIELDS = {"collaborationTags": True, "allowedAudiences": False}


def identity_form(user: str) -> str:
    """Which form a (trimmed, non-empty) user cell takes.

    ``UPN-like``: name@domain that can only be a sign-in name (a guest's ``#EXT#`` or an
    ``onmicrosoft.com`` domain); ``email``: any other name@domain (a work address, often the
    same as the UPN); ``employee-id-like``: digits with an optional short letter prefix.
    """
    if _GUID.fullmatch(user):
        return "GUID"
    local, at, domain = user.rpartition("@")
    if at and local and "." in domain:
        if "#EXT#" in local.upper() or domain.casefold().endswith(".onmicrosoft.com"):
            return "UPN-like"
        return "email"
    if _EMPLOYEE_ID.fullmatch(user):
        return "employee-id-like"
    return "other"


@dataclass(frozen=True, slots=True)
class EnumValue:
    """One distinct value of an enum column: how often, and what it means.

    Attributes:
        value: as written (trimmed); "" for empty cells.
        count: cells (or list items) holding it.
        maps_to: the canonical Graph value, or None when it maps to nothing.
    """

    value: str
    count: int
    maps_to: str | None


@dataclass(slots=True)
class Survey:
    """Counts over every row of every source.

    Attributes:
        sources: the sources as shown in reports (database passwords masked).
        tables: each table read, with its column mapping.
        rows, blank_rows: data rows read and blank rows skipped.
        names: each distinct skill name, folded (case and surrounding spaces), as its most
            frequent spelling -> rows.
        spellings: how many distinct exact spellings there were.
        enums: field -> its distinct values, most frequent first (only columns present).
        people: distinct users (case ignored).
        identity_forms: form -> distinct users of that form.
        warnings: what the reader noticed (ignored columns, skipped sheets).
        layouts: the layout chosen per table (rows, matrix or list).
    """

    sources: list[str]
    tables: list[Table]
    rows: int = 0
    blank_rows: int = 0
    names: dict[str, int] = field(default_factory=dict)
    spellings: int = 0
    enums: dict[str, list[EnumValue]] = field(default_factory=dict)
    people: int = 0
    identity_forms: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    layouts: list[TableLayout] = field(default_factory=list)


def _fold_names(raw: Counter[str]) -> tuple[dict[str, int], int]:
    """Exact cells -> folded names shown as their most frequent spelling; distinct spellings."""
    spellings: Counter[str] = Counter()
    for cell, count in raw.items():
        name = cell.strip()
        if name:
            spellings[name] += count
    groups: dict[str, list[tuple[int, str]]] = {}
    for name, count in spellings.items():
        groups.setdefault(map_key(name), []).append((count, name))
    folded: dict[str, int] = {}
    for members in groups.values():
        members.sort(key=lambda item: (-item[0], item[1]))
        folded[members[0][1]] = sum(count for count, _ in members)
    return folded, len(spellings)


def _enum_values(
    raw: Counter[str], normaliser: EnumNormaliser, separator: str, field: str
) -> list[EnumValue]:
    items: Counter[str] = Counter()
    for cell, count in raw.items():
        text = cell.strip()
        if field in _LIST_FIELDS:
            splitter = separator if _LIST_FIELDS[field] else ";"
            parts = [p.strip() for p in text.replace(",", splitter).split(splitter)]
            parts = [p for p in parts if p] or [""]
        else:
            parts = [text]
        for part in parts:
            items[part] += count
    values = []
    for value, count in sorted(items.items(), key=lambda item: (-item[1], item[0])):
        try:
            maps_to: str | None = normaliser(value) if value else ""
        except EnumValueError:
            maps_to = None
        values.append(EnumValue(value, count, maps_to))
    return values


def survey_sources(paths: Sequence[Path | str], settings: Settings) -> Survey:
    """Read every row of the sources and count what they hold (see ``Survey``).

    Raises:
        InputError: a source cannot be read (as for ``validate``).
        ConfigError: a ``values:`` synonym names no canonical value.
    """
    rules = CellRules.from_settings(settings)
    normalisers = {
        "proficiency": rules.proficiency,
        "collaborationTags": rules.collaboration_tags,
        "allowedAudiences": rules.allowed_audiences,
    }
    reader = InputReader(paths, settings)
    shaper = Shaper(settings)
    names: Counter[str] = Counter()
    users: Counter[str] = Counter()
    enums: dict[str, Counter[str]] = {}
    table: Table | None = None
    present: list[str] = []
    for row in shaper.shape(reader.rows()):
        if row.table is not table:
            table = row.table
            present = [f for f in ENUM_FIELDS if f in table.mapping]
            columns = [table.mapping["user"], table.mapping["displayName"]]
            columns += [table.mapping[f] for f in present]
            getter = itemgetter(*columns)
            counters = [enums.setdefault(f, Counter()) for f in present]
        cells = getter(row.cells)
        users[cells[0]] += 1
        names[cells[1]] += 1
        for counter, value in zip(counters, cells[2:], strict=True):
            counter[value] += 1
    survey = Survey(
        sources=[summary.path for summary in reader.summaries()],
        tables=reader.tables,
        rows=sum(summary.rows for summary in reader.summaries()),
        blank_rows=reader.blank_rows,
        warnings=[*reader.warnings, *shaper.warnings],
        layouts=list(shaper.decisions),
    )
    survey.names, survey.spellings = _fold_names(names)
    separator = settings.input.list_separator
    survey.enums = {
        f: _enum_values(enums[f], normalisers[f], separator, f) for f in ENUM_FIELDS if f in enums
    }
    people = {user.strip().casefold(): user.strip() for user in users if user.strip()}
    forms = Counter(identity_form(user) for user in people.values())
    survey.people = len(people)
    survey.identity_forms = {form: forms[form] for form in IDENTITY_FORMS if forms[form]}
    return survey
