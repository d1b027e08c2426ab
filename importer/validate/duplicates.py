"""The duplicate index of validation: which (user, skill) keys were seen, with which values.

Per key, one entry (a dict's, or ~40 bytes of a ``CompactMap`` in ``run``) from a 64-bit hash
of the key to an int packing a fingerprint of the normalised values (whose lowest
``RANK_BITS`` hold the rank of the level, for ``highest``) with a reference to the key's
first valid row (table number and row number). Rows are never kept; repeats and conflicts
go to side tables, flat arrays too (``importer.validate.compact``).

Identical repeats of a key are ``duplicate`` of its first row. Conflicting repeats (other
values) follow ``input.duplicates``:

- ``error``: every row of the key is invalid (``conflicting-duplicate``);
- ``first``: the first row is kept; ``last``: the last row; ``highest``: the first row with the
  highest level. The others are ``duplicate``, naming the kept row.

Streaming keeps the promise that the row finally kept was yielded as valid: under ``last`` and
``highest`` a row that takes over is yielded valid at once, and ``corrections`` turns the
rows it superseded (and the notes naming them) into duplicates of the final one.
"""

from __future__ import annotations

from collections.abc import Iterator, Set
from typing import NamedTuple, Protocol

from importer.records import Action, RowOutcome, SourceRow, Table
from importer.validate.compact import CompactMap, NameTable, RepeatLog
from importer.validate.shown import shown_fields
from importer.vocabulary import PROFICIENCY_LEVELS

__all__ = [
    "CONFLICTING_DUPLICATE",
    "DUPLICATE_POLICIES",
    "RANK_BITS",
    "REF_BITS",
    "ROW_BITS",
    "DuplicateIndex",
    "DuplicateState",
    "FirstRows",
    "conflict_message",
]

#: The values ``input.duplicates`` may take.
DUPLICATE_POLICIES = ("error", "first", "last", "highest")

#: The lowest bits of a values fingerprint hold the rank of the level (0 = no level).
RANK_BITS = 3
_RANK_MASK = (1 << RANK_BITS) - 1

#: A row reference is ``table number << ROW_BITS | row number``, below ``1 << REF_BITS``.
ROW_BITS = 32
REF_BITS = 48
_REF_MASK = (1 << REF_BITS) - 1
_ROW_MASK = (1 << ROW_BITS) - 1
#: The error type of every row of a (user, skill) that appears with different values.
CONFLICTING_DUPLICATE = "conflicting-duplicate"


_NO_LEVEL = "(none)"


def _level(packed: int) -> str:
    """The level of the row a packed value describes (its rank), for messages."""
    rank = (packed >> REF_BITS) & _RANK_MASK
    return PROFICIENCY_LEVELS[rank - 1] if 0 < rank <= len(PROFICIENCY_LEVELS) else _NO_LEVEL


def conflict_message(user: str, name: str, where: str) -> str:
    """The message of a conflicting duplicate; ``where`` names the other rows ("rows 3, 9")."""
    return (
        f"user '{user}' has skill '{name}' more than once with different values "
        f"(also in {where}); keep one row per user and skill"
    )


class FirstRows(Protocol):
    """What the index needs of its key -> first row map: a dict, or a ``CompactMap``.

    Stored values come back equal, not always identical: compare them with ``==``.
    """

    def setdefault(self, key: int, value: int, /) -> int: ...

    def __getitem__(self, key: int, /) -> int: ...

    def __contains__(self, key: object, /) -> bool: ...

    def __len__(self) -> int: ...

    def keys(self) -> Set[int]: ...


class DuplicateState(NamedTuple):
    """The index of one part of a table, as ``DuplicateIndex.export`` gives it."""

    first: FirstRows
    repeats: dict[int, list[int]]
    conflicts: dict[int, list[int]]
    names: dict[int, tuple[str, str]]


