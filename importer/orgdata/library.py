"""The skills library (``--library``, ``orgdata.library``): the names People Skills knows.

People Skills imports a skill from the Org data file only when its name matches, exactly, the
English name of a skill in the tenant's library. The library file is the one the admin center
gives (People Skills > Export library, or the custom library template): a CSV whose skill names
are in the column ``Name.en_US``; a plain list with a ``name``, ``skill``, ``skill name`` or
``displayName`` column works too. Other columns (``externalCode``, ``Description.en_US``...) are
ignored.

A name is looked up ignoring case and surrounding spaces, and written as the library spells it;
a name the library does not hold is suggested the closest library names (rapidfuzz, already used
by ``inspect``: a weighted ratio that also scores a name found inside a longer one, "Python" in
"Python (Programming Language)").
"""

from __future__ import annotations

from pathlib import Path

from importer.errors import ConfigError
from importer.read.small_csv import read_small_csv
from importer.records import header_key, skill_key

__all__ = ["NAME_HEADERS", "SkillsLibrary", "load_library"]

#: Header spellings of the name column (as ``header_key`` folds them), the preferred first.
NAME_HEADERS: tuple[str, ...] = ("nameenus", "name", "skillname", "skill", "displayname")

#: Suggestions shown for an unknown name, and how close (0-100) one must be to be shown.
_SUGGESTIONS = 3
_CUTOFF = 70.0


def load_library(path: Path | None) -> SkillsLibrary | None:
    """The library at ``path``, or None when none is configured.

    Raises:
        ConfigError: as ``SkillsLibrary.load``.
    """
    return SkillsLibrary.load(path) if path is not None else None


class SkillsLibrary:
    """The names of one skills library file.

    Attributes:
        path: the file, for messages.
    """

    def __init__(self, path: str, names: list[str]) -> None:
        self.path = path
        self._names = names
        self._by_key: dict[str, str] = {}
        for name in names:
            self._by_key.setdefault(skill_key(name), name)
        self._exact = set(names)
        self._suggested: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self._names)

    @classmethod
    def load(cls, path: Path) -> SkillsLibrary:
        """Read a library file.

        Raises:
            ConfigError: naming the file: unreadable, no name column, or no names at all.
        """
        shown = str(path)
        reader = read_small_csv(path, "orgdata.library")
        cells: list[str] = next(reader, [])
        header = [header_key(cell) for cell in cells]
        column = next((header.index(name) for name in NAME_HEADERS if name in header), None)
        if column is None:
            raise ConfigError(
                f"orgdata.library: {shown}: no column of skill names; the header needs "
                f"Name.en_US (as People Skills exports it), name, skill, skill name or "
                f"displayName (found {', '.join(cell.strip() for cell in cells) or 'nothing'})"
            )
        names = [
            name for cells in reader if len(cells) > column and (name := cells[column].strip())
        ]
        if not names:
            raise ConfigError(f"orgdata.library: {shown}: the file lists no skill names")
        return cls(shown, list(dict.fromkeys(names)))

    def spelling(self, name: str) -> str | None:
        """The library's spelling of ``name`` (case and surrounding spaces ignored), or None."""
        if name in self._exact:
            return name
        return self._by_key.get(skill_key(name))

    def suggest(self, name: str) -> list[str]:
        """The library names closest to ``name``, best first (at most three; maybe none)."""
        key = skill_key(name)
        found = self._suggested.get(key)
        if found is None:
            # Loaded here: a run that refuses no name never needs it.
            from rapidfuzz import fuzz, process, utils

            matches = process.extract(
                name,
                self._names,
                scorer=fuzz.WRatio,
                processor=utils.default_process,
                limit=_SUGGESTIONS,
                score_cutoff=_CUTOFF,
            )
            found = [match[0] for match in matches]
            self._suggested[key] = found
        return found
