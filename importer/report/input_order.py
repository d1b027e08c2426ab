"""results.csv in input order: a run's outcomes arrive person by person, the report lists rows
as they were read.

A run reports invalid and duplicate rows while it reads, the others as Graph answers, one
person's rows at a time. At the end, results.csv is rewritten ordered by input table (in the
order the tables were read), then by row number; the lines of one input row (matrix and list
layouts) keep the order they came in. Lines of tables the order does not name, and lines
without a row number (skills sync deleted), come after, in the order they came.

Most lines of a night already come in that order (people with nothing to send are reported as
they are read) and some come late. The file is read twice, as bytes (records are copied, never
re-encoded):

1. Every record gets its key, one integer: (table, row, arrival) in bit fields. A record whose
   key is greater than the last key of the *main* sequence joins it: one flag byte per record
   says so and the key (without its arrival bits, which the second pass counts again) goes
   to an ``array``, about 9 bytes a line. Every other record is a *side* record: the side
   lines are kept with their keys, sorted in runs of ``RUN_RECORDS``, each run written to a
   temporary file beside results.csv. Every key greater than the one before: the file is in
   order and left alone.
2. The file is read again; the main records, already in order, are merged with the sorted
   side records (``heapq.merge`` of the runs) into the new file, which then replaces
   results.csv.

Memory stays bounded for millions of rows: the flags and main keys, plus one run of side
records. A shuffled file makes nearly every record a side record: it is then an external sort
of the whole file, as the second pass only skips what the first kept. A hand-written external
sort rather than a SQLite table: the records are already text, a run is one ``list.sort``,
and the merge reads each run once in order, with no index to build.

The file is read in blocks of lines. Records are split as Python's text reader does with
``newline=""`` (CR, LF and CRLF end a line; a line with an odd number of quotes continues a
quoted cell), and each block must be UTF-8. A block without quotes whose lines are all of the
last table seen, each with a row number, has its row numbers found by one pattern search and
converted at once; other blocks are split record by record.
"""

from __future__ import annotations

import csv
import heapq
import re
import tempfile
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice
from operator import itemgetter, le
from pathlib import Path
from typing import BinaryIO

from importer.report.csv_files import shown

__all__ = ["RUN_RECORDS", "order_results"]

#: Side records sorted in memory at a time (about 60 MB for lines of a typical run).
RUN_RECORDS = 200_000

#: A key is one integer, (table, row, arrival) in bit fields: one comparison instead of three.
_ROW_SHIFT = 42
_TABLE_SHIFT = 84
#: A line without a row number sorts after the rows of its table.
_NO_ROW = (1 << 42) - 1
#: Keys of main records are kept without their arrival bits, in 64 bits.
_MAIN_LIMIT = 1 << (64 + _ROW_SHIFT)

_BOM = b"\xef\xbb\xbf"
_BLOCK_BYTES = 1 << 18
_END = (1 << 200, b"")


def order_results(path: Path, tables: Sequence[tuple[str, str]]) -> bool:
    """Rewrite results.csv in input order; False when it was in that order already.

    Args:
        path: results.csv.
        tables: (source, sheet) of each table read, in the order read.

    Raises:
        OSError: the file cannot be read or rewritten; results.csv is then as it was.
        UnicodeDecodeError: the file is not UTF-8; results.csv is then as it was.
    """
    rank: dict[tuple[str, str], int] = {}
    for source, sheet in tables:
        rank.setdefault((shown(source), shown(sheet)), len(rank))
    with tempfile.TemporaryDirectory(prefix=".order-", dir=path.parent) as scratch:
        with path.open("rb") as src:
            header, blocks = _split_header(_blocks(src))
            if header is None:
                return False
            flags, main, side = _first_pass(blocks, rank, Path(scratch))
        if side is None:
            return False
        temporary = path.with_name(path.name + ".tmp")
        with path.open("rb") as src, temporary.open("wb", buffering=_BLOCK_BYTES) as dst:
            dst.write(_BOM + header)
            _merge(_split_header(_blocks(src))[1], flags, main, side, dst)
    temporary.replace(path)
    return True


