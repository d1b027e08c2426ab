"""One typo must not block a night: a stray level beyond the scale is that row's error only.

A column (or a matrix sheet) whose numbers look like another scale is still refused whole.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from importer.config import Settings, load_settings
from importer.errors import ConfigError, InputError
from importer.records import RowOutcome, SkillRow
from importer.validate import Validator
from tests.conftest import invoke_cli
from tests.data.inputs import read_rows, write_text
from tests.importing import write_csv

ROOT = Path(__file__).resolve().parents[2]


def _settings(tmp_path: Path, values: dict[str, Any] | None = None) -> Settings:
    config = tmp_path / "config.yaml"
    config.write_text("", encoding="utf-8")
    return load_settings(config, {"values": values} if values else {}, environ={})


def _levels(count: int, typos: dict[int, str]) -> str:
    lines = [
        f"user{n % 30}@contoso.com,Skill {n},{typos.get(n, str(n % 5 + 1))}" for n in range(count)
    ]
    return "user,skill,level\n" + "\n".join(lines) + "\n"


def _check(tmp_path: Path, text: str) -> tuple[list[Any], InputError | None]:
    settings = _settings(tmp_path)
    _, rows = read_rows(write_text(tmp_path / "in.csv", text), settings=settings)
    validator = Validator(settings)
    checked = list(validator.feed(rows))
    return checked, validator.scale_error()


def test_a_lone_9_among_300_levels_is_that_rows_error_naming_the_value_and_the_scale(
    tmp_path: Path,
) -> None:
    checked, error = _check(tmp_path, _levels(300, {150: "9"}))

    assert error is None
    [invalid] = [item for item in checked if isinstance(item, RowOutcome)]
    assert invalid.row == 152  # the header is row 1
    assert invalid.error_type == "out-of-scale"
    assert "'9' is beyond the numeric scale configured (1-5)" in invalid.error
    assert sum(isinstance(item, SkillRow) for item in checked) == 299


def test_more_than_a_few_cells_beyond_the_scale_refuse_the_source_whatever_its_size(
    tmp_path: Path,
) -> None:
    # 4 cells of 2,000 (0.2%): more than a few, so another scale, not typos.
    _, error = _check(tmp_path, _levels(2000, {10: "7", 500: "8", 900: "10", 1500: "6"}))

    assert error is not None
    assert "column 'level' holds 6, 7, 8, 10 (first on row 12), 4 of 2,000 levels" in str(error)


def test_more_than_one_percent_of_the_levels_beyond_the_scale_refuse_the_source(
    tmp_path: Path,
) -> None:
    # One cell of 50 is 2%: a short file gives nothing to compare a stray number with.
    _, error = _check(tmp_path, _levels(50, {7: "9"}))

    assert error is not None
    assert "1 of 50 levels" in str(error)


def test_three_typos_among_300_levels_stay_three_invalid_rows(tmp_path: Path) -> None:
    checked, error = _check(tmp_path, _levels(300, {3: "9", 100: "0", 200: "55"}))

    assert error is None
    assert [i.error_type for i in checked if isinstance(i, RowOutcome)] == ["out-of-scale"] * 3


def test_overlapping_level_ranges_are_a_config_error_naming_the_overlap(tmp_path: Path) -> None:
    values = {"proficiency": {"1-5": "elementary", "4-10": "expert"}}

    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, values)

    message = str(caught.value)
    assert "values.proficiency" in message
    assert '"1-5" (elementary) and "4-10" (expert) share 4-5' in message


def test_a_number_inside_a_range_with_another_level_is_an_overlap(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r'"3" \(expert\) and "1-5" \(elementary\) share 3'):
        _settings(tmp_path, {"proficiency": {"3": "expert", "1-5": "elementary"}})


def test_ranges_that_meet_or_agree_are_accepted(tmp_path: Path) -> None:
    values = {"proficiency": {"1-3": "elementary", "4-10": "expert", "3": "Elementary"}}

    assert _settings(tmp_path, values).values.proficiency["4-10"] == "expert"


# Validates in two processes (a fresh interpreter: forking needs a process without threads)
# and prints the exit code, or the input error.
SCRIPT = r"""
import json, logging, sys
from pathlib import Path
import importer.pipeline.parallel_validate as parallel
from importer.config import load_settings
from importer.errors import InputError
from importer.pipeline import validate_files

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
parallel.MIN_PARALLEL_BYTES = 0
settings = load_settings(Path(sys.argv[2]), {"report": {"dir": sys.argv[3]}}, environ={})
try:
    result = validate_files([Path(sys.argv[1])], settings)
    print(json.dumps({"exit": result.exit_code, "counts": result.counts}))
except InputError as exc:
    print(json.dumps({"error": str(exc)}))
"""


def _validate_in_two_processes(tmp_path: Path, typos: dict[int, str]) -> dict[str, Any]:
    rows = [[f"user{n % 30}@contoso.com", f"Skill {n}", typos.get(n, "3")] for n in range(1000)]
    source = write_csv(tmp_path / "big.csv", rows, header=("user", "skill", "level"))
    config = tmp_path / "config.yaml"
    config.write_text("", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(source), str(config), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "split at line" in done.stderr  # the split really happened
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_two_processes_add_up_the_cells_beyond_the_scale_of_both_halves(tmp_path: Path) -> None:
    # Two cells in each half: a few typos for each process alone, another scale together.
    answer = _validate_in_two_processes(tmp_path, {5: "8", 6: "9", 900: "7", 950: "10"})

    assert "error" in answer
    assert "column 'level' holds 7, 8, 9, 10 (first on row 7), 4 of 1,000 levels" in answer["error"]


def test_two_processes_leave_a_lone_typo_to_its_row(tmp_path: Path) -> None:
    answer = _validate_in_two_processes(tmp_path, {900: "9"})

    assert answer == {"exit": 1, "counts": {**answer["counts"], "valid": 999, "invalid": 1}}


def test_the_cli_refuses_overlapping_ranges_with_exit_2_before_reading(
    config: Path, tmp_path: Path
) -> None:
    config.write_text(
        config.read_text(encoding="utf-8")
        + 'values:\n  proficiency: {"1-5": elementary, "4-10": expert}\n',
        encoding="utf-8",
    )
    source = write_text(tmp_path / "in.csv", "user,skill,level\nann@contoso.com,Python,4\n")

    code, _, err = invoke_cli("validate", "-c", str(config), str(source))

    assert code == 2
    assert '"1-5" (elementary) and "4-10" (expert) share 4-5' in err
    assert not (tmp_path / "reports").exists()
