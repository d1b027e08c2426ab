"""``importer.api``: a migration script hands rows (dicts or a DataFrame) to the same run."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from importer.api import import_rows_async, validate_rows
from importer.config import Settings
from importer.errors import InputError
from importer.sandbox import RunningSandbox
from tests.conftest import BOB_UPN, ONEIL_UPN
from tests.importing import results, settings_for, skills_of


async def test_dict_rows_import_like_a_file_and_a_rerun_writes_nothing(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    rows = [
        {"Employee Email": BOB_UPN, "Skill": "Excel", "Level": "4", "Note": "x"},
        {"Employee Email": BOB_UPN, "Skill": "excel ", "Level": 5.0, "Note": None},
        {"Employee Email": ONEIL_UPN, "Skill": "Go", "Level": None, "Note": ""},
        {"Employee Email": ONEIL_UPN, "Skill": "Rust", "Level": "Guru", "Note": ""},
    ]
    base = settings_for(running_sandbox, tmp_path)
    settings = Settings.model_validate(
        {**base.model_dump(), "input": {**base.input.model_dump(), "duplicates": "highest"}}
    )

    result = await import_rows_async(iter(rows), config=settings, name="hr-api")

    assert result.exit_code == 1  # the "Guru" row is invalid, as from a file
    lines = results(result)
    assert sorted(
        (x["source"], x["row"], x["action"]) for x in lines if x["action"] != "created"
    ) == [
        ("hr-api", "1", "duplicate"),
        ("hr-api", "4", "invalid"),
    ]
    assert {
        s["displayName"]: s["proficiency"] for s in await skills_of(running_sandbox, BOB_UPN)
    } == {"excel": "expert"}
    writes = running_sandbox.stats.writes
    again = await import_rows_async(rows, config=settings, name="hr-api")
    assert again.counts["unchanged"] == 2
    assert running_sandbox.stats.writes == writes


def test_a_data_frame_validates_with_missing_values_empty(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "user": [BOB_UPN, ONEIL_UPN, None],
            "skill": ["Excel", "Go", None],
            "level": [4.0, float("nan"), None],
        }
    )
    settings = Settings.model_validate({"report": {"dir": str(tmp_path)}})
    result = validate_rows(frame, config=settings, name="frame")
    assert result.exit_code == 0
    assert result.counts["valid"] == 2
    assert result.summary.blank_rows == 1


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "no rows were given"),
        ([{"name": "x"}], "no header row with both a user and a displayName column"),
        ([("a", "b")], "rows must be mappings"),
        ([{"user": BOB_UPN, "skill": "A"}, {"user": BOB_UPN, "skil": "B"}], "'skil'"),
    ],
)
def test_unusable_rows_raise_an_input_error_before_anything_is_sent(
    tmp_path: Path, rows: list[Any], message: str
) -> None:
    settings = Settings.model_validate({"report": {"dir": str(tmp_path)}})
    with pytest.raises(InputError, match=message) as caught:
        validate_rows(rows, config=settings)
    assert caught.value.exit_code == 2


async def test_the_calling_program_keeps_its_garbage_collector_settings(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    # A run collects less often while rows stream through, then puts the caller's setting back.
    before = gc.get_threshold()
    settings = settings_for(running_sandbox, tmp_path)
    rows = [{"user": BOB_UPN, "skill": "Haskell", "level": "3"}]
    try:
        gc.set_threshold(123, 4, 5)
        result = await import_rows_async(rows, config=settings, name="embedded")
        assert result.exit_code == 0
        assert gc.get_threshold() == (123, 4, 5)
        validate_rows(rows, config=settings, name="embedded")
        assert gc.get_threshold() == (123, 4, 5)
    finally:
        gc.set_threshold(*before)
