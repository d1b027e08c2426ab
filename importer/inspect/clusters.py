"""Clusters of near-identical skill names ("MS Excel", "Excel 2016", "excel", "Exel").

Two steps, so that 20,000 distinct names cluster in well under a second:

1. Every name gets a *canonical key*: lower case, punctuation other than ``+`` and ``#`` dropped
   (C++ and C# stay apart from C), versions and years dropped ("2016", "v2", "365", "3.11";
   other numbers stay: "Level 1" and "Level 2" are different skills), vendor prefixes dropped
   ("MS", "Microsoft"), spaces removed ("Power Point" is "PowerPoint"). Names with the same
   key are one cluster at once.
2. Keys that differ by a typo are joined with rapidfuzz: at most one edit (``OSA`` distance: a
   letter added, dropped, changed, or two swapped; "Exel", "Pyhton") between keys of fewer
   than ``TWO_EDITS_FROM`` characters, two between longer ones ("Negotiating Skills").
   Only keys that hold the same digits and share their first or their last two characters
   are compared (a typo rarely hits both ends), with ``process.cdist`` in blocks. Keys shorter
   than ``MIN_FUZZY_LENGTH`` only ever match exactly: "Go", "Git" and "C#" stay apart.

A cluster's suggested name is its most frequent spelling (ties: the alphabetically first).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

__all__ = ["MIN_FUZZY_LENGTH", "TWO_EDITS_FROM", "NameCluster", "canonical_key", "cluster_names"]

#: Canonical keys shorter than this are only matched exactly.
MIN_FUZZY_LENGTH = 4
#: Keys this long or longer (both of them) may differ by two edits; shorter ones by one.
TWO_EDITS_FROM = 10

_BLOCK_CHARS = 2
_CDIST_ROWS = 2000
_VENDORS = frozenset({"ms", "microsoft"})
_PUNCTUATION = re.compile(r"[^\w+#.]+")
_VERSION = re.compile(r"(?:19|20)\d\d|v\d+(?:\.\d+)*|\d+(?:\.\d+)+|365")
_NOT_DIGIT = re.compile(r"\D+")


def canonical_key(name: str) -> str:
    """The key under which spellings of one skill meet (see the module docstring)."""
    words = _PUNCTUATION.sub(" ", name.casefold().replace("_", " ")).split()
    tokens = [t for t in (w.strip(".") for w in words) if t]
    kept = [t for t in tokens if t not in _VENDORS and not _VERSION.fullmatch(t)]
    # A name made only of such words ("365", "MS") keeps them: it must not become empty.
    return "".join(kept or tokens).replace(".", "") or name.strip().casefold()


@dataclass(frozen=True, slots=True)
class NameCluster:
    """Spellings that look like one skill.

    Attributes:
        suggested: the most frequent spelling (what the template proposes as ``to``).
        names: each spelling with its row count, most frequent first.
    """

    suggested: str
    names: tuple[tuple[str, int], ...]

    @property
    def rows(self) -> int:
        """Rows carrying any of the spellings."""
        return sum(count for _, count in self.names)


class _Groups:
    """Union-find over indexes."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        parent = self.parent
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def join(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


def _similar_pairs(keys: list[str]) -> Iterable[tuple[int, int]]:
    """Pairs of key indexes whose keys are a typo apart (blocked, see the module docstring)."""
    blocks: dict[tuple[bool, str, str], list[int]] = {}
    for index, key in enumerate(keys):
        if len(key) >= MIN_FUZZY_LENGTH:
            digits = _NOT_DIGIT.sub("", key)
            blocks.setdefault((True, digits, key[:_BLOCK_CHARS]), []).append(index)
            blocks.setdefault((False, digits, key[-_BLOCK_CHARS:]), []).append(index)
    for members in blocks.values():
        if len(members) < 2:
            continue
        texts = [keys[i] for i in members]
        for start in range(0, len(texts), _CDIST_ROWS):
            edits = process.cdist(
                texts[start : start + _CDIST_ROWS],
                texts,
                scorer=OSA.distance,
                score_cutoff=2,
                dtype=np.uint8,
                workers=-1,
            )
            rows, columns = np.nonzero(edits <= 2)
            for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
                a, b = members[start + row], members[column]
                if start + row >= column:
                    continue
                if edits[row, column] == 1 or min(len(keys[a]), len(keys[b])) >= TWO_EDITS_FROM:
                    yield a, b


def cluster_names(counts: Mapping[str, int]) -> list[NameCluster]:
    """Group spellings (with their row counts) into clusters of near-identical names.

    Args:
        counts: each distinct spelling (trimmed) -> how many rows carry it.

    Returns:
        Every spelling in exactly one cluster; clusters of more than one spelling first
        (most rows first), then the single names (most rows first).
    """
    spellings = list(counts)
    key_index: dict[str, int] = {}
    of_spelling = [key_index.setdefault(canonical_key(s), len(key_index)) for s in spellings]
    keys = list(key_index)
    groups = _Groups(len(keys))
    for a, b in _similar_pairs(keys):
        groups.join(a, b)
    members: dict[int, list[str]] = {}
    for spelling, key in zip(spellings, of_spelling, strict=True):
        members.setdefault(groups.find(key), []).append(spelling)
    clusters = []
    for names in members.values():
        ranked = sorted(names, key=lambda s: (-counts[s], s))
        clusters.append(NameCluster(ranked[0], tuple((s, counts[s]) for s in ranked)))
    clusters.sort(key=lambda c: (len(c.names) == 1, -c.rows, c.suggested))
    return clusters
