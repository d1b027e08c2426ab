"""Validating a large CSV in two processes writes exactly the files one process writes."""

from __future__ import annotations

import csv
import json
import random
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.importing import write_csv

ROOT = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: forking is only used in a process without threads. Validates
# the file twice, in one process and in two, and prints both report folders.
SCRIPT = r"""
import json, logging, sys
from pathlib import Path
import importer.pipeline.parallel_validate as parallel
from importer.config import load_settings
from importer.pipeline import validate_files

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
source, config, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
source = source if source.startswith("sqlite:") else Path(source)

def run(min_bytes, name):
    parallel.MIN_PARALLEL_BYTES = parallel.MIN_PARALLEL_ROWS = min_bytes
    settings = load_settings(config, {"report": {"dir": str(out / name)}}, environ={})
    return str(validate_files([source], settings).report_dir)

print(json.dumps({"serial": run(1 << 60, "serial"), "parallel": run(0, "parallel")}))
"""

# Keys whose rows lie on both sides of the split (F = the first half, S = the second), with
# the same level (x) or another one (y): every way a repeat can turn out in one pass.
FIRST_HALF = [
    ["a@contoso.com", "Same everywhere", "expert", "Work"],  # F: x x | S: x x
    ["a@contoso.com", "Same everywhere", "expert", "Work"],
    ["b@contoso.com", "Changes later", "expert", "Work"],  # F: x | S: y y
    ["c@contoso.com", "Changes midway", "expert", "Work"],  # F: x x | S: x y x
    ["c@contoso.com", "Changes midway", "expert", "Work"],
    ["d@contoso.com", "Changed early", "expert", "Work"],  # F: x y | S: x
    ["d@contoso.com", "Changed early", "elementary", "Work"],
]
SECOND_HALF = [
    ["a@contoso.com", "Same everywhere", "expert", "Work"],
    ["a@contoso.com", "Same everywhere", "expert", "Work"],
    ["b@contoso.com", "Changes later", "elementary", "Work"],
    ["b@contoso.com", "Changes later", "elementary", "Work"],
    ["c@contoso.com", "Changes midway", "expert", "Work"],
    ["c@contoso.com", "Changes midway", "elementary", "Work"],
    ["c@contoso.com", "Changes midway", "expert", "Work"],
    ["d@contoso.com", "Changed early", "expert", "Work"],
    ["e@contoso.com", "Second half only", "expert", "Work"],  # S: x x y
    ["e@contoso.com", "Second half only", "expert", "Work"],
    ["e@contoso.com", "Second half only", "elementary", "Work"],
    ["f@contoso.com", "Guru", "Guru", "Work"],  # invalid level
    ["", "", "", ""],  # blank
    ["g@contoso.com", 'A "quoted",\nmulti-line name', "expert", "Work"],  # invalid name
]


