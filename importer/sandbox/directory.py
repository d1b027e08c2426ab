"""The sandbox's user directory: who exists, matched by object id or userPrincipalName."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Directory", "DirectoryUser", "load_directory_csv"]

_REQUIRED_COLUMNS = ("id", "userPrincipalName")


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """One user of the emulated tenant."""

    id: str
    user_principal_name: str
    display_name: str = ""


class Directory:
    """Users looked up by object id or UPN, case-insensitively, like Entra ID does."""

    def __init__(self, users: Iterable[DirectoryUser] = ()) -> None:
        """Index the given users; a later user with the same id or UPN replaces an earlier one."""
        self._by_key: dict[str, DirectoryUser] = {}
        self._by_id: dict[str, DirectoryUser] = {}
        for user in users:
            self._by_key[user.id.casefold()] = user
            self._by_key[user.user_principal_name.casefold()] = user
            self._by_id[user.id.casefold()] = user

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
        return self._by_id.get(object_id.casefold())

    def __len__(self) -> int:
        """Number of users."""
        return len(self._by_id)


def load_directory_csv(path: Path) -> list[DirectoryUser]:
    """Read a users CSV with header ``id,userPrincipalName,displayName`` (UTF-8, BOM allowed).

    Raises:
        ValueError: If a required column is missing or a row lacks an id or UPN.
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
            users.append(DirectoryUser(uid, upn, (row.get("displayName") or "").strip()))
    return users
