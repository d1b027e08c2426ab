"""results.csv lists a run's rows in input order, however the outcomes arrived."""

from __future__ import annotations

import csv
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
