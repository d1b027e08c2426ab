"""results.csv lists a run's rows in input order, however the outcomes arrived."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

import importer.report.input_order
from importer.pipeline import run_import
from importer.report.csv_files import RESULT_COLUMNS, csv_line, open_csv
from importer.report.input_order import order_results
from importer.sandbox import RunningSandbox
from tests.conftest import BOB_UPN, ONEIL_UPN, ZOE_UPN
from tests.importing import import_file, results, settings_for, write_csv


async def test_a_run_lists_its_rows_as_read_though_they_are_written_person_by_person(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    people = (BOB_UPN, ZOE_UPN, ONEIL_UPN, "nobody@contoso.com")
    rows = [(people[n % 4], f"Skill {n:02d}", "expert", "") for n in range(24)]
    rows[5] = (BOB_UPN, "Skill 05", "Guru", "")  # invalid: reported while reading
    rows[9] = rows[1]  # a duplicate
    path = write_csv(tmp_path / "skills.csv", rows)

    result = await import_file(running_sandbox, tmp_path, path, rows_per_chunk=4)

    lines = results(result)
    assert [line["row"] for line in lines] == [str(n) for n in range(2, 26)]
    actions = {line["row"]: line["action"] for line in lines}
    assert (actions["7"], actions["11"], actions["5"]) == ("invalid", "duplicate", "failed")
    assert actions["2"] == "created"


async def test_two_files_are_listed_in_the_order_they_were_given(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    second = write_csv(tmp_path / "b.csv", [(ZOE_UPN, "Go", "expert", ""), ("x", "C", "", "")])
    first = write_csv(tmp_path / "z.csv", [(BOB_UPN, "Rust", "expert", "")])
    result = await run_import([first, second], settings_for(running_sandbox, tmp_path))
    assert [(Path(line["source"]).name, line["row"]) for line in results(result)] == [
        ("z.csv", "2"),
        ("b.csv", "2"),
        ("b.csv", "3"),
    ]


def _write(path: Path, records: list[tuple[str, ...]]) -> None:
    with open_csv(path, "w") as handle:
        handle.write(csv_line(RESULT_COLUMNS) + "\r\n")
        for record in records:
            cells = list(record) + [""] * (len(RESULT_COLUMNS) - len(record))
            handle.write(csv_line(cells) + "\r\n")


def _read(path: Path) -> list[list[str]]:
    with open_csv(path) as handle:
        return list(csv.reader(handle))[1:]


def test_a_large_report_is_sorted_in_runs_on_disk_and_merged_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer.report.input_order, "RUN_RECORDS", 7)
    tables = [("a.xlsx", "People"), ("a.xlsx", "Teams"), ("=b.csv", "")]
    arrived: list[tuple[str, ...]] = []
    for n in reversed(range(2, 40)):  # every table, rows arriving last first
        for source, sheet in tables:
            arrived.append((source if source[0] != "=" else "'" + source, sheet, str(n)))
    arrived.insert(10, ("a.xlsx", "Teams", "7", "", "u", "", 'a "quoted"\nname'))
    arrived.append(("", "", "", "", "u", "", "deleted by sync"))
    path = tmp_path / "results.csv"
    _write(path, arrived)

    assert order_results(path, tables) is True

    got = [(cells[0], cells[1], cells[2], cells[6]) for cells in _read(path)]
    want = [
        (source if source[0] != "=" else "'" + source, sheet, str(n), "")
        for source, sheet in tables
        for n in range(2, 40)
    ]
    want.insert(
        want.index(("a.xlsx", "Teams", "7", "")), ("a.xlsx", "Teams", "7", 'a "quoted"\nname')
    )
    want.append(("", "", "", "deleted by sync"))
    assert got == want
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]  # no run file left
    assert order_results(path, tables) is False  # in order now: left alone


def _expected(arrived: list[tuple[str, ...]], tables: list[tuple[str, str]]) -> list[str]:
    """The users (one per line) in input order, by a plain sort of (table, row, arrival)."""
    rank = {table: n for n, table in enumerate(tables)}
    for source, sheet, *_ in arrived:
        rank.setdefault((source, sheet), len(rank))
    order = sorted(
        range(len(arrived)),
        key=lambda n: (
            rank[arrived[n][0], arrived[n][1]],
            int(arrived[n][2]) if arrived[n][2] else float("inf"),
            n,
        ),
    )
    return [arrived[n][4] for n in order]


def _mostly_ordered(count: int, late_every: int = 7) -> list[tuple[str, ...]]:
    """Lines of two tables in order, every ``late_every``-th group of 5 arriving some 30 lines
    late (so some rows have a line in order and one late); each line's user is unique."""
    per_row = [1 + (n % 3 == 0) for n in range(count // 2)]  # one line, or two (list layout)
    lines = [("a.xlsx", "People", str(n)) for n in range(2, count // 2) for _ in range(per_row[n])]
    lines += [("b.csv", "", str(n)) for n in range(2, count // 2) for _ in range(per_row[n])]
    groups = [lines[n : n + 5] for n in range(0, len(lines), 5)]
    arrived: list[tuple[str, ...]] = []
    waiting: list[tuple[int, list[tuple[str, str, str]]]] = []
    for n, group in enumerate(groups):
        if n % late_every == late_every // 2:
            waiting.append((len(arrived) + 30, group))
        else:
            arrived += group
        while waiting and waiting[0][0] <= len(arrived):
            arrived += waiting.pop(0)[1]
    for _, group in waiting:
        arrived += group
    return [(*line, "", f"u{n}") for n, line in enumerate(arrived)]


@pytest.fixture(params=["one block", "small blocks"])
def blocks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read the file in one block, or in blocks of a few lines (most of them lines of one
    table with row numbers, read without splitting each line)."""
    if request.param == "small blocks":
        monkeypatch.setattr(importer.report.input_order, "_BLOCK_BYTES", 300)


@pytest.mark.usefixtures("blocks")
def test_a_mostly_ordered_report_with_late_lines_is_put_in_order(tmp_path: Path) -> None:
    tables = [("a.xlsx", "People"), ("b.csv", "")]
    arrived = _mostly_ordered(400)
    path = tmp_path / "results.csv"
    _write(path, arrived)

    assert order_results(path, tables) is True

    assert [cells[4] for cells in _read(path)] == _expected(arrived, tables)
    assert order_results(path, tables) is False


@pytest.mark.usefixtures("blocks")
def test_late_lines_beyond_one_run_are_sorted_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer.report.input_order, "RUN_RECORDS", 5)
    tables = [("a.xlsx", "People"), ("b.csv", "")]
    arrived = _mostly_ordered(300, late_every=2)  # some 75 late lines: 15 runs
    path = tmp_path / "results.csv"
    _write(path, arrived)

    assert order_results(path, tables) is True

    assert [cells[4] for cells in _read(path)] == _expected(arrived, tables)
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]


@pytest.mark.usefixtures("blocks")
def test_late_lines_without_row_of_unknown_tables_and_quoted_go_in_their_place(
    tmp_path: Path,
) -> None:
    tables = [("a.xlsx", "People"), ("b.csv", "")]
    arrived = _mostly_ordered(200)
    extra: list[tuple[str, ...]] = [
        ("a.xlsx", "People", "", "", "deleted"),  # no row: after the table's rows
        ("zz.csv", "", "3", "", "unknown 3"),  # tables not named: after, as they came
        ("b.csv", "", "9", "", 'a "quoted",\r\nname'),  # among b.csv's late lines
        ("c.csv", "", "2", "", "unknown 2"),
        ("zz.csv", "", "2", "", "unknown 2 of zz"),
        ("a.xlsx", "People", "50", "", "second line\nof row 50"),
        ("b.csv", "", "", "", "deleted too"),
        ("a.xlsx", "People", "1", "", "first, late"),
    ]
    for n, line in enumerate(extra):
        arrived.insert(len(arrived) * (n + 1) // (len(extra) + 1) + 3, line)
    arrived += [("b.csv", "", "3", "", "last of row 3"), ("a.xlsx", "People", "", "", "gone")]
    arrived.insert(0, ("", "", "", "", "deleted, no table"))  # a table without cells, first
    path = tmp_path / "results.csv"
    _write(path, arrived)

    assert order_results(path, tables) is True

    got = [cells[4] for cells in _read(path)]
    assert got == _expected(arrived, tables)
    # Tables not named come after the others, in the order they came, each by row.
    assert got[-4:] == ["deleted, no table", "unknown 2 of zz", "unknown 3", "unknown 2"]
    assert order_results(path, tables) is False


@pytest.mark.usefixtures("blocks")
def test_a_shuffled_report_is_put_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer.report.input_order, "RUN_RECORDS", 50)
    tables = [("a.xlsx", "People"), ("b.csv", "")]
    arrived = _mostly_ordered(400)
    random.Random(7).shuffle(arrived)
    arrived.insert(100, ("b.csv", "", "17", "", "with\r\n\r\nblank lines"))
    path = tmp_path / "results.csv"
    _write(path, arrived)

    assert order_results(path, tables) is True

    assert [cells[4] for cells in _read(path)] == _expected(arrived, tables)
