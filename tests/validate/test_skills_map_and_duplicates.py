"""The skills map and ``input.duplicates``: names merged first, then one row kept per skill."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from importer.cli import cli
from importer.config import Settings, load_settings
from importer.errors import ConfigError
from importer.pipeline import validate_files
from importer.records import Action, RowOutcome, SkillRow, SourceRow, Table
from importer.validate import Validator
from importer.validate.schema import PROFICIENCY_LEVELS
from tests.importing import write_csv

ROOT = Path(__file__).resolve().parents[2]
ANN = "ann@contoso.com"
BOB = "bob@contoso.com"


def _settings(tmp_path: Path, mapping: str | None = None, duplicates: str = "error") -> Settings:
    overrides: dict[str, object] = {
        "input": {"duplicates": duplicates},
        "report": {"dir": str(tmp_path / "reports")},
    }
    if mapping is not None:
        map_file = tmp_path / "skills_map.csv"
        map_file.write_text(mapping, encoding="utf-8")
        overrides["input"] = {"duplicates": duplicates, "skills_map": str(map_file)}
    return load_settings(None, overrides, environ={})


def _results(
    tmp_path: Path, rows: Sequence[Sequence[str]], settings: Settings
) -> list[dict[str, str]]:
    source = write_csv(tmp_path / "skills.csv", rows)
    result = validate_files([source], settings)
    with (result.report_dir / "results.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_map_merges_spellings_and_leaves_out_empty_targets(tmp_path: Path) -> None:
    mapping = "from,to,count\nMS Excel,Excel,3\n excel 2016 ,Excel,1\nSolitaire,,1\nCobol,COBOL,0\n"
    settings = _settings(tmp_path, mapping)
    lines = _results(
        tmp_path,
        [
            (ANN, "ms excel", "3", ""),
            (BOB, "Excel 2016", "4", ""),
            (BOB, "SOLITAIRE ", "5", ""),
            (ANN, "Python", "2", ""),
        ],
        settings,
    )
    assert [(x["displayName"], x["action"], x["errorType"]) for x in lines] == [
        ("Excel", "valid", ""),
        ("Excel", "valid", ""),
        ("SOLITAIRE", "skipped", "mapped-out"),
        ("Python", "valid", ""),
    ]
    summary = (next((tmp_path / "reports").glob("*/summary.json"))).read_text("utf-8")
    assert "1 entry matched no skill name in the source: 'Cobol'" in summary


def test_mapped_names_are_one_skill_for_duplicate_detection(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "from,to\nMS Excel,Excel\n", duplicates="highest")
    lines = _results(
        tmp_path,
        [(ANN, "MS Excel", "2", ""), (ANN, "excel ", "4", ""), (ANN, "Excel", "3", "")],
        settings,
    )
    assert [(x["row"], x["action"]) for x in lines] == [
        ("2", "duplicate"),
        ("3", "valid"),
        ("4", "duplicate"),
    ]
    # Each duplicate shows the level it drops, and says in favour of which.
    assert lines[0]["error"] == (
        "conflicts with row 3, which is kept (input.duplicates: highest): its level "
        "limitedWorking is dropped in favour of advancedProfessional"
    )
    assert [x["proficiency"] for x in lines] == [
        "limitedWorking",
        "advancedProfessional",
        "generalProfessional",
    ]
    assert lines[2]["error"].endswith(
        "its level generalProfessional is dropped in favour of advancedProfessional"
    )


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("first", ["valid", "duplicate", "duplicate", "duplicate"]),
        ("last", ["duplicate", "duplicate", "duplicate", "valid"]),
        ("highest", ["duplicate", "valid", "duplicate", "duplicate"]),
        ("error", ["invalid", "invalid", "invalid", "invalid"]),
    ],
)
def test_each_policy_keeps_one_row_and_names_it(
    tmp_path: Path, policy: str, expected: list[str]
) -> None:
    rows = [
        (ANN, "Excel", "2", ""),
        (ANN, "Excel", "expert", ""),
        (ANN, "EXCEL", "expert", ""),  # a tie with row 3: highest keeps the earlier row
        (ANN, "excel", "1", ""),
    ]
    lines = _results(tmp_path, rows, _settings(tmp_path, duplicates=policy))
    assert [x["action"] for x in lines] == expected
    if policy != "error":
        kept = next(x["row"] for x in lines if x["action"] == "valid")
        for line in lines:
            if line["action"] == "duplicate":
                assert f"row {kept}" in line["error"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("source,target\nA,B\n", "needs a header with the columns from,to"),
        ("from,to\nA,B\na ,C\n", "is mapped to 'C' here and to 'B' on line 2"),
        ("from,to\n,B\n", "line 2: 'from' is empty"),
        ("from,to\nA," + "x" * 300 + "\n", "at most 255"),
    ],
)
def test_a_broken_map_is_a_config_error_naming_the_file_and_line(
    tmp_path: Path, content: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Validator(_settings(tmp_path, content))


def test_a_map_saved_by_excel_with_semicolons_is_read(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    map_file = tmp_path / "excel.csv"
    map_file.write_bytes("from;to\r\nCaf\xe9 skills;Café\r\n".encode("cp1252"))
    settings = load_settings(
        None, {"input": {"skills_map": str(map_file)}, "report": {"dir": str(tmp_path)}}, environ={}
    )
    validator = Validator(settings)
    assert validator.skills_map is not None
    assert validator.skills_map.apply(" café SKILLS") == "Café"


# --- every policy against a plain model of the rule ------------------------------------------

_TABLE = Table(
    "t.csv", "", ("user", "skill", "level"), {"user": 0, "displayName": 1, "proficiency": 2}
)
_LEVELS = ("", "1", "3", "5", "expert")


def _expected(rows: list[tuple[str, str, str]], policy: str) -> dict[int, tuple[str, int]]:
    """The rule as an admin reads it: row -> (action, kept row it names or 0)."""
    keys: dict[tuple[str, str], list[int]] = {}
    for number, (user, name, _) in enumerate(rows, start=2):
        keys.setdefault((user.casefold(), name.strip().casefold()), []).append(number)
    level = {
        n: PROFICIENCY_LEVELS.index(v) + 1 if v else 0
        for n, v in ((n, _norm(rows[n - 2][2])) for n in range(2, len(rows) + 2))
    }
    out: dict[int, tuple[str, int]] = {}
    for numbers in keys.values():
        values = {_norm(rows[n - 2][2]) for n in numbers}
        if len(values) == 1 or policy == "first":
            kept = numbers[0]
        elif policy == "last":
            kept = numbers[-1]
        elif policy == "highest":
            kept = max(numbers, key=lambda n: (level[n], -n))
        else:
            for n in numbers:
                out[n] = ("invalid", 0)
            continue
        for n in numbers:
            out[n] = ("valid", 0) if n == kept else ("duplicate", kept)
    return out


def _norm(level: str) -> str:
    return {
        "": "",
        "1": "elementary",
        "3": "generalProfessional",
        "5": "expert",
        "expert": "expert",
    }[level]


@pytest.mark.parametrize("compact", [False, True])  # validate's dict, run's CompactMap
@hyp_settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from([ANN, BOB]),
            st.sampled_from(["Go", "go ", "Rust"]),
            st.sampled_from(_LEVELS),
        ),
        min_size=1,
        max_size=9,
    ),
    policy=st.sampled_from(["error", "first", "last", "highest"]),
)
def test_every_policy_matches_the_rule_whatever_the_order(
    compact: bool, rows: list[tuple[str, str, str]], policy: str
) -> None:
    settings = Settings.model_validate({"input": {"duplicates": policy}})
    validator = Validator(settings, compact=compact)
    sources = [SourceRow(_TABLE, n, row) for n, row in enumerate(rows, start=2)]
    final: dict[int, SkillRow | RowOutcome] = {}
    for item in validator.feed(sources):
        final[item.source.row if isinstance(item, SkillRow) else item.row] = item
    for correction in validator.finish():
        assert correction.row in final
        if isinstance(final[correction.row], SkillRow):
            assert correction.action is not Action.VALID
        final[correction.row] = correction
    got: dict[int, tuple[str, int]] = {}
    for row, item in final.items():
        if isinstance(item, SkillRow):
            got[row] = ("valid", 0)
        elif item.action is Action.DUPLICATE:
            got[row] = ("duplicate", int(item.error.split("row ")[1].split(",")[0]))
        else:
            got[row] = (item.action.value, 0)
    assert got == _expected(rows, policy)


@pytest.mark.parametrize("command", [["validate"], ["run", "--dry-run"]])
def test_a_broken_map_stops_the_command_before_any_report_folder(
    tmp_path: Path, command: list[str]
) -> None:
    source = write_csv(tmp_path / "skills.csv", [(ANN, "Excel", "3", "")])
    (tmp_path / "map.csv").write_text("from,to\nExcel,A\nEXCEL,B\n", "utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"target:\n  sandbox_directory: {ROOT / 'samples' / 'directory.csv'}\n"
        f"input:\n  skills_map: map.csv\nreport:\n  dir: {tmp_path / 'reports'}\n",
        "utf-8",
    )
    result = CliRunner().invoke(cli, [*command, "-c", str(config), str(source)])
    assert result.exit_code == 2
    assert "map.csv line 3: 'EXCEL' is mapped to 'B' here and to 'A' on line 2" in result.stderr
    assert not list((tmp_path / "reports").glob("*/results.csv"))