class DuplicateIndex:
    """First rows per key, identical repeats, and conflicting repeats.

    Args:
        policy: ``input.duplicates`` (see the module docstring).
        compact: ``CompactMap``s, ~40 bytes a key instead of ~126, ~2 µs a row slower.

    Attributes:
        first: key hash -> ``fingerprint << REF_BITS | reference`` of the key's first valid row;
            the validator fills it directly (the hot path).
    """

    def __init__(self, policy: str = "error", *, compact: bool = False) -> None:
        self.policy = policy
        self.first: FirstRows = CompactMap() if compact else {}
        # The later rows of repeated keys (packed as in ``first``), compactly: under error the
        # identical repeats; otherwise every later row, with the kept row it was reported
        # against (-1: yielded as valid).
        self._later = RepeatLog(compact=compact)
        # Policies other than error: the keys with conflicting values -> their kept row.
        self._disputed: CompactMap | dict[int, int] = CompactMap() if compact else {}
        self._tables: list[Table] = []
        self._conflicts: dict[int, list[int]] = {}
        # The user and skill names of conflicting keys, for their corrections.
        self._names = NameTable(compact=compact)

    def export(self) -> DuplicateState:
        """What another process's index needs to merge with this one (all small but ``first``).

        Under ``first``, ``last`` and ``highest`` the repeats are every later row of a repeated
        key, and the conflicts the keys whose rows differ (their rows are among the repeats).
        """
        repeats = {key: self._repeats(key) for key in self._later.logged_keys()}
        names = {key: self._names[key] for key in self._names}
        if self.policy == "error":
            return DuplicateState(self.first, repeats, self._conflicts, names)
        conflicts: dict[int, list[int]] = {key: [] for key in self._disputed}
        return DuplicateState(self.first, repeats, conflicts, names)

    def _repeats(self, key: int) -> list[int]:
        """The references of the later rows of ``key`` (under error: its identical repeats)."""
        return [packed & _REF_MASK for packed, _ in self._later.entries(key)]

    def table_number(self, table: Table) -> int:
        """Register a table; its number goes into row references."""
        self._tables.append(table)
        return len(self._tables) - 1

    def repeat(
        self,
        source: SourceRow,
        key: int,
        packed: int,
        user: str,
        name: str,
        shown: tuple[str, ...] = (),
    ) -> RowOutcome | None:
        """The outcome of a valid row whose key was seen before (``packed`` as in ``first``).

        ``shown``: the row's normalised values as report cells (proficiency, categories,
        collaborationTags, allowedAudiences, webUrl): a ``duplicate`` shows what it drops.

        Returns:
            None when the row is kept (it takes over under ``last`` or ``highest``): the
            caller yields it as valid. Otherwise a ``duplicate`` or ``invalid`` outcome.
        """
        if self.policy != "error":
            return self._keep_one(source, key, packed, user, name, shown)
        seen = self.first[key]
        ref = packed & _REF_MASK
        if key in self._conflicts or seen >> REF_BITS != packed >> REF_BITS:
            return self._conflicting(source, key, seen & _REF_MASK, ref)
        self._later.append(key, packed, -1)
        return RowOutcome.for_source(
            source,
            Action.DUPLICATE,
            user=user,
            display_name=name,
            error=f"same as {self._where(seen & _REF_MASK, here=ref)}",
            **shown_fields(shown),
        )

    def _keep_one(
        self, source: SourceRow, key: int, packed: int, user: str, name: str, shown: tuple[str, ...]
    ) -> RowOutcome | None:
        # A packed value is never 0: its row number is not.
        kept = self._disputed.get(key, 0)
        disputed = kept != 0
        if not disputed:
            kept = self.first[key]
        same = kept >> REF_BITS == packed >> REF_BITS
        if not same and not disputed:
            # The names its corrections carry: those of the row that brought the conflict.
            self._names.put(key, user, name)
            self._disputed[key] = kept
            disputed = True
        if disputed and (
            self.policy == "last"
            or (
                self.policy == "highest"
                and (packed >> REF_BITS) & _RANK_MASK > (kept >> REF_BITS) & _RANK_MASK
            )
        ):
            self._disputed[key] = packed
            self._later.append(key, packed, -1)
            return None
        kept_ref = kept & _REF_MASK
        self._later.append(key, packed, kept_ref)
        return RowOutcome.for_source(
            source,
            Action.DUPLICATE,
            user=user,
            display_name=name,
            error=self._kept_message(packed, kept),
            **shown_fields(shown),
        )

    def _kept_message(self, packed: int, kept: int) -> str:
        """Why the row ``packed`` is a duplicate of the kept row ``kept``, and what it drops."""
        where = self._where(kept & _REF_MASK, here=packed & _REF_MASK)
        if packed >> REF_BITS == kept >> REF_BITS:
            return f"same as {where}"
        dropped, chosen = _level(packed), _level(kept)
        levels = (
            f"its level {dropped} is dropped in favour of {chosen}"
            if dropped != chosen
            else f"same level ({chosen}), its other values are dropped"
        )
        return f"conflicts with {where}, which is kept (input.duplicates: {self.policy}): {levels}"

    def _conflicting(self, source: SourceRow, key: int, first_ref: int, ref: int) -> RowOutcome:
        conflicts = self._conflicts.setdefault(key, [])
        others = [first_ref, *self._repeats(key), *conflicts]
        conflicts.append(ref)
        user, name = source.get("user").strip(), source.get("displayName").strip()
        if key not in self._names:
            self._names.put(key, user, name)
        return RowOutcome.for_source(
            source,
            Action.INVALID,
            error_type=CONFLICTING_DUPLICATE,
            error=self._conflict_message(user, name, others, ref),
        )

    def _conflict_message(self, user: str, name: str, others: list[int], ref: int) -> str:
        return conflict_message(user, name, self._where(*others, here=ref))

    def _where(self, *refs: int, here: int) -> str:
        """Name rows for a message: "rows 12, 40", or with the file/sheet when it differs.

        Rows made by the matrix and list layouts are named by cell ("cell D12").
        """
        here_table = self._tables[here >> ROW_BITS]
        same = [
            r & _ROW_MASK
            for r in refs
            if r >> ROW_BITS == here >> ROW_BITS and not here_table.column
        ]
        parts = []
        if same:
            parts.append(f"row{'s' if len(same) > 1 else ''} {', '.join(map(str, same))}")
        for r in refs:
            if r & _ROW_MASK in same and r >> ROW_BITS == here >> ROW_BITS:
                continue
            table = self._tables[r >> ROW_BITS]
            spot = f"cell {table.column}{r & _ROW_MASK}" if table.column else f"row {r & _ROW_MASK}"
            if (table.source, table.sheet) != (here_table.source, here_table.sheet):
                spot = table.source + (f" [{table.sheet}]" if table.sheet else "") + f" {spot}"
            parts.append(spot)
        return ", ".join(parts)

    def corrections(self) -> Iterator[RowOutcome]:
        """Outcomes that replace rows already yielded, once every row has been seen.

        ``error``: invalid outcomes for the earlier rows (first and identical repeats) of
        conflicting keys. Other policies: ``duplicate`` outcomes for the rows that were
        yielded valid and then superseded, or that name a row that is no longer the kept one.
        Their ``header`` is the table's, but ``cells`` are empty: the rows were not kept.
        Generated as they are asked for: a file may hold millions of conflicting rows.
        """
        if self.policy != "error":
            yield from self._superseded()
            return
        for key, conflicting in self._conflicts.items():
            earlier = [self.first[key] & _REF_MASK, *self._repeats(key)]
            user, name = self._names[key]
            for ref in earlier:
                others = [r for r in (*earlier, *conflicting) if r != ref]
                yield self._correction(
                    ref,
                    user,
                    name,
                    Action.INVALID,
                    self._conflict_message(user, name, others, ref),
                    CONFLICTING_DUPLICATE,
                )

    def _correction(
        self,
        ref: int,
        user: str,
        name: str,
        action: Action,
        error: str,
        error_type: str = "",
        proficiency: str = "",
    ) -> RowOutcome:
        """The corrected outcome of the row ``ref`` points at (with its level, when known)."""
        table = self._tables[ref >> ROW_BITS]
        return RowOutcome(
            source=table.source,
            sheet=table.sheet,
            row=ref & _ROW_MASK,
            column=table.column,
            user=user,
            display_name=name,
            action=action,
            error_type=error_type,
            error=error,
            header=table.header,
            proficiency=proficiency,
        )

    def _superseded(self) -> Iterator[RowOutcome]:
        for key in self._disputed:
            first = self.first[key]
            kept = self._disputed[key]
            kept_ref = kept & _REF_MASK
            user, name = self._names[key]
            for packed, named in [(first, -1), *self._later.entries(key)]:
                ref = packed & _REF_MASK
                if ref == kept_ref or named == kept_ref:
                    continue
                message = self._kept_message(packed, kept)
                level = _level(packed)
                shown = "" if level == _NO_LEVEL else level
                yield self._correction(ref, user, name, Action.DUPLICATE, message, "", shown)
