"""The sandbox's user directory: who exists, and the properties ``GET /users`` can filter on.

The directory CSV needs ``id`` and ``userPrincipalName``; ``displayName``, ``mail``,
``employeeId`` and ``accountEnabled`` (true/false, yes/no, 1/0; empty = true) are optional
columns. Like Entra ID, the sandbox keeps object ids and UPNs unique (a later row with the same
id or UPN replaces an earlier one), while ``mail`` and ``employeeId`` may repeat: a real tenant
can hold two accounts with one employee number, which is what the importer's
``user-ambiguous`` outcome is for.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FILTERABLE", "Directory", "DirectoryUser", "load_directory_csv"]

_REQUIRED_COLUMNS = ("id", "userPrincipalName")
_TRUE = {"", "true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}

#: The properties ``$filter`` accepts, each matched ignoring case, as Entra ID compares strings.
FILTERABLE = ("id", "userPrincipalName", "mail", "employeeId")


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """One user of the emulated tenant."""

    id: str
    user_principal_name: str
    display_name: str = ""
    mail: str = ""
    employee_id: str = ""
    account_enabled: bool = True

    def graph_view(self) -> dict[str, object]:
        """The user as Graph names its properties (empty strings are null)."""
        return {
            "id": self.id,
            "userPrincipalName": self.user_principal_name,
            "displayName": self.display_name or None,
            "mail": self.mail or None,
            "employeeId": self.employee_id or None,
            "accountEnabled": self.account_enabled,
        }

    def value_of(self, name: str) -> str:
        """The text of one filterable property ("" when the user has none)."""
        return {
            "id": self.id,
            "userPrincipalName": self.user_principal_name,
            "mail": self.mail,
            "employeeId": self.employee_id,
        }[name]


class Directory:
    """Users in directory order, indexed by every filterable property (case-insensitively)."""

    def __init__(self, users: Iterable[DirectoryUser] = ()) -> None:
        """Index the given users; a later user with the same id or UPN replaces an earlier one."""
        by_id: dict[str, DirectoryUser] = {}
        upn_owner: dict[str, str] = {}
        for user in users:
            key = user.id.casefold()
            earlier = upn_owner.get(user.user_principal_name.casefold())
            if earlier is not None and earlier != key:
                by_id.pop(earlier, None)
            by_id[key] = user
            upn_owner[user.user_principal_name.casefold()] = key
        self._users = list(by_id.values())
        self._position = {id(user): position for position, user in enumerate(self._users)}
        self._by_key: dict[str, DirectoryUser] = {}
        self._index: dict[str, dict[str, list[DirectoryUser]]] = {name: {} for name in FILTERABLE}
        for user in self._users:
            self._by_key[user.id.casefold()] = user
            self._by_key[user.user_principal_name.casefold()] = user
            for name in FILTERABLE:
                value = user.value_of(name)
                if value:
                    self._index[name].setdefault(value.casefold(), []).append(user)

    @classmethod
    def from_sources(cls, path: Path | None, pairs: Sequence[tuple[str, str]] = ()) -> Directory:
        """Build a directory from a users CSV (if any) plus extra ``(id, upn)`` pairs."""
        users = load_directory_csv(path) if path is not None else []
        users.extend(DirectoryUser(id=uid, user_principal_name=upn) for uid, upn in pairs)
        return cls(users)

    def find(self, key: str) -> DirectoryUser | None:
        """The user whose object id or userPrincipalName is ``key`` (any case), or None."""
        return self._by_key.get(key.casefold())

    def by_id(self, object_id: str) -> DirectoryUser | None:
        """The user with this object id (any case), or None."""
        user = self._by_key.get(object_id.casefold())
        return user if user is not None and user.id.casefold() == object_id.casefold() else None

    def matching(self, name: str, values: Iterable[str]) -> list[DirectoryUser]:
        """Users whose property ``name`` equals one of ``values`` (any case), in directory order."""
        index = self._index[name]
        found: dict[int, DirectoryUser] = {}
        for value in values:
            for user in index.get(value.casefold(), ()):
                found[id(user)] = user
        return sorted(found.values(), key=lambda user: self._position[id(user)])

    def with_user(self, user: DirectoryUser) -> Directory:
        """A directory where ``user`` replaces the user of the same object id (or UPN), or is
        added last."""
        key = user.id.casefold()
        if self.by_id(user.id) is None:
            return Directory([*self._users, user])
        return Directory([user if u.id.casefold() == key else u for u in self._users])

    def without(self, object_id: str) -> Directory:
        """A directory without the user of this object id."""
        key = object_id.casefold()
        return Directory([user for user in self._users if user.id.casefold() != key])

    @property
    def users(self) -> Sequence[DirectoryUser]:
        """Every user, in directory order (the order of the CSV)."""
        return self._users

    def __len__(self) -> int:
        """Number of users."""
        return len(self._users)


def _enabled(text: str, path: Path, line: int) -> bool:
    folded = text.strip().casefold()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise ValueError(f"{path}, line {line}: accountEnabled must be true or false, not {text!r}")


def load_directory_csv(path: Path) -> list[DirectoryUser]:
    """Read a users CSV: ``id,userPrincipalName`` plus optional ``displayName``, ``mail``,
    ``employeeId`` and ``accountEnabled`` columns (UTF-8, BOM allowed).

    Values are kept as written (``employeeId`` "00042" stays "00042").

    Raises:
        ValueError: If a required column is missing, a row lacks an id or UPN, or
            accountEnabled is not a yes/no value.
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [name for name in _REQUIRED_COLUMNS if name not in header]
        if missing:
            raise ValueError(f"{path}: directory CSV lacks column(s) {', '.join(missing)}")
        users = []
        for line, row in enumerate(reader, start=2):
            uid = (row.get("id") or "").strip()
            upn = (row.get("userPrincipalName") or "").strip()
            if not uid and not upn:
                continue
            if not uid or not upn:
                raise ValueError(f"{path}, line {line}: both id and userPrincipalName are required")
            users.append(
                DirectoryUser(
                    uid,
                    upn,
                    (row.get("displayName") or "").strip(),
                    mail=(row.get("mail") or "").strip(),
                    employee_id=(row.get("employeeId") or "").strip(),
                    account_enabled=_enabled(row.get("accountEnabled") or "", path, line),
                )
            )
    return users
