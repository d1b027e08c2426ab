"""A nightly run with one typo in its levels imports the rest; a file on another scale does not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from importer.errors import InputError
from importer.sandbox import RunningSandbox, SandboxConfig, start_sandbox
from tests.data.inputs import SAMPLES
from tests.importing import import_file, results, write_csv

PEOPLE = ("adele.vance@contoso.com", "alex.wilber@contoso.com", "diego.siciliani@contoso.com")


@pytest.fixture
async def samples_sandbox() -> AsyncIterator[RunningSandbox]:
    """A sandbox on 127.0.0.1 whose directory is samples/directory.csv."""
    async with await start_sandbox(SandboxConfig(directory=SAMPLES / "directory.csv")) as sandbox:
        yield sandbox


def _rows(levels: dict[int, str]) -> list[list[str]]:
    return [
        [PEOPLE[n % 3], f"Skill {n}", levels.get(n, str(n % 5 + 1)), "Work"] for n in range(300)
    ]


async def test_a_lone_9_among_300_levels_is_one_invalid_row_and_the_rest_is_imported(
    samples_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "night.csv", _rows({200: "9"}))

    # In chunks of 50 rows: the scale is judged on the whole source all the same.
    result = await import_file(samples_sandbox, tmp_path, path, rows_per_chunk=50)

    assert result.exit_code == 1
    assert result.counts["created"] == 299
    [invalid] = [line for line in results(result) if line["action"] == "invalid"]
    assert invalid["row"] == "202"
    assert invalid["errorType"] == "out-of-scale"
    assert "'9' is beyond the numeric scale configured (1-5)" in invalid["error"]


async def test_a_1_to_10_file_is_still_refused_whole_with_nothing_sent(
    samples_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "ten.csv", _rows({n: str(n % 10 + 1) for n in range(300)}))
    samples_sandbox.stats.clear()

    with pytest.raises(InputError) as caught:
        await import_file(samples_sandbox, tmp_path, path)

    assert "column 'level' holds 6, 7, 8, 9, 10" in str(caught.value)
    assert "150 of 300 levels" in str(caught.value)
    assert samples_sandbox.stats.graph_requests == 0
