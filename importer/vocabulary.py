"""The spellings an enum cell may use besides Graph's names: built-in words, numbers, ranges.

Shared by the shape stage (is this column a column of levels?) and validation (what does
this level mean?), so it sits outside both.

Built-in word synonyms always apply; ``values:`` in the config adds to them and overrides them
key by key, never wipes them:

| words                    | proficiency          |
|--------------------------|----------------------|
| beginner, novice, basic  | elementary           |
| intermediate             | generalProfessional  |
| advanced                 | advancedProfessional |
| expert, master           | expert               |

and ``mentor`` is ``ableToMentor`` for collaborationTags.

Numbers are compared as numbers ("3.0" is "3") and a key may be a range (``"1-2"``, both ends
included). For proficiency the numbers form one scale: the default is 1-5 (1 elementary ...
5 expert), but as soon as ``values.proficiency`` holds any number or range, those entries are
the whole scale and the default no longer applies. A synonym mapped to ``""`` means "no value"
(is_mentor ``0`` -> nothing, ``1`` -> ableToMentor).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "BUILTIN_WORDS",
    "DEFAULT_PROFICIENCY_SCALE",
    "PROFICIENCY_LEVELS",
    "NumericScale",
    "as_number",
    "looks_like_level",
    "scale_overlaps",
    "split_synonyms",
]

#: skillProficiencyLevel members accepted as input, in Graph's numeric order.
PROFICIENCY_LEVELS: tuple[str, ...] = (
    "elementary",
    "limitedWorking",
    "generalProfessional",
    "advancedProfessional",
    "expert",
)

#: Word synonyms per field that always apply; ``values:`` adds to them and overrides them.
BUILTIN_WORDS: dict[str, dict[str, str]] = {
    "proficiency": {
        "beginner": "elementary",
        "novice": "elementary",
        "basic": "elementary",
        "intermediate": "generalProfessional",
        "advanced": "advancedProfessional",
        "expert": "expert",
        "master": "expert",
    },
    "collaborationTags": {"mentor": "ableToMentor"},
    "allowedAudiences": {},
}

#: The numeric proficiency scale when ``values.proficiency`` holds no number or range.
DEFAULT_PROFICIENCY_SCALE: dict[str, str] = {
    "1": "elementary",
    "2": "limitedWorking",
    "3": "generalProfessional",
    "4": "advancedProfessional",
    "5": "expert",
}

_NUMBER = re.compile(r"[+]?(?:\d+(?:\.\d*)?|\.\d+)")
_RANGE = re.compile(r"\s*([0-9.]+)\s*(?:-|–|to)\s*([0-9.]+)\s*")


def as_number(text: str) -> float | None:
    """The number a cell or key holds ("3", "3.0", "+3"), or None for anything else."""
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text.lstrip("+"))
    return value if math.isfinite(value) else None


def _range(text: str) -> tuple[float, float] | None:
    match = _RANGE.fullmatch(text)
    if match is None:
        return None
    low, high = as_number(match.group(1)), as_number(match.group(2))
    if low is None or high is None:
        return None
    return (low, high) if low <= high else (high, low)


def _shown(number: float) -> str:
    return str(int(number)) if number.is_integer() else str(number)


@dataclass(frozen=True, slots=True)
class NumericScale:
    """The numbers (and ranges) of one enum's synonyms, compared as numbers.

    Attributes:
        exact: number -> target.
        ranges: (low, high, target), both ends included, in the order configured.
    """

    exact: dict[float, str]
    ranges: tuple[tuple[float, float, str], ...]

    @property
    def empty(self) -> bool:
        """True when no number or range is defined."""
        return not self.exact and not self.ranges

    @property
    def bounds(self) -> tuple[float, float] | None:
        """The lowest and highest number of the scale, or None when it is empty."""
        ends = [*self.exact, *(r[0] for r in self.ranges), *(r[1] for r in self.ranges)]
        return (min(ends), max(ends)) if ends else None

    def describe(self) -> str:
        """The scale in words for messages, e.g. ``1-5`` or ``0-10``."""
        bounds = self.bounds
        return "none" if bounds is None else f"{_shown(bounds[0])}-{_shown(bounds[1])}"

    def lookup(self, number: float) -> str | None:
        """The target of a number, or None when the scale does not cover it."""
        found = self.exact.get(number)
        if found is not None:
            return found
        for low, high, target in self.ranges:
            if low <= number <= high:
                return target
        return None

    def beyond(self, number: float) -> bool:
        """True when ``number`` lies outside the scale's lowest and highest number."""
        bounds = self.bounds
        return bounds is not None and not bounds[0] <= number <= bounds[1]