def _first_pass(
    blocks: Iterable[tuple[bytes | None, list[bytes]]],
    rank: dict[tuple[str, str], int],
    scratch: Path,
) -> tuple[bytearray, array[int], Iterator[tuple[int, bytes]] | None]:
    """Flags (1: main record), main keys without arrival bits, sorted side records (None: the
    records are in order)."""
    flags = bytearray()
    main: array[int] = array("Q")
    add_flag, add_main = flags.append, main.append
    runs: list[Path] = []
    chunk: list[tuple[int, bytes]] = []
    last, seq = -1, -1  # the last main key, the arrival number of the last record
    ordered = True
    where: tuple[bytes, bytes] | None = None  # the cells of the last table seen
    table = -1  # its rank
    rows_of: re.Pattern[bytes] | None = None  # row numbers of lines of that table
    for data, block in blocks:
        rows = _rows(rows_of, data, len(block))
        if rows is None:
            # Any record: its own table and row number.
            for record in block:
                seq += 1
                if b'"' in record:
                    key = _quoted_key(record, rank, seq)
                else:
                    source, sheet, row, _rest = record.split(b",", 3)
                    if (source, sheet) != where:
                        where = (source, sheet)
                        table = rank.setdefault((source.decode(), sheet.decode()), len(rank))
                        rows_of = _rows_pattern(source, sheet, table)
                    number = int(row) if row.isdigit() else _row_number(row.decode())
                    key = (table << _TABLE_SHIFT) | (number << _ROW_SHIFT) | seq
                if last < key < _MAIN_LIMIT:
                    last = key
                    add_flag(1)
                    add_main(key >> _ROW_SHIFT)
                else:
                    # Out of order; or in order with a key too large for the main keys (a
                    # huge row number), after which no record is main.
                    if key > last:
                        last = key
                    else:
                        ordered = False
                    add_flag(0)
                    chunk.append((key, record))
                    if len(chunk) >= RUN_RECORDS:
                        runs.append(_write_run(chunk, scratch / f"run-{len(runs)}"))
                        chunk = []
            continue
        # Every line of the block is of the last table, with a row number: a key is greater
        # than the last main key when its row is at least the last main row of the table.
        first = seq + 1
        bits = table << _ROW_SHIFT
        floor = max(0, (last >> _ROW_SHIFT) - bits)
        if rows[0] >= floor and all(map(le, rows, islice(rows, 1, None))):
            flags.extend(b"\1" * len(rows))
            main.extend(map(bits.__or__, rows) if bits else rows)
            seq += len(rows)
            last = ((bits | rows[-1]) << _ROW_SHIFT) | seq
            continue
        for record, number in zip(block, rows, strict=True):
            seq += 1
            if number >= floor:
                floor = number
                add_flag(1)
                add_main(bits | number)
            else:
                add_flag(0)
                chunk.append((((bits | number) << _ROW_SHIFT) | seq, record))
                if len(chunk) >= RUN_RECORDS:
                    runs.append(_write_run(chunk, scratch / f"run-{len(runs)}"))
                    chunk = []
        ordered = False  # a row below the one before it
        newest = flags.rfind(1, first)
        if newest >= 0:
            last = (main[-1] << _ROW_SHIFT) | newest
    if ordered:
        return flags, main, None
    chunk.sort()
    side = heapq.merge(*(_read_run(run) for run in runs), chunk) if runs else iter(chunk)
    return flags, main, side


def _rows_pattern(source: bytes, sheet: bytes, table: int) -> re.Pattern[bytes] | None:
    """Finds the row number of each line of a table that starts a line (after a line end)."""
    if table << _ROW_SHIFT | _NO_ROW >= 1 << 64:
        return None
    return re.compile(b"\n" + re.escape(source + b"," + sheet + b",") + rb"(\d+),")


def _rows(pattern: re.Pattern[bytes] | None, data: bytes | None, lines: int) -> list[int] | None:
    """The row numbers of a block's lines, if they are all lines of the pattern's table with
    a row number that fits a main key; else None."""
    if pattern is None or data is None:
        return None
    # A CR alone also ends a line: then fewer lines start after an LF than the block has.
    found = pattern.findall(b"\n" + data)
    if len(found) != lines:
        return None
    rows = list(map(int, found))
    return rows if max(rows) <= _NO_ROW else None


