"""Which layout a table has, and which of its columns are skills (matrix).

``auto`` looks at the header and the first ``HEAD_ROWS`` data rows of each table:

- a skill-name column (the displayName aliases, ``skills``, ``skill list``, ``competencies``)
  whose cells hold the skill separator or end in "(<level>)" means one row per person with a
  list of skills (``list``), unless a level column sits beside it and half or more of the
  names look like lists, which cannot be told apart from a badly filled rows file (refused);
- a skill-name column otherwise means one skill per row (``rows``);
- no skill-name column, but columns whose cells are levels, means a skills matrix (``matrix``);
  a column between two such columns is a skill column too, unless its header names a field or
  an identity (or is under ``columns.ignore``): a skill whose only filled cells are bad levels
  ("Guru") must come out as invalid rows, not vanish as "not a skill column";
- anything else cannot be told: ``InputError`` naming the ``--layout`` to use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from importer.errors import InputError
from importer.read.headers import BUILTIN_ALIASES, USER_ALIASES, header_key
from importer.records import SourceRow, Table
from importer.vocabulary import looks_like_level

__all__ = [
    "HEAD_ROWS",
    "Decision",
    "configured_skill_columns",
    "decide_layout",
    "level_columns",
    "level_suffix",
    "looks_like_list",
]

#: Data rows per table looked at to decide the layout and the skill columns.
HEAD_ROWS = 200
#: Share of a column's non-blank cells that must be levels for it to be a skill column (a
#: typo such as "Guru" must not hide a whole column of levels).
_LEVEL_SHARE = 0.5

# Headers that are never skills: every field's and every identity's built-in names.
_KNOWN_HEADERS = frozenset(
    header_key(alias)
    for aliases in (*BUILTIN_ALIASES.values(), *USER_ALIASES.values())
    for alias in aliases
)

_SUFFIX = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$", re.DOTALL)
_LETTERS = re.compile(r"[A-Za-z]{1,3}")
_LETTER_RANGE = re.compile(r"\s*([A-Za-z]{1,3})\s*:\s*([A-Za-z]{1,3})\s*")


@dataclass(frozen=True, slots=True)
class Decision:
    """The layout of one table.

    Attributes:
        layout: ``rows``, ``matrix`` or ``list``.
        skill_columns: matrix: the indexes of the skill columns, in header order.
        how: how it was decided, for the log ("configured", or what auto saw).
    """

    layout: str
    skill_columns: tuple[int, ...] = ()
    how: str = "configured"


def level_suffix(text: str) -> tuple[str, str] | None:
    """Split "Name (Level)" into (name, level); None when there is no parenthesised suffix."""
    match = _SUFFIX.match(text)
    if match is None:
        return None
    return match.group(1).strip(), match.group(2).strip()


def looks_like_list(name: str, separator: str, values: Mapping[str, str]) -> bool:
    """True when a skill-name cell holds the separator or ends in a "(<level>)"."""
    if separator in name:
        return True
    split = level_suffix(name)
    return split is not None and bool(split[1]) and looks_like_level(split[1], values)


def _where(table: Table) -> dict[str, str]:
    return {"path": table.source, "sheet": table.sheet}


def _letter_index(letters: str) -> int:
    index = 0
    for char in letters.upper():
        index = index * 26 + ord(char) - 64
    return index - 1


def configured_skill_columns(table: Table, entries: Sequence[str]) -> tuple[int, ...]:
    """The skill columns named by ``input.skill_columns``: header names or letter ranges.

    Raises:
        InputError: an entry names no column of the table.
    """
    by_key = {header_key(cell): i for i, cell in enumerate(table.header) if cell}
    found: list[int] = []
    for entry in entries:
        span = _LETTER_RANGE.fullmatch(entry)
        index = by_key.get(header_key(entry))
        if index is not None:
            found.append(index)
        elif span is not None:
            low, high = sorted((_letter_index(span.group(1)), _letter_index(span.group(2))))
            found.extend(i for i in range(low, high + 1) if i < len(table.header))
        elif _LETTERS.fullmatch(entry.strip()) and _letter_index(entry) < len(table.header):
            found.append(_letter_index(entry))
        else:
            shown = ", ".join(f"'{c}'" for c in table.header if c)
            raise InputError(
                f"input.skill_columns names {entry!r}, which is neither a column of the header "
                f"({shown}) nor a column letter range such as 'D:P'",
                **_where(table),
            )
    taken = set(table.mapping.values())
    return tuple(i for i in dict.fromkeys(found) if i not in taken and table.header[i])


def level_columns(
    table: Table,
    head: Sequence[SourceRow],
    values: Mapping[str, str],
    ignored: Sequence[str] = (),
) -> list[int]:
    """Columns (not mapped to a field, with a header) whose non-blank cells are mostly levels,
    and the columns between them whose header names no field, identity or ignored column.

    Args:
        ignored: ``columns.ignore``: headers that are never skill columns.
    """
    taken = set(table.mapping.values())
    found = []
    for index, name in enumerate(table.header):
        if index in taken or not name:
            continue
        cells = [row.cells[index].strip() for row in head if row.cells[index].strip()]
        levels = sum(1 for cell in cells if looks_like_level(cell, values))
        if cells and levels >= _LEVEL_SHARE * len(cells):
            found.append(index)
    if len(found) < 2:
        return found
    never = _KNOWN_HEADERS | {header_key(name) for name in ignored}
    return [
        index
        for index in range(found[0], found[-1] + 1)
        if index in found
        or (
            index not in taken
            and table.header[index]
            and header_key(table.header[index]) not in never
        )
    ]


def decide_layout(
    table: Table,
    head: Sequence[SourceRow],
    *,
    configured: str,
    skill_columns: Sequence[str],
    separator: str,
    values: Mapping[str, str],
    ignored: Sequence[str] = (),
) -> Decision:
    """Decide one table's layout from its header and first rows (see the module docstring).

    Raises:
        InputError: the configured layout does not fit the table, or ``auto`` cannot tell.
    """
    has_name = "displayName" in table.mapping
    if configured in ("rows", "list"):
        if not has_name:
            raise InputError(
                f"layout {configured} needs a skill name column (skill, skill name, skills, "
                f"competencies, ...); none was found",
                **_where(table),
            )
        return Decision(configured)
    if configured == "matrix" or (configured == "auto" and skill_columns and not has_name):
        columns = (
            configured_skill_columns(table, skill_columns)
            if skill_columns
            else tuple(level_columns(table, head, values, ignored))
        )
        if not columns:
            raise InputError(
                "layout matrix needs skill columns (a header per skill, levels in the cells); "
                "none was found: list them under input.skill_columns (names or a range such "
                "as 'D:P')",
                **_where(table),
            )
        how = "configured" if configured == "matrix" else "auto: input.skill_columns is set"
        return Decision("matrix", columns, how)
    if has_name:
        names = [row.get("displayName").strip() for row in head]
        listed = sum(1 for name in names if looks_like_list(name, separator, values))
        if not listed:
            return Decision("rows", how="auto: one skill name per row")
        if "proficiency" not in table.mapping:
            return Decision("list", how=f"auto: {listed} of {len(names)} skill cells hold lists")
        if listed * 2 >= len(names):
            raise InputError(
                f"cannot tell the layout: {listed} of the first {len(names)} skill cells hold "
                f"several skills or a level, but there is also a level column; run with "
                f"--layout list (several skills per cell) or --layout rows (one per row)",
                **_where(table),
            )
        return Decision("rows", how="auto: one skill name per row, a few cells look like lists")
    columns = tuple(level_columns(table, head, values, ignored))
    if columns:
        return Decision("matrix", columns, f"auto: {len(columns)} columns hold levels")
    raise InputError(
        "cannot tell the layout: there is no skill name column (skill, skill name, skills, "
        "competencies, ...) and no column whose cells are levels; run with --layout rows "
        "(after naming the skill column under columns.displayName) or --layout matrix (with "
        "input.skill_columns)",
        **_where(table),
    )