def _validate_both_ways(
    tmp_path: Path,
    rows: list[list[str]],
    formats: str,
    config_text: str = "",
    source: str | None = None,
) -> dict[str, Path]:
    if source is None:
        header = ("user", "skill", "level", "category")
        source = str(write_csv(tmp_path / "big.csv", rows, header=header))
    config = tmp_path / "config.yaml"
    config.write_text(f"report:\n  formats: [{formats}]\n{config_text}", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, source, str(config), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "in two processes" in done.stderr  # the split really happened
    return {name: Path(folder) for name, folder in json.loads(done.stdout).items()}


def _lines(folder: Path) -> list[dict[str, str]]:
    with (folder / "results.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _assert_same_files(folders: dict[str, Path]) -> None:
    serial, parallel = folders["serial"], folders["parallel"]
    for name in ("results.csv", "rejects.csv"):
        assert (parallel / name).read_bytes() == (serial / name).read_bytes(), name
    assert _summary(parallel) == _summary(serial)


def _summary(folder: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    for key in ("run_id", "started", "finished", "duration_s"):
        document.pop(key, None)
    return document


def _results_sheet(folder: Path) -> list[tuple[Any, ...]]:
    workbook = openpyxl.load_workbook(folder / "results.xlsx", read_only=True)
    try:
        return list(workbook["Results"].iter_rows(values_only=True))
    finally:
        workbook.close()


def test_two_processes_write_the_same_files_as_one_with_repeats_across_the_split(
    tmp_path: Path,
) -> None:
    middle = [
        [f"user{n % 40:02d}@contoso.com", f"Skill {n // 40}", "expert", "Work"] for n in range(400)
    ]
    rows = FIRST_HALF + middle + SECOND_HALF

    folders = _validate_both_ways(tmp_path, rows, "csv, json")

    _assert_same_files(folders)
    lines = _lines(folders["serial"])
    assert len(lines) == len(rows) - 1  # every row but the blank one
    assert {"valid", "duplicate", "invalid"} <= {line["action"] for line in lines}
    assert sum(line["errorType"] == "conflicting-duplicate" for line in lines) == 14


def test_two_processes_show_the_second_half_rows_needing_attention_in_results_xlsx(
    tmp_path: Path,
) -> None:
    # More rows than results.xlsx lists in full: it then lists only the rows that need
    # attention, and those of the second half were counted but not shown.
    rows = [[f"user{n:05d}@contoso.com", "Python", "expert", "Work"] for n in range(20_200)]
    rows[10] = ["first@contoso.com", "Python", "Guru", "Work"]
    rows[-10] = ["second@contoso.com", "Python", "Guru", "Work"]

    folders = _validate_both_ways(tmp_path, rows, "csv, xlsx")

    serial, parallel = _results_sheet(folders["serial"]), _results_sheet(folders["parallel"])
    assert parallel == serial
    assert [row[4] for row in serial[1:]] == ["first@contoso.com", "second@contoso.com"]


def test_a_skills_map_gives_the_same_report_in_two_processes(tmp_path: Path) -> None:
    rows = [
        [f"user{n % 40:02d}@contoso.com", f"Skill {n // 40}", "expert", "Work"] for n in range(400)
    ]
    rows += SECOND_HALF
    skills_map = tmp_path / "map.csv"
    skills_map.write_text("from,to\nskill 0,Skill Zero\nSKILL 9,\nNever Seen,X\n", "utf-8")

    folders = _validate_both_ways(
        tmp_path, rows, "csv, json", f"input:\n  skills_map: {skills_map}\n"
    )

    _assert_same_files(folders)
    warnings = _summary(folders["serial"])["warnings"]
    assert [w for w in warnings if "'Never Seen'" in w]
    assert not [w for w in warnings if "'skill 0'" in w or "'SKILL 9'" in w]
    lines = _lines(folders["serial"])
    names = {line["displayName"] for line in lines if line["action"] in ("valid", "duplicate")}
    assert "Skill Zero" in names
    assert "Skill 0" not in names
    assert sum(line["action"] == "skipped" for line in lines) == 40  # mapped out, not invalid


def test_a_sqlite_query_in_two_processes_writes_the_same_files_as_one(tmp_path: Path) -> None:
    middle = [
        [f"user{n % 40:02d}@contoso.com", f"Skill {n // 40}", "expert", "Work"] for n in range(400)
    ]
    rows = FIRST_HALF + middle + SECOND_HALF
    database = tmp_path / "legacy.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE ratings (email TEXT, skill TEXT, lvl TEXT, cat TEXT)")
        connection.executemany(
            "INSERT INTO ratings VALUES (?, ?, ?, ?)", [[c or None for c in row] for row in rows]
        )
    connection.close()
    query = "SELECT email AS user, skill, lvl AS level, cat AS category FROM ratings"

    folders = _validate_both_ways(
        tmp_path, rows, "csv, json", f'input:\n  query: "{query}"\n', f"sqlite:///{database}"
    )

    _assert_same_files(folders)
    lines = _lines(folders["serial"])
    assert len(lines) == len(rows) - 1  # every row but the blank one
    assert sum(line["errorType"] == "conflicting-duplicate" for line in lines) == 14
    assert _summary(folders["serial"])["blank_rows"] == 1


@pytest.mark.parametrize("policy", ["first", "last", "highest"])
def test_every_duplicates_policy_gives_the_same_files_in_two_processes(
    tmp_path: Path, policy: str
) -> None:
    middle = [
        [f"user{n % 40:02d}@contoso.com", f"Skill {n // 40}", "expert", "Work"] for n in range(400)
    ]
    # Besides, 30 keys repeated all over both parts with random levels: every way a kept row
    # can change hands across the split.
    rng = random.Random(policy)
    levels = ("elementary", "expert", "3", "", "advancedProfessional")
    middle += [
        [f"k{rng.randrange(10)}@contoso.com", f"Key {rng.randrange(3)}", rng.choice(levels), "W"]
        for _ in range(300)
    ]
    rng.shuffle(middle)
    # A later level that beats the earlier one across the split, for highest and last.
    first = [*FIRST_HALF, ["h@contoso.com", "Climbs", "elementary", "Work"]]
    second = [*SECOND_HALF, ["h@contoso.com", "Climbs", "expert", "Work"]]
    rows = first + middle + second

    folders = _validate_both_ways(tmp_path, rows, "csv, json", f"input:\n  duplicates: {policy}\n")

    _assert_same_files(folders)
    lines = _lines(folders["serial"])
    climbs = {line["action"]: int(line["row"]) for line in lines if line["displayName"] == "Climbs"}
    if policy == "first":
        assert climbs["valid"] < climbs["duplicate"]
    else:  # the later row, with the higher level, is kept across the split
        assert climbs["valid"] > climbs["duplicate"]
    assert not [line for line in lines if line["errorType"] == "conflicting-duplicate"]
