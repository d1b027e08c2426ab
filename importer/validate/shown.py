"""A valid row's normalised values as report cells, made once per combination of cells.

``validate`` reports every valid row with the values it asks for (results.csv's proficiency,
categories, collaborationTags, allowedAudiences and webUrl columns) without building a
``SkillRow`` per row: the validator keeps them, as text, with each cached combination of
optional cells and hands them along with the row (``Checked``).
"""

from __future__ import annotations

from importer.records import SourceRow

__all__ = ["SHOWN_FIELDS", "Checked", "Shown", "shown_fields", "shown_values"]

#: The values as results.csv shows them (lists joined by "; ", "" for an empty cell).
Shown = tuple[str, str, str, str, str]
#: A valid row as ``Validator.check`` yields it when it builds no ``SkillRow``.
Checked = tuple[SourceRow, Shown]
#: The ``RowOutcome`` fields of ``Shown``, in order.
SHOWN_FIELDS = ("proficiency", "categories", "collaboration_tags", "allowed_audiences", "web_url")


def shown_values(values: tuple[object, ...]) -> Shown:
    """Normalised values (proficiency on, in field order) as ``RowOutcome.for_row`` shows them."""
    level, categories, tags, audiences, url = values
    return (
        str(level or ""),
        "; ".join(categories) if isinstance(categories, tuple) else "",
        "; ".join(tags) if isinstance(tags, tuple) else "",
        str(audiences or ""),
        str(url or ""),
    )


def shown_fields(shown: tuple[str, ...]) -> dict[str, str]:
    """``Shown`` values as ``RowOutcome`` keyword arguments (none for an empty tuple)."""
    return dict(zip(SHOWN_FIELDS, shown, strict=False))
