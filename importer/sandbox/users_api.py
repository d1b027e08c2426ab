"""``GET /users``: the directory listing and lookups, as Entra ID answers them.

What is served, and nothing more (anything else is 400 ``Request_UnsupportedQuery``):

- paging: ``$top`` 1..999 (default 100) and an opaque ``$skiptoken`` inside ``@odata.nextLink``,
  which carries the other query options along;
- ``$select`` of id, userPrincipalName, displayName, mail, employeeId, accountEnabled (without it:
  id, displayName, mail, userPrincipalName, as Graph's default set);
- ``$filter`` with one ``eq`` or one ``in (...)`` on id, userPrincipalName, mail or employeeId,
  string literals in single quotes with ``''`` for a quote. Values compare ignoring case, as
  Entra ID compares strings; at most 15 values, else 400 "Too many child clauses".

The parser reads the literal character by character, so a value such as ``x' or 1 eq 1`` that
was escaped properly is one literal, and one that was not is a syntax error, never a wider query.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from importer.sandbox.directory import FILTERABLE, DirectoryUser
from importer.sandbox.skill_api import GraphCall, method_not_allowed
from importer.sandbox.state import SandboxState
from importer.sandbox.wire import GraphResponse, graph_error

__all__ = [
    "MAX_FILTER_VALUES",
    "MAX_TOP",
    "UnsupportedQueryError",
    "answer_organization",
    "answer_users",
    "parse_filter",
    "select_properties",
]

#: Entra ID refuses a filter with more child clauses than this.
MAX_FILTER_VALUES = 15
#: The largest page ``$top`` may ask for.
MAX_TOP = 999
_DEFAULT_TOP = 100
_SELECTABLE = {
    name.casefold(): name
    for name in ("id", "userPrincipalName", "displayName", "mail", "employeeId", "accountEnabled")
}
_DEFAULT_SELECT = ("id", "displayName", "mail", "userPrincipalName")
_OPTIONS = frozenset({"$filter", "$select", "$top", "$skiptoken"})
_HEAD = re.compile(r"\s*([A-Za-z]+)\s+(eq|in)\s*", re.IGNORECASE)


class UnsupportedQueryError(ValueError):
    """The query is outside what the directory serves (400 ``Request_UnsupportedQuery``)."""


def parse_filter(text: str) -> tuple[str, list[str]]:
    """Parse ``prop eq 'v'`` or ``prop in ('a','b')`` into the property and its values.

    Raises:
        UnsupportedQueryError: any other shape, an unknown property, a bad literal, or more
            than ``MAX_FILTER_VALUES`` values.
    """
    head = _HEAD.match(text)
    if head is None:
        raise UnsupportedQueryError("Unsupported or invalid query filter clause specified.")
    names = {name.casefold(): name for name in FILTERABLE}
    prop = names.get(head.group(1).casefold())
    if prop is None:
        raise UnsupportedQueryError(
            f"Unsupported or invalid query filter clause specified for property "
            f"'{head.group(1)}' of resource 'User'."
        )
    position = head.end()
    values: list[str] = []
    if head.group(2).casefold() == "eq":
        value, position = _literal(text, position)
        values.append(value)
    else:
        position = _expect(text, position, "(")
        while True:
            value, position = _literal(text, position)
            values.append(value)
            position = _skip_spaces(text, position)
            if text.startswith(")", position):
                position += 1
                break
            position = _expect(text, position, ",")
    if text[position:].strip():
        raise UnsupportedQueryError("Unsupported or invalid query filter clause specified.")
    if len(values) > MAX_FILTER_VALUES:
        raise UnsupportedQueryError(
            f"Too many child clauses specified in search filter expression containing 'OR' "
            f"operators: {len(values)}. Max allowed: {MAX_FILTER_VALUES}."
        )
    return prop, values


def _skip_spaces(text: str, position: int) -> int:
    while position < len(text) and text[position] == " ":
        position += 1
    return position


def _expect(text: str, position: int, char: str) -> int:
    position = _skip_spaces(text, position)
    if not text.startswith(char, position):
        raise UnsupportedQueryError("Unsupported or invalid query filter clause specified.")
    return position + 1


def _literal(text: str, position: int) -> tuple[str, int]:
    position = _expect(text, position, "'")
    chars: list[str] = []
    while position < len(text):
        char = text[position]
        if char == "'":
            if text.startswith("''", position):
                chars.append("'")
                position += 2
                continue
            return "".join(chars), position + 1
        chars.append(char)
        position += 1
    raise UnsupportedQueryError("Unterminated string literal in the query filter.")


def answer_users(state: SandboxState, call: GraphCall) -> GraphResponse:
    """Answer ``GET /users`` (the caller has checked the path)."""
    if call.method != "GET":
        return method_not_allowed(call)
    state.stats.directory_reads += 1
    if state.faults.deny_directory_reads:
        return graph_error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
            call.ctx,
        )
    try:
        return _list(state, call)
    except UnsupportedQueryError as exc:
        return graph_error(400, "Request_UnsupportedQuery", str(exc), call.ctx)


def answer_organization(state: SandboxState, call: GraphCall) -> GraphResponse:
    """Answer ``GET /organization``: the tenant, whose id is the sandbox database's own id.

    An importer tells tenants apart by this id: a sandbox database deleted and made again
    answers another one.
    """
    if call.method != "GET":
        return method_not_allowed(call)
    tenant = {"id": state.store.tenant_id, "displayName": "Sandbox"}
    return GraphResponse(200, {"value": [tenant]})


def _list(state: SandboxState, call: GraphCall) -> GraphResponse:
    unknown = [key for key in call.query if key.startswith("$") and key not in _OPTIONS]
    if unknown:
        raise UnsupportedQueryError(f"The query option '{unknown[0]}' is not supported.")
    top = _top(call.query.get("$top"))
    select = select_properties(call.query.get("$select"))
    filter_text = call.query.get("$filter")
    users: Sequence[DirectoryUser]
    if filter_text is not None:
        prop, values = parse_filter(filter_text)
        users = state.directory.matching(prop, values)
    else:
        users = state.directory.users
    start = _offset(call.query.get("$skiptoken"))
    page = users[start : start + top]
    body: dict[str, Any] = {
        "@odata.context": f"{call.origin}/{call.version}/$metadata#users",
        "value": [_project(user, select) for user in page],
    }
    if start + top < len(users):
        params: list[tuple[str, str]] = [
            (key, call.query[key]) for key in ("$filter", "$select", "$top") if key in call.query
        ]
        params.append(("$skiptoken", _skiptoken(start + top)))
        query = "&".join(f"{key}={quote(value, safe=',')}" for key, value in params)
        body["@odata.nextLink"] = f"{call.origin}/{call.version}/users?{query}"
    return GraphResponse(200, body)


def _top(text: str | None) -> int:
    if text is None:
        return _DEFAULT_TOP
    if not text.isdigit() or not 1 <= int(text) <= MAX_TOP:
        raise UnsupportedQueryError(
            f"Invalid page size specified: '{text}'. Must be between 1 and {MAX_TOP} inclusive."
        )
    return int(text)


def select_properties(text: str | None) -> tuple[str, ...]:
    """The properties a ``$select`` names (id always first; Graph's default set without one).

    Raises:
        UnsupportedQueryError: a property users do not have.
    """
    if text is None:
        return _DEFAULT_SELECT
    names = []
    for raw in text.split(","):
        name = _SELECTABLE.get(raw.strip().casefold())
        if name is None:
            raise UnsupportedQueryError(f"Could not find a property named '{raw.strip()}' on User.")
        names.append(name)
    return ("id", *(name for name in names if name != "id"))


def _project(user: DirectoryUser, select: tuple[str, ...]) -> dict[str, Any]:
    view = user.graph_view()
    return {name: view[name] for name in select}


def _skiptoken(offset: int) -> str:
    return base64.urlsafe_b64encode(f"users:{offset}".encode()).decode().rstrip("=")


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        text = ""
    prefix, _, number = text.partition(":")
    if prefix != "users" or not number.isdigit():
        raise UnsupportedQueryError("The $skiptoken is not valid; follow @odata.nextLink as given.")
    return int(number)
