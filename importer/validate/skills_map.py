"""The skills map (``input.skills_map``): rename source skill names before anything compares them.

A CSV with ``from`` and ``to`` columns (any others, such as the ``count`` and ``cluster``
columns of the template ``inspect`` writes, are ignored). ``from`` matches a skill name
ignoring case and surrounding spaces; the row then asks for the skill ``to``. An empty ``to``
leaves the row out (``skipped``, ``mapped-out``). Names no entry matches stay as they are, and
entries are applied once (a ``to`` is not looked up again), so the map reads top to bottom
the way an admin wrote it.

The map is applied before duplicate detection: "excel" and "Excel " for one person become
one skill, and ``input.duplicates`` decides which level is kept.
"""

from __future__ import annotations

from pathlib import Path

from importer.errors import ConfigError
from importer.read.small_csv import read_small_csv
from importer.validate.row_model import MAX_DISPLAY_NAME
from importer.validate.schema import find_control_character, quote_value

__all__ = ["SkillsMap", "load_skills_map", "map_key"]


def map_key(name: str) -> str:
    """How a skill name is looked up in the map: trimmed, case ignored."""
    return name.strip().casefold()


def load_skills_map(path: Path | None) -> SkillsMap | None:
    """The map at ``input.skills_map``, or None when none is configured.

    The pipeline calls it before it creates the report folder, so that a broken map stops the
    run with no folder left behind.

    Raises:
        ConfigError: as ``SkillsMap.load``.
    """
    return SkillsMap.load(path) if path is not None else None


class SkillsMap:
    """The ``from`` -> ``to`` entries of one skills map file.

    Attributes:
        path: the file, for messages.
        used: keys of the entries that matched at least one name so far.
    """

    def __init__(self, path: str, entries: dict[str, tuple[str, str]]) -> None:
        self.path = path
        self._entries = entries
        self.used: set[str] = set()

    def __len__(self) -> int:
        return len(self._entries)

    @classmethod
    def load(cls, path: Path) -> SkillsMap:
        """Read and check a skills map.

        Raises:
            ConfigError: naming the file (and line): unreadable, no ``from``/``to`` header, a
                ``to`` that is not a usable skill name, or one ``from`` mapped two ways.
        """
        shown = str(path)
        reader = read_small_csv(path, "input.skills_map")
        header = [cell.strip().casefold() for cell in next(reader, [])]
        if "from" not in header or "to" not in header:
            raise ConfigError(
                f"input.skills_map: {shown}: needs a header with the columns from,to "
                f"(found {', '.join(header) or 'nothing'})"
            )
        source, target = header.index("from"), header.index("to")
        entries: dict[str, tuple[str, str]] = {}
        lines: dict[str, int] = {}
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            cells = cells + [""] * (len(header) - len(cells))
            written, to = _cell(cells[source]), _cell(cells[target])
            key = map_key(written)
            if not key:
                raise ConfigError(f"input.skills_map: {shown} line {line}: 'from' is empty")
            problem = _name_problem(to)
            if problem:
                raise ConfigError(f"input.skills_map: {shown} line {line}: 'to' {problem}")
            if key in entries and entries[key][1] != to:
                raise ConfigError(
                    f"input.skills_map: {shown} line {line}: {quote_value(written)} is mapped "
                    f"to {quote_value(to)} here and to {quote_value(entries[key][1])} on line "
                    f"{lines[key]}; keep one"
                )
            entries[key] = (written, to)
            lines.setdefault(key, line)
        return cls(shown, entries)

    def apply(self, name: str) -> str | None:
        """The name a row asks for after mapping: ``to``, ``name`` itself, or None (left out)."""
        key = map_key(name)
        found = self._entries.get(key)
        if found is None:
            return name
        self.used.add(key)
        return found[1] or None

    def unused(self, used: set[str] | None = None) -> list[str]:
        """The ``from`` values (as written) of entries that matched no name, in file order."""
        matched = self.used if used is None else used
        return [written for key, (written, _) in self._entries.items() if key not in matched]

    def unused_warning(self, used: set[str] | None = None) -> str | None:
        """One warning line for the entries that matched nothing, or None."""
        unused = self.unused(used)
        if not unused:
            return None
        shown = ", ".join(quote_value(name) for name in unused[:10])
        more = f" and {len(unused) - 10} more" if len(unused) > 10 else ""
        return (
            f"skills map {self.path}: {len(unused)} entr{'y' if len(unused) == 1 else 'ies'} "
            f"matched no skill name in the source: {shown}{more}"
        )


#: What a report puts in front of a formula-like cell (the template is such a report).
_NEUTRALISED = ("'=", "'+", "'-", "'@")


def _cell(text: str) -> str:
    text = text.strip()
    return text[1:] if text.startswith(_NEUTRALISED) else text


def _name_problem(to: str) -> str:
    if not to:
        return ""
    if len(to) > MAX_DISPLAY_NAME:
        return f"is {len(to)} characters long; at most {MAX_DISPLAY_NAME} are allowed"
    bad = find_control_character(to)
    if bad is not None:
        return f"{quote_value(to)} contains a control character ({bad})"
    return ""
