"""The duplicate index of validation: which (user, skill) keys were seen, with which values.

Memory stays small for millions of rows: per key, one dictionary entry from a 64-bit hash
of the key to an int packing a 64-bit fingerprint of the normalised values with a
reference to the key's first valid row (table number and row number). Rows themselves are
never kept. Repeats and conflicts, which are rare, are tracked in side tables.
"""

from __future__ import annotations

from typing import NamedTuple

from importer.records import Action, RowOutcome, SourceRow, Table

__all__ = [
    "CONFLICTING_DUPLICATE",
    "REF_BITS",
    "ROW_BITS",
    "DuplicateIndex",
    "DuplicateState",
    "conflict_message",
]

#: A row reference is ``table number << ROW_BITS | row number``, below ``1 << REF_BITS``.
ROW_BITS = 32
REF_BITS = 48
_REF_MASK = (1 << REF_BITS) - 1
_ROW_MASK = (1 << ROW_BITS) - 1
#: The error type of every row of a (user, skill) that appears with different values.
CONFLICTING_DUPLICATE = "conflicting-duplicate"


def conflict_message(user: str, name: str, where: str) -> str:
    """The message of a conflicting duplicate; ``where`` names the other rows ("rows 3, 9")."""
    return (
        f"user '{user}' has skill '{name}' more than once with different values "
        f"(also in {where}); keep one row per user and skill"
    )


class DuplicateState(NamedTuple):
    """The index of one part of a table, as ``DuplicateIndex.export`` gives it."""

    first: dict[int, int]
    repeats: dict[int, list[int]]
    conflicts: dict[int, list[int]]
    names: dict[int, tuple[str, str]]


class DuplicateIndex:
    """First rows per key, identical repeats, and conflicting repeats.

    Attributes:
        first: key hash -> ``fingerprint << REF_BITS | reference`` of the key's first valid row;
            the validator fills it directly (the hot path).
    """

    def __init__(self) -> None:
        self.first: dict[int, int] = {}
        self._tables: list[Table] = []
        self._repeats: dict[int, list[int]] = {}
        self._conflicts: dict[int, list[int]] = {}
        self._names: dict[int, tuple[str, str]] = {}

    def export(self) -> DuplicateState:
        """What another process's index needs to merge with this one (all small but ``first``)."""
        return DuplicateState(self.first, self._repeats, self._conflicts, self._names)

    def table_number(self, table: Table) -> int:
        """Register a table; its number goes into row references."""
        self._tables.append(table)
        return len(self._tables) - 1

    def repeat(self, source: SourceRow, key: int, packed: int, user: str, name: str) -> RowOutcome:
        """The outcome of a valid row whose key was seen before (``packed`` as in ``first``)."""
        seen = self.first[key]
        ref = packed & _REF_MASK
        if key in self._conflicts or seen >> REF_BITS != packed >> REF_BITS:
            return self._conflicting(source, key, seen & _REF_MASK, ref)
        self._repeats.setdefault(key, []).append(ref)
        return RowOutcome.for_source(
            source,
            Action.DUPLICATE,
            user=user,
            display_name=name,
            error=f"same as {self._where(seen & _REF_MASK, here=ref)}",
        )

    def _conflicting(self, source: SourceRow, key: int, first_ref: int, ref: int) -> RowOutcome:
        conflicts = self._conflicts.setdefault(key, [])
        others = [first_ref, *self._repeats.get(key, ()), *conflicts]
        conflicts.append(ref)
        user, name = source.get("user").strip(), source.get("displayName").strip()
        self._names.setdefault(key, (user, name))
        return RowOutcome.for_source(
            source,
            Action.INVALID,
            error_type=CONFLICTING_DUPLICATE,
            error=self._conflict_message(user, name, others, ref),
        )

    def _conflict_message(self, user: str, name: str, others: list[int], ref: int) -> str:
        return conflict_message(user, name, self._where(*others, here=ref))

    def _where(self, *refs: int, here: int) -> str:
        """Name rows for a message: "rows 12, 40", or with the file/sheet when it differs."""
        here_table = here >> ROW_BITS
        same = [r & _ROW_MASK for r in refs if r >> ROW_BITS == here_table]
        parts = []
        if same:
            parts.append(f"row{'s' if len(same) > 1 else ''} {', '.join(map(str, same))}")
        for r in refs:
            if r >> ROW_BITS != here_table:
                table = self._tables[r >> ROW_BITS]
                where = table.source + (f" [{table.sheet}]" if table.sheet else "")
                parts.append(f"{where} row {r & _ROW_MASK}")
        return ", ".join(parts)

    def corrections(self) -> list[RowOutcome]:
        """Invalid outcomes for the earlier rows (first and identical repeats) of conflicting keys.

        Their ``header`` is the table's, but ``cells`` are empty: the rows were not kept.
        """
        corrections: list[RowOutcome] = []
        for key, conflicting in self._conflicts.items():
            earlier = [self.first[key] & _REF_MASK, *self._repeats.get(key, ())]
            user, name = self._names[key]
            for ref in earlier:
                others = [r for r in (*earlier, *conflicting) if r != ref]
                table = self._tables[ref >> ROW_BITS]
                corrections.append(
                    RowOutcome(
                        source=table.source,
                        sheet=table.sheet,
                        row=ref & _ROW_MASK,
                        user=user,
                        display_name=name,
                        action=Action.INVALID,
                        error_type=CONFLICTING_DUPLICATE,
                        error=self._conflict_message(user, name, others, ref),
                        header=table.header,
                    )
                )
        return corrections
