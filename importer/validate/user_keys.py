"""What a well-formed user value is, for each ``input.user_key``.

The user column holds one kind of identity, chosen by ``user_key``:

- ``auto``: an object id (GUID) is an ``id``, anything else a ``userPrincipalName``;
- ``id``: an object id (GUID);
- ``userPrincipalName`` / ``mail``: ``name@domain``, with nothing that could change a request
  path or query (``/ \\ ? %``, whitespace, control characters, misplaced dots);
- ``employeeId``: 1 to 16 characters (Entra ID's limit), kept exactly as written: leading
  zeros and case matter.

A value that is not well-formed for its key makes the row invalid: it is never sent, so a
crafted value can never change which resource a request addresses or what a filter matches.
"""

from __future__ import annotations

import re
from typing import Literal

from importer.validate.schema import quote_value, user_problem

__all__ = [
    "EMPLOYEE_ID_MAX",
    "USER_KEYS",
    "UserKey",
    "is_object_id",
    "key_of_value",
    "user_value_problem",
]

UserKey = Literal["auto", "id", "userPrincipalName", "mail", "employeeId"]

#: The keys ``input.user_key`` accepts, in the order the docs list them.
USER_KEYS: tuple[str, ...] = ("auto", "id", "userPrincipalName", "mail", "employeeId")

#: Entra ID stores at most this many characters in employeeId.
EMPLOYEE_ID_MAX = 16

_GUID = re.compile(r"[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}")


def is_object_id(value: str) -> bool:
    """True when ``value`` is written as a GUID (an Entra object id)."""
    return _GUID.fullmatch(value) is not None


def key_of_value(value: str, key: str) -> str:
    """The directory property a value is matched on: ``auto`` picks id or userPrincipalName."""
    if key == "auto":
        return "id" if is_object_id(value) else "userPrincipalName"
    return key


def user_value_problem(value: str, key: str) -> tuple[str, str] | None:
    """Why ``value`` (trimmed, non-empty, free of control characters) is not a well-formed
    value of ``key``: ``(error_type, message)``, or None when it is.
    """
    if key == "auto":
        problem = user_problem(value)
        return None if problem is None else ("invalid-user", f"{quote_value(value)} {problem}")
    if key == "id":
        if is_object_id(value):
            return None
        return (
            "invalid-user",
            f"{quote_value(value)} is not an object id (a GUID such as "
            f"0b0c3f3a-1c52-4c1e-9a55-7d0c5a2d0001); the user key is id",
        )
    if key in ("userPrincipalName", "mail"):
        if is_object_id(value):
            return (
                "invalid-user",
                f"{quote_value(value)} is an object id, not a {key}; "
                f"use --user-key id (or auto) for a column of object ids",
            )
        problem = user_problem(value)
        if problem is None:
            return None
        problem = problem.replace("userPrincipalName", key).replace(
            "is neither an object id (GUID) nor a", "is not a"
        )
        return "invalid-user", f"{quote_value(value)} {problem}"
    if len(value) > EMPLOYEE_ID_MAX:
        return (
            "invalid-user",
            f"{quote_value(value)} is {len(value)} characters long; an employeeId has at most "
            f"{EMPLOYEE_ID_MAX}",
        )
    return None
