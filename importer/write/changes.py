"""What an update changes, in words, for the ``changes`` column of results.csv.

An HR admin checking a dry run wants to see ``proficiency: elementary -> expert`` rather than
a PATCH body. Each changed field is ``field: old -> new``; list fields (categories,
collaborationTags) say what is added and removed (``categories: +Cloud -Old``). Fields are
joined by ``; `` in the order the PATCH body holds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from importer.validate.schema import parse_proficiency

__all__ = ["describe_changes"]

_LIST_FIELDS = frozenset({"categories", "collaborationTags"})
_NONE = "(none)"


def _text(value: Any) -> str:
    if value is None or value == "":
        return _NONE
    return str(value)


def _items(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return []


def _list_change(old: Any, new: Any) -> str:
    before, after = _items(old), _items(new)
    folded_before = {item.casefold() for item in before}
    folded_after = {item.casefold() for item in after}
    parts = [f"+{item}" for item in after if item.casefold() not in folded_before]
    parts += [f"-{item}" for item in before if item.casefold() not in folded_after]
    # Same items, other case only: say so rather than print an empty change.
    return " ".join(parts) if parts else f"{'; '.join(before)} -> {'; '.join(after)}"


def describe_changes(patch: Mapping[str, Any], existing: Mapping[str, Any]) -> str:
    """Describe a PATCH body against the skill Graph holds.

    Args:
        patch: the fields the update sends (only changed ones), Graph's names.
        existing: the skill as Graph listed it.

    Returns:
        e.g. ``proficiency: elementary -> expert; categories: +Cloud -Old``; "" for no change.
    """
    parts: list[str] = []
    for name, new in patch.items():
        old = existing.get(name)
        if name in _LIST_FIELDS:
            parts.append(f"{name}: {_list_change(old, new)}")
            continue
        if name == "proficiency":
            old = parse_proficiency(old) or old
        parts.append(f"{name}: {_text(old)} -> {_text(new)}")
    return "; ".join(parts)