def split_synonyms(
    field: str, configured: Mapping[str, str]
) -> tuple[dict[str, str], NumericScale]:
    """The word synonyms and the numeric scale of one field, built-ins and config together.

    Words: the built-in ones, then the configured ones on top, key by key. Numbers and ranges:
    for proficiency, the configured ones if there are any, else the default 1-5 scale; for the
    other fields, the configured ones.

    Returns:
        (spelling -> target for the words, the numeric scale). Targets are as configured
        (any loose spelling of a canonical name, or "" for "no value").
    """
    words = dict(BUILTIN_WORDS.get(field, {}))
    exact: dict[float, str] = {}
    ranges: list[tuple[float, float, str]] = []
    for key, target in configured.items():
        number = as_number(key)
        span = None if number is not None else _range(key)
        if number is not None:
            exact[number] = target
        elif span is not None:
            ranges.append((span[0], span[1], target))
        else:
            words[key] = target
    if field == "proficiency" and not exact and not ranges:
        exact = {float(k): v for k, v in DEFAULT_PROFICIENCY_SCALE.items()}
    return words, NumericScale(exact, tuple(ranges))


def scale_overlaps(scale: NumericScale) -> list[str]:
    """The pairs of numeric entries that share numbers but mean different values.

    ``"1-5": elementary`` with ``"4-10": expert`` would read 4 and 5 as whichever entry is
    looked up first, silently; a number or range inside another one with a different target
    is as ambiguous. Entries with the same target (compared loosely) may overlap.

    Returns:
        One phrase per overlapping pair, e.g. ``"1-5" (elementary) and "4-10" (expert) share
        4-5``, in the order configured.
    """
    entries = [(n, n, t) for n, t in scale.exact.items()] + list(scale.ranges)
    found: list[str] = []
    for at, (low, high, target) in enumerate(entries):
        for other_low, other_high, other in entries[at + 1 :]:
            shared = (max(low, other_low), min(high, other_high))
            if shared[0] > shared[1] or _loose(target) == _loose(other):
                continue
            found.append(
                f'"{_span(low, high)}" ({target}) and "{_span(other_low, other_high)}" '
                f"({other}) share {_span(*shared)}"
            )
    return found


def _span(low: float, high: float) -> str:
    return _shown(low) if low == high else f"{_shown(low)}-{_shown(high)}"


def _loose(text: str) -> str:
    return _LOOSE_DROP.sub("", text).casefold()


_LOOSE_DROP = re.compile(r"[\s_\-]+")
#: Numbers up to this are taken for levels when telling a level column from other columns
#: (a 1-10 file must still be seen as levels, so that its scale can be refused).
_LEVEL_NUMBER_MAX = 100


def looks_like_level(text: str, configured: Mapping[str, str]) -> bool:
    """True when a cell reads as a proficiency level: a name, a word synonym, or a small number.

    Args:
        text: the cell, trimmed and non-empty.
        configured: ``values.proficiency`` of the config.
    """
    number = as_number(text)
    if number is not None:
        return 0 <= number <= _LEVEL_NUMBER_MAX
    key = _LOOSE_DROP.sub("", text).casefold()
    words = {*PROFICIENCY_LEVELS, *BUILTIN_WORDS["proficiency"], *configured}
    return key in {_LOOSE_DROP.sub("", w).casefold() for w in words}
