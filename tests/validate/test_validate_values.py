"""``validate`` shows each valid row's normalised values, so an admin can review them first."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from importer.config import load_settings
from importer.pipeline import validate_files
from tests.data.inputs import write_text
from tests.importing import write_csv

ROOT = Path(__file__).resolve().parents[2]
HEADER = ("user", "skill", "level", "category", "tags", "visibility", "link")
VALUE_COLUMNS = ("proficiency", "categories", "collaborationTags", "allowedAudiences", "webUrl")


def _lines(folder: Path) -> list[dict[str, str]]:
    with (folder / "results.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _values(line: dict[str, str]) -> tuple[str, ...]:
    return tuple(line[column] for column in VALUE_COLUMNS)


def test_valid_rows_show_their_normalised_values(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "in.csv",
        [
            ("ann@contoso.com", "Python", "4", "Data; Cloud", "mentor", "", ""),
            ("ann@contoso.com", "SQL", "Expert", "", "", "Everyone", "https://wiki/sql"),
            ("bob@contoso.com", "Go", "", "A, B", "ask me about", "", ""),
            ("bob@contoso.com", "Rust", "Guru", "", "", "", ""),
        ],
        header=HEADER,
    )
    config = tmp_path / "config.yaml"
    config.write_text(f"report:\n  dir: {tmp_path / 'reports'}\n", encoding="utf-8")

    result = validate_files([path], load_settings(config, environ={}))

    lines = _lines(result.report_dir)
    assert [line["action"] for line in lines] == ["valid", "valid", "valid", "invalid"]
    assert _values(lines[0]) == (
        "advancedProfessional",
        "Data; Cloud",
        "ableToMentor",
        "organization",  # defaults.allowedAudiences
        "",
    )
    assert _values(lines[1]) == ("expert", "", "", "everyone", "https://wiki/sql")
    assert _values(lines[2]) == ("", "A, B", "askMeAbout", "organization", "")
    assert _values(lines[3]) == ("", "", "", "", "")  # an invalid row asks for nothing


def test_a_category_that_looks_like_a_formula_is_neutralised_in_the_value_column(
    tmp_path: Path,
) -> None:
    path = write_text(tmp_path / "in.csv", "user,skill,category\nann@contoso.com,Python,=1+1\n")
    config = tmp_path / "config.yaml"
    config.write_text(f"report:\n  dir: {tmp_path / 'reports'}\n", encoding="utf-8")

    result = validate_files([path], load_settings(config, environ={}))

    [line] = _lines(result.report_dir)
    assert line["action"] == "valid"
    assert line["categories"] == "'=1+1"


# Validates in two processes (the million-row path) in a fresh interpreter, which forks.
SCRIPT = r"""
import logging, sys
from pathlib import Path
import importer.pipeline.parallel_validate as parallel
from importer.config import load_settings
from importer.pipeline import validate_files

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
parallel.MIN_PARALLEL_BYTES = 0
settings = load_settings(Path(sys.argv[2]), {"report": {"dir": sys.argv[3]}}, environ={})
print(validate_files([Path(sys.argv[1])], settings).report_dir)
"""


def test_two_processes_show_the_values_of_both_halves(tmp_path: Path) -> None:
    levels = ("1", "2", "3", "4", "5")
    rows = [
        (f"user{n:04d}@contoso.com", f"Skill {n % 7}", levels[n % 5], f"Cat {n % 3}", "", "", "")
        for n in range(2000)
    ]
    rows[1500] = ("user1500@contoso.com", "Skill 2", "5", "x, y", "mentor", "everyone", "")
    path = write_csv(tmp_path / "big.csv", rows, header=HEADER)
    config = tmp_path / "config.yaml"
    config.write_text("", encoding="utf-8")

    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path), str(config), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert "in two processes" in done.stderr
    lines = _lines(Path(done.stdout.strip()))
    assert len(lines) == 2000
    names = (
        "elementary",
        "limitedWorking",
        "generalProfessional",
        "advancedProfessional",
        "expert",
    )
    for n in (0, 999, 1000, 1999):
        assert _values(lines[n]) == (names[n % 5], f"Cat {n % 3}", "", "organization", "")
    assert _values(lines[1500]) == ("expert", "x, y", "ableToMentor", "everyone", "")
    assert json.dumps(lines[1500]).count("valid") == 1


def test_a_duplicate_row_shows_the_level_it_drops_and_which_one_is_kept(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "in.csv",
        [
            ("ann@contoso.com", "Python", "4", "", "", "", ""),
            ("ann@contoso.com", "python", "2", "Data", "", "", ""),
            ("ann@contoso.com", "Python ", "4", "", "", "", ""),
        ],
        header=HEADER,
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        f"input:\n  duplicates: first\nreport:\n  dir: {tmp_path / 'reports'}\n", encoding="utf-8"
    )

    result = validate_files([path], load_settings(config, environ={}))

    kept, dropped, same = _lines(result.report_dir)
    assert kept["action"] == "valid"
    assert (dropped["action"], same["action"]) == ("duplicate", "duplicate")
    assert _values(dropped) == ("limitedWorking", "Data", "", "organization", "")
    assert dropped["error"] == (
        "conflicts with row 2, which is kept (input.duplicates: first): its level "
        "limitedWorking is dropped in favour of advancedProfessional"
    )
    assert same["error"] == "same as row 2"
    assert same["proficiency"] == "advancedProfessional"
