"""A map from 64-bit keys to ints below ``2**128`` in about 24 bytes a slot, not ~126 a dict entry.

The duplicate index of ``run`` holds one entry per (user, skill) key: at 5,000,000 rows a dict
of int to int takes about 630 MB (an int object for the key, one for the value, the entry).
``CompactMap`` keeps the same entries in flat ``array('Q')`` tables: open addressing with
linear probing, three 64-bit words a slot (key, the value's low 64 bits, its high bits).

The keys are spread over 256 segments by the top bits of a multiplicative hash, and each
segment grows on its own (by half, when it passes 3/4 full), so growing never copies the
whole table at once: the transient is one segment, about 1/256 of the map. Key 0 marks an
empty slot, so an actual key 0 is held aside.

A probe in Python is about seven times slower than a dict's, so the first ``SMALL_KEYS``
keys (about a million) are held in a plain dict, about 90 bytes a key: a file of a few hundred
thousand rows pays neither the probes nor the memory of note. Past that the entries move into
the tables, sized for them at once, and the map is compact from then on. ``run`` uses it;
offline ``validate`` keeps a dict.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator

__all__ = ["SMALL_KEYS", "CompactMap", "NameTable", "RepeatLog"]

_MASK64 = (1 << 64) - 1
_LOW56 = (1 << 56) - 1
# Fibonacci hashing: spreads clustered keys (0, 1, 2, ...) over the segments and the slots.
_MULTIPLIER = 0x9E3779B97F4A7C15
_SEGMENT_SHIFT = 56
_SEGMENTS = 1 << (64 - _SEGMENT_SHIFT)
_FIRST_SLOTS = 8
_WORDS = 3  # key, low 64 bits of the value, the rest of the value
_MAX_VALUE = (1 << 128) - 1
#: Keys held in a dict before the map turns compact (see the module).
SMALL_KEYS = 1 << 20


def _limit(slots: int) -> int:
    """How many keys a segment of ``slots`` slots holds before it grows (3/4 full)."""
    return slots * 3 // 4


class CompactMap:
    """``setdefault``, ``[]``, ``in``, ``len`` and ``keys`` of a dict of int to int, compactly.

    Keys are ints in ``[0, 2**64)``, values ints in ``[0, 2**128)``; anything else raises
    ``OverflowError``. Values come back equal, not identical: compare them with ``==``.
    Instances pickle as their arrays (the parallel ``validate`` path sends them between
    processes).

    Args:
        small_keys: how many keys a plain dict holds before the map turns compact (0: compact
            from the start).
    """

    __slots__ = ("_limits", "_small", "_small_keys", "_tables", "_used", "_zero")

    def __init__(self, small_keys: int = SMALL_KEYS) -> None:
        self._tables = [array("Q", bytes(8 * _WORDS * _FIRST_SLOTS)) for _ in range(_SEGMENTS)]
        self._used = [0] * _SEGMENTS
        self._limits = [_limit(_FIRST_SLOTS)] * _SEGMENTS
        self._zero: int | None = None
        self._small_keys = small_keys
        # The keys while there are few of them; None once the map is compact.
        self._small: dict[int, int] | None = {} if small_keys > 0 else None

    def setdefault(self, key: int, value: int) -> int:
        """The value stored for ``key``; ``value`` (itself) is stored and returned if none was."""
        small = self._small
        if small is not None:
            found = small.get(key)
            if found is not None:
                return found
            _check(key, value)
            small[key] = value
            if len(small) > self._small_keys:
                self._go_compact()
            return value
        if not key:
            if self._zero is None:
                array("Q", (value & _MASK64, value >> 64))  # the same range checks as the tables
                self._zero = value
            return self._zero
        spread = (key * _MULTIPLIER) & _MASK64
        segment = spread >> _SEGMENT_SHIFT
        table = self._tables[segment]
        size = len(table)
        at = ((spread & _LOW56) * (size // _WORDS) >> _SEGMENT_SHIFT) * _WORDS
        while True:
            found = table[at]
            if found == key:
                return table[at + 1] | table[at + 2] << 64
            if not found:
                break
            at += _WORDS
            if at == size:
                at = 0
        table[at + 1] = value & _MASK64
        table[at + 2] = value >> 64
        table[at] = key
        used = self._used[segment] + 1
        self._used[segment] = used
        if used > self._limits[segment]:
            self._grow(segment)
        return value

    def _go_compact(self) -> None:
        """Move the dict's entries into the tables, each segment sized for its share at once."""
        small = self._small
        assert small is not None
        self._small = None
        share = len(small) // _SEGMENTS + 1
        slots = _FIRST_SLOTS
        while _limit(slots) < share + share // 4:  # room for an uneven spread before a growth
            slots = slots * 3 // 2
        self._tables = [array("Q", bytes(8 * _WORDS * slots)) for _ in range(_SEGMENTS)]
        self._limits = [_limit(slots)] * _SEGMENTS
        for key, value in small.items():
            self.setdefault(key, value)
        small.clear()

    def _find(self, key: int) -> int:
        """The index of ``key``'s slot in its segment's table, or -1 (``key`` is not 0)."""
        spread = (key * _MULTIPLIER) & _MASK64
        table = self._tables[spread >> _SEGMENT_SHIFT]
        size = len(table)
        at = ((spread & _LOW56) * (size // _WORDS) >> _SEGMENT_SHIFT) * _WORDS
        while True:
            found = table[at]
            if found == key:
                return at
            if not found:
                return -1
            at += _WORDS
            if at == size:
                at = 0

    def _grow(self, segment: int) -> None:
        """Rebuild one segment half as large again; the others are left alone."""
        old = self._tables[segment]
        slots = len(old) // _WORDS * 3 // 2
        size = slots * _WORDS
        table = array("Q", bytes(8 * size))
        for key, low, high in zip(old[0::_WORDS], old[1::_WORDS], old[2::_WORDS], strict=True):
            if not key:
                continue
            spread = (key * _MULTIPLIER) & _MASK64
            at = ((spread & _LOW56) * slots >> _SEGMENT_SHIFT) * _WORDS
            while table[at]:
                at += _WORDS
                if at == size:
                    at = 0
            table[at] = key
            table[at + 1] = low
            table[at + 2] = high
        self._tables[segment] = table
        self._limits[segment] = _limit(slots)

    def __setitem__(self, key: int, value: int) -> None:
        small = self._small
        if small is not None:
            _check(key, value)
            small[key] = value
            if len(small) > self._small_keys:
                self._go_compact()
            return
        words = array("Q", (value & _MASK64, value >> 64))  # OverflowError outside [0, 2**128)
        at = self._find(key) if 0 < key <= _MASK64 else -1
        if at >= 0:
            table = self._tables[((key * _MULTIPLIER) & _MASK64) >> _SEGMENT_SHIFT]
            table[at + 1 : at + _WORDS] = words
        elif not key:
            self._zero = value
        else:
            self.setdefault(key, value)

    def __getitem__(self, key: int) -> int:
        if self._small is not None:
            return self._small[key]
        if not key:
            if self._zero is None:
                raise KeyError(key)
            return self._zero
        at = self._find(key) if 0 < key <= _MASK64 else -1
        if at < 0:
            raise KeyError(key)
        table = self._tables[((key * _MULTIPLIER) & _MASK64) >> _SEGMENT_SHIFT]
        return table[at + 1] | table[at + 2] << 64

    def get(self, key: int, default: int) -> int:
        """The value stored for ``key``, or ``default``."""
        if self._small is not None:
            return self._small.get(key, default)
        if 0 < key <= _MASK64:
            at = self._find(key)
            if at < 0:
                return default
            table = self._tables[((key * _MULTIPLIER) & _MASK64) >> _SEGMENT_SHIFT]
            return table[at + 1] | table[at + 2] << 64
        return self._zero if key == 0 and self._zero is not None else default

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, int) or not 0 <= key <= _MASK64:
            return False
        if self._small is not None:
            return key in self._small
        if not key:
            return self._zero is not None
        return self._find(key) >= 0

    def __len__(self) -> int:
        if self._small is not None:
            return len(self._small)
        return sum(self._used) + (self._zero is not None)

    def __iter__(self) -> Iterator[int]:
        """Every key, one segment at a time (no set of them all, unlike ``keys``); while the
        map is small, in the order the keys came."""
        if self._small is not None:
            yield from self._small
            return
        if self._zero is not None:
            yield 0
        for table in self._tables:
            yield from filter(None, table[0::_WORDS])

    def keys(self) -> set[int]:
        """Every key, as a set (for set operations such as ``a.keys() & b.keys()``)."""
        if self._small is not None:
            return set(self._small)
        found: set[int] = set()
        for table in self._tables:
            found.update(table[0::_WORDS])
        found.discard(0)
        if self._zero is not None:
            found.add(0)
        return found

    def nbytes(self) -> int:
        """The bytes the tables take (the arrays' buffers), for measurements; while the map
        is small, an estimate of its dict's (about 90 bytes a key)."""
        if self._small is not None:
            return len(self._small) * 90
        return sum(len(table) * table.itemsize for table in self._tables)


def _check(key: int, value: int) -> None:
    """The tables' range checks, for an entry the dict takes while the map is small."""
    if not 0 <= key <= _MASK64:
        raise OverflowError(f"key {key} is not in [0, 2**64)")
    if not 0 <= value <= _MAX_VALUE:
        raise OverflowError(f"{value} is not in [0, 2**128)")


class RepeatLog:
    """Entries appended under 64-bit keys, read back per key in order; ~32 bytes an entry.

    The later rows of repeated (user, skill) keys: a file whose every row comes twice has as
    many of them as keys, and a list of tuples per key took ~300 bytes a row. Here an entry is
    a value below ``2**128`` and a note (a signed 64-bit int) in flat arrays, chained to the
    key's previous entry; a ``CompactMap`` (with ``compact``, else a dict, faster) gives each
    key's latest entry.
    """

    __slots__ = ("_highs", "_latest", "_lows", "_notes", "_previous")

    def __init__(self, *, compact: bool = True) -> None:
        self._lows = array("Q")
        self._highs = array("Q")
        self._notes = array("q")
        self._previous = array("Q")  # the key's previous entry + 1; 0: none
        # key -> its latest entry + 1
        self._latest: CompactMap | dict[int, int] = CompactMap() if compact else {}

    def append(self, key: int, value: int, note: int) -> None:
        """Add an entry for ``key`` after its others."""
        if not 0 <= value < 1 << 128:
            raise OverflowError(f"{value} is not in [0, 2**128)")
        latest = self._latest
        previous = latest.get(key, 0)
        self._notes.append(note)  # first: an OverflowError here leaves the arrays in step
        self._highs.append(value >> 64)
        self._lows.append(value & _MASK64)
        self._previous.append(previous)
        latest[key] = len(self._lows)

    def entries(self, key: int) -> list[tuple[int, int]]:
        """The (value, note) entries of ``key``, oldest first; [] when it has none."""
        found: list[tuple[int, int]] = []
        latest = self._latest
        at = latest.get(key, 0)
        while at:
            at -= 1
            found.append((self._lows[at] | self._highs[at] << 64, self._notes[at]))
            at = self._previous[at]
        found.reverse()
        return found

    def logged_keys(self) -> set[int]:
        """The keys with entries."""
        return set(self._latest.keys())


class NameTable:
    """A (user, skill name) pair per 64-bit key, as UTF-8 in one buffer: ~40 bytes + the text.

    The names of conflicting keys, for their corrections: a tuple of two strings and its
    dictionary entry took ~300 bytes a key, and a file may have millions of conflicting keys.
    """

    __slots__ = ("_text", "_where")

    def __init__(self, *, compact: bool = True) -> None:
        self._text = bytearray()
        # key -> offset << 64 | length of the user << 32 | length of the name
        self._where: CompactMap | dict[int, int] = CompactMap() if compact else {}

    def put(self, key: int, user: str, name: str) -> None:
        """Keep ``user`` and ``name`` for ``key`` (replacing what it had)."""
        user_bytes = user.encode("utf-8", "surrogatepass")
        name_bytes = name.encode("utf-8", "surrogatepass")
        where = len(self._text) << 64 | len(user_bytes) << 32 | len(name_bytes)
        self._where[key] = where
        self._text += user_bytes
        self._text += name_bytes

    def __getitem__(self, key: int) -> tuple[str, str]:
        where = self._where[key]
        start = where >> 64
        middle = start + (where >> 32 & 0xFFFFFFFF)
        end = middle + (where & 0xFFFFFFFF)
        text = self._text
        return (
            text[start:middle].decode("utf-8", "surrogatepass"),
            text[middle:end].decode("utf-8", "surrogatepass"),
        )

    def __contains__(self, key: int) -> bool:
        return key in self._where

    def __iter__(self) -> Iterator[int]:
        return iter(self._where)