def _merge(
    blocks: Iterable[tuple[bytes | None, list[bytes]]],
    flags: bytearray,
    main: array[int],
    side: Iterator[tuple[int, bytes]],
    dst: BinaryIO,
) -> None:
    """Write the main records, in file order, and the sorted side records between them.

    The main records between two side records of the file are written as one slice; a side
    record that goes among them finds its place by bisection of their keys.
    """
    write, write_lines = dst.write, dst.writelines
    next_key, next_record = next(side)
    seq = index = 0  # the arrival number of the block's first record; its first main key
    for _data, block in blocks:
        size = len(block)
        start = flags.find(1, seq, seq + size) - seq
        while start >= 0:
            # Main records block[start:end]: main keys [index, stop), arrivals seq + start...
            end = flags.find(0, seq + start, seq + size) - seq
            if end < 0:
                end = size
            stop = index + end - start
            done = index
            offset = seq + start - index  # the arrival number of main record m: offset + m
            last_key = (main[stop - 1] << _ROW_SHIFT) | (offset + stop - 1)
            while next_key < last_key:
                # The main records before the next side record. Those of its table and row
                # came before it: a side record came after a main record with a greater key,
                # so after every main record of its row.
                at = bisect_right(main, next_key >> _ROW_SHIFT, done, stop)
                if at > done:
                    write_lines(block[start + done - index : start + at - index])
                    done = at
                # The side records before main record `done`.
                bound = (main[done] << _ROW_SHIFT) | (offset + done)
                while next_key < bound:
                    write(next_record)
                    next_key, next_record = next(side, _END)
            write_lines(block[start + done - index : end])
            index = stop
            start = flags.find(1, seq + end, seq + size) - seq if end < size else -1
        seq += size
    if next_record:
        write(next_record)
        write_lines(map(itemgetter(1), side))


def _quoted_key(record: bytes, rank: dict[tuple[str, str], int], seq: int) -> int:
    source, sheet, row = [*next(csv.reader([record.decode()]), []), "", "", ""][:3]
    table = rank.setdefault((source, sheet), len(rank))
    return (table << _TABLE_SHIFT) | (_row_number(row) << _ROW_SHIFT) | seq


def _row_number(row: str) -> int:
    return int(row) if row.isdigit() else _NO_ROW


def _split_header(
    blocks: Iterator[tuple[bytes | None, list[bytes]]],
) -> tuple[bytes | None, Iterator[tuple[bytes | None, list[bytes]]]]:
    first = next(blocks, None)
    if first is None:
        return None, blocks
    return first[1][0], chain([(None, first[1][1:])], blocks)


def _blocks(src: BinaryIO) -> Iterator[tuple[bytes | None, list[bytes]]]:
    """The raw records of a report CSV, a block at a time, line ends included (a record may
    span lines), with the block's bytes when its records are its lines (no quotes); a leading
    BOM is dropped. Never an empty list.

    Raises:
        UnicodeDecodeError: a block is not UTF-8.
    """
    rest = b""  # what follows the last line end read
    partial = b""  # a record still open in a quoted cell
    block = src.read(_BLOCK_BYTES).removeprefix(_BOM)
    while True:
        if block:
            end = block.rfind(b"\n") + 1
            if not end:
                rest += block
                block = src.read(_BLOCK_BYTES)
                continue
            data, rest = rest + block[:end], block[end:]
        else:
            data, rest = rest, b""
        if not data.isascii():
            data.decode()
        lines = data.splitlines(keepends=True)
        plain: bytes | None = data
        if partial or b'"' in data:
            plain = None
            records: list[bytes] = []
            for line in lines:
                if partial:
                    partial += line
                    if partial.count(b'"') % 2 == 0:  # RFC 4180 doubles quotes in cells
                        records.append(partial)
                        partial = b""
                elif line.count(b'"') % 2:
                    partial = line
                else:
                    records.append(line)
        else:
            records = lines
        if not block:
            if partial:
                records.append(partial)
            if records:
                yield plain, records
            return
        if records:
            yield plain, records
        block = src.read(_BLOCK_BYTES)


def _write_run(chunk: list[tuple[int, bytes]], path: Path) -> Path:
    """One sorted run: each record preceded by a line with its key and its length."""
    chunk.sort()
    with path.open("wb", buffering=_BLOCK_BYTES) as run:
        write = run.write
        for key, record in chunk:
            write(b"%d %d\n%b" % (key, len(record), record))
    return path


def _read_run(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb", buffering=_BLOCK_BYTES) as run:
        while header := run.readline():
            key, size = header.split()
            yield int(key), run.read(int(size))
