"""Matching directory users to the values of the user column.

``mail``, ``userPrincipalName`` and ``id`` match ignoring case; ``employeeId`` matches
exactly (``"0042"`` is not ``"42"``, ``"E1"`` is not ``"e1"``), even though the directory's own
filter compares it ignoring case: the answers are checked again here. A value that two users
match is ambiguous, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["DirectoryUser", "MatchIndex", "match_key", "parse_user"]


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """What the resolve stage knows of one directory user."""

    id: str
    user_principal_name: str
    mail: str = ""
    employee_id: str = ""
    account_enabled: bool = True

    def value_of(self, prop: str) -> str:
        """The user's value of a matchable property ("" when it has none)."""
        if prop == "id":
            return self.id
        if prop == "userPrincipalName":
            return self.user_principal_name
        if prop == "mail":
            return self.mail
        return self.employee_id


def match_key(prop: str, value: str) -> str:
    """The form in which values of ``prop`` are compared."""
    return value if prop == "employeeId" else value.casefold()


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def parse_user(item: Any) -> DirectoryUser | None:
    """A user from one element of a ``GET /users`` answer, or None if it has no id.

    ``accountEnabled`` is read leniently: only an explicit ``false`` disables (a property the
    directory did not return means enabled, as for users created before it existed).
    """
    if not isinstance(item, Mapping):
        return None
    user_id = _text(item.get("id"))
    if not user_id:
        return None
    enabled = item.get("accountEnabled")
    return DirectoryUser(
        id=user_id,
        user_principal_name=_text(item.get("userPrincipalName")),
        mail=_text(item.get("mail")),
        employee_id=_text(item.get("employeeId")),
        account_enabled=not (enabled is False or str(enabled).casefold() == "false"),
    )


class MatchIndex:
    """The users found for each wanted value, per property.

    Args:
        wanted: property -> the match keys wanted for it.
    """

    def __init__(self, wanted: Mapping[str, Iterable[str]]) -> None:
        self._wanted = {prop: set(keys) for prop, keys in wanted.items()}
        self._found: dict[tuple[str, str], dict[str, DirectoryUser]] = {}

    def add(self, user: DirectoryUser, props: Iterable[str] | None = None) -> None:
        """Index one user under each wanted value it holds (of ``props``, default all)."""
        for prop in self._wanted if props is None else props:
            value = user.value_of(prop)
            if not value:
                continue
            key = match_key(prop, value)
            if key in self._wanted.get(prop, ()):
                self._found.setdefault((prop, key), {})[user.id.casefold()] = user

    def users_for(self, prop: str, value: str) -> list[DirectoryUser]:
        """The users matching ``value`` of ``prop``, in the order they were found."""
        return list(self._found.get((prop, match_key(prop, value)), {}).values())

    @property
    def found(self) -> int:
        """How many wanted values have at least one user so far."""
        return len(self._found)

    def clear(self) -> None:
        """Forget every user found so far."""
        self._found.clear()
