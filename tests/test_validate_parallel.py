"""Validating a large CSV in two processes gives exactly what one process gives."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from tests.importing import write_csv

ROOT = Path(__file__).resolve().parent.parent

# Runs in a fresh interpreter: forking is only used in a process without threads.
SCRIPT = r"""
import csv, json, logging, sys
from collections import Counter
from pathlib import Path
import importer.pipeline.parallel_validate as parallel
from importer.config import load_settings
from importer.pipeline import validate_files

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
source, out = Path(sys.argv[1]), Path(sys.argv[2])
extra = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}

def run(min_bytes, name):
    parallel.MIN_PARALLEL_BYTES = min_bytes
    settings = load_settings(None, {"report": {"dir": str(out / name)}, **extra}, environ={})
    result = validate_files([source], settings)
    with (result.report_dir / "results.csv").open(encoding="utf-8-sig", newline="") as f:
        lines = [(r["row"], r["user"], r["displayName"], r["action"], r["errorType"])
                 for r in csv.DictReader(f)]
    with (result.report_dir / "rejects.csv").open(encoding="utf-8-sig", newline="") as f:
        rejects = sorted(map(tuple, csv.reader(f)))
    return {"lines": lines, "rejects": [r[:-1] for r in rejects], "counts": result.counts,
            "rows": [i.rows for i in result.summary.inputs],
            "blank": result.summary.blank_rows, "exit": result.exit_code,
            "warnings": result.warnings}

print(json.dumps({"serial": run(1 << 60, "serial"), "parallel": run(0, "parallel")}))
"""


def _rows() -> list[list[str]]:
    rows: list[list[str]] = []
    for n in range(400):
        user = f"user{n % 40:02d}@contoso.com"
        rows.append([user, f"Skill {n // 40}", "expert", "Work"])
    # Keys that come back in the second half: identical repeats and conflicting ones.
    rows.append(["user01@contoso.com", "Skill 0", "expert", "Work"])  # identical
    rows.append(["user02@contoso.com", "Skill 0", "elementary", "Work"])  # conflicting
    rows.append(["user03@contoso.com", "Skill 9", "Guru", "Work"])  # invalid level
    rows.append(["", "", "", ""])  # blank
    rows.append(["user04@contoso.com", 'A "quoted",\nmulti-line name', "expert", "Work"])
    rows.append(["user05@contoso.com", "Skill 1", "expert", "Work"])  # identical, late
    rows.append(["user06@contoso.com", "Skill 2", "3", "Work"])  # conflicting, late
    return rows


def test_two_processes_report_every_row_exactly_as_one_process_does(tmp_path: Path) -> None:
    rows = _rows()
    # The same conflicts in the first half too, so keys conflict across the split both ways.
    rows = [*rows[:200], ["user07@contoso.com", "Skill 1", "limitedWorking", "Work"], *rows[200:]]
    path = write_csv(tmp_path / "big.csv", rows, header=("user", "skill", "level", "category"))

    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "in two processes" in done.stderr  # the split really happened
    both = json.loads(done.stdout)
    serial, parallel = both["serial"], both["parallel"]
    assert parallel["lines"] == serial["lines"]
    assert parallel["rejects"] == serial["rejects"]
    assert parallel["counts"] == serial["counts"]
    assert parallel["rows"] == serial["rows"] == [len(rows) - 1]
    assert parallel["blank"] == serial["blank"] == 1
    actions = {line[3] for line in serial["lines"]}
    assert {"valid", "duplicate", "invalid"} <= actions
    with path.open(encoding="utf-8", newline="") as handle:
        assert sum(1 for _ in csv.reader(handle)) == len(rows) + 1


def test_a_skills_map_gives_the_same_report_in_two_processes(tmp_path: Path) -> None:
    rows = _rows()
    path = write_csv(tmp_path / "big.csv", rows, header=("user", "skill", "level", "category"))
    skills_map = tmp_path / "map.csv"
    skills_map.write_text("from,to\nskill 0,Skill Zero\nSKILL 9,\nNever Seen,X\n", "utf-8")
    extra = json.dumps({"input": {"skills_map": str(skills_map)}})

    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path), str(tmp_path / "out"), extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "in two processes" in done.stderr
    both = json.loads(done.stdout)
    serial, parallel = both["serial"], both["parallel"]
    assert parallel["lines"] == serial["lines"]
    assert parallel["counts"] == serial["counts"]
    assert parallel["warnings"] == serial["warnings"]
    assert [w for w in serial["warnings"] if "'Never Seen'" in w]
    assert not [w for w in serial["warnings"] if "'skill 0'" in w or "'SKILL 9'" in w]
    names = {line[2] for line in serial["lines"] if line[3] in ("valid", "duplicate")}
    assert "Skill Zero" in names
    assert "Skill 0" not in names
    assert serial["counts"]["skipped"] == 41  # with the "Guru" row: left out, not invalid
