"""The directory requests of the resolve stage, as relative URLs: OData literals done right.

A user value only ever travels inside a single-quoted OData string literal, with every ``'``
doubled, and the whole ``$filter`` is percent-encoded as one query value. ``O'Brien@contoso.com``
becomes ``'o''brien@contoso.com'``; ``x' or employeeId ne '`` becomes one literal that matches
an employeeId spelled exactly so, which nobody has. Nothing a cell holds can add a clause.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

__all__ = [
    "LISTING_PAGE_SIZE",
    "MAX_FILTER_VALUES",
    "USER_PROPERTIES",
    "delta_latest_url",
    "filter_expression",
    "listing_url",
    "lookup_url",
    "odata_literal",
]

#: What the stage reads of each user (and all it needs).
USER_PROPERTIES = ("id", "userPrincipalName", "mail", "employeeId", "accountEnabled")

#: Entra ID answers 400 "Too many child clauses" to a filter with more values than this.
MAX_FILTER_VALUES = 15

#: The largest page ``GET /users`` serves.
LISTING_PAGE_SIZE = 999

_SELECT = ",".join(USER_PROPERTIES)
#: Case does not matter to the directory for these: the literal is sent in lower case.
_FOLDED = frozenset({"id", "userPrincipalName", "mail"})


def odata_literal(value: str, prop: str) -> str:
    """``value`` as an OData string literal for a filter on ``prop`` (quotes doubled).

    mail, userPrincipalName and id are compared ignoring case, so they are sent in lower
    case; an employeeId is sent exactly as written.
    """
    text = value.lower() if prop in _FOLDED else value
    return "'" + text.replace("'", "''") + "'"


def filter_expression(prop: str, values: Sequence[str]) -> str:
    """``prop eq 'v'`` for one value, ``prop in ('a','b')`` for up to 15.

    Raises:
        ValueError: no values, or more than ``MAX_FILTER_VALUES``.
    """
    if not 1 <= len(values) <= MAX_FILTER_VALUES:
        raise ValueError(f"a filter holds 1 to {MAX_FILTER_VALUES} values, not {len(values)}")
    literals = [odata_literal(value, prop) for value in values]
    if len(literals) == 1:
        return f"{prop} eq {literals[0]}"
    return f"{prop} in ({','.join(literals)})"


def lookup_url(prop: str, values: Sequence[str]) -> str:
    """The relative URL of one lookup: ``/users?$filter=...&$select=...&$top=999``."""
    return (
        f"/users?$filter={quote(filter_expression(prop, values), safe='')}"
        f"&$select={_SELECT}&$top={LISTING_PAGE_SIZE}"
    )


def listing_url() -> str:
    """The relative URL of the first page of the whole directory."""
    return f"/users?$select={_SELECT}&$top={LISTING_PAGE_SIZE}"


def delta_latest_url() -> str:
    """The relative URL that asks for a deltaLink "from now" (no users), for the same
    properties as the listing."""
    return f"/users/delta?$select={_SELECT}&$deltaToken=latest"
