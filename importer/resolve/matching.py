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

    Memory grows with the people of the file (half a million in a large migration), so each
    match keeps only what the run needs afterwards (id, userPrincipalName for messages,
    accountEnabled), under the very key string of the wanted value; several users only for
    an ambiguous value; and ``seal`` drops the wanted values once the directory is read.

    Args:
        wanted: property -> the match keys wanted for it.
        keep_mail: keep each match's mail too (the Org data target writes it); off by default,
            as no other target needs it and it would cost a string per person.
    """

    def __init__(self, wanted: Mapping[str, Iterable[str]], *, keep_mail: bool = False) -> None:
        self._wanted = {prop: {key: key for key in keys} for prop, keys in wanted.items()}
        self._keep_mail = keep_mail
        self._found: dict[str, dict[str, DirectoryUser | tuple[DirectoryUser, ...]]] = {}
        self._count = 0

    def add(self, user: DirectoryUser, props: Iterable[str] | None = None) -> None:
        """Index one user under each wanted value it holds (of ``props``, default all)."""
        slim: DirectoryUser | None = None
        for prop in self._wanted if props is None else props:
            value = user.value_of(prop)
            wanted = self._wanted.get(prop)
            if not value or wanted is None:
                continue
            key = wanted.get(match_key(prop, value))
            if key is None:
                continue
            if slim is None:
                slim = DirectoryUser(
                    user.id,
                    user.user_principal_name,
                    user.mail if self._keep_mail else "",
                    account_enabled=user.account_enabled,
                )
            found = self._found.setdefault(prop, {})
            held = found.get(key)
            if held is None:
                found[key] = slim
                self._count += 1
            else:
                users = (held,) if isinstance(held, DirectoryUser) else held
                if all(other.id.casefold() != slim.id.casefold() for other in users):
                    found[key] = (*users, slim)

    def users_for(self, prop: str, value: str) -> list[DirectoryUser]:
        """The users matching ``value`` of ``prop``, in the order they were found."""
        held = self._found.get(prop, {}).get(match_key(prop, value))
        if held is None:
            return []
        return [held] if isinstance(held, DirectoryUser) else list(held)

    @property
    def found(self) -> int:
        """How many wanted values have at least one user so far."""
        return self._count

    def seal(self) -> None:
        """The directory has been read: forget the wanted values (``add`` finds nothing more)."""
        self._wanted = {}

    def clear(self) -> None:
        """Forget every user found so far."""
        self._found.clear()
        self._count = 0
