"""Ctrl-C or SIGTERM while the input is still being read: a report of what was read, exit 130.

The input is a query that would go on yielding rows for hours, so the signal is sure to land
while rows are being read and validated, before anything is sent.
"""

from __future__ import annotations

import asyncio
import csv
import json
import signal
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from importer.sandbox import RunningSandbox
from tests.conftest import interrupted_cli

#: Twenty million rows: a query still being read when the test interrupts it.
ENDLESS_QUERY = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000000) "
    "SELECT 'user' || (i % 30) || '@contoso.com' AS email, 'Skill ' || i AS skill, "
    "'expert' AS proficiency FROM n"
)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_an_interrupt_while_reading_writes_the_report_of_the_rows_read_and_exits_130(
    running_sandbox: RunningSandbox, tmp_path: Path, signum: signal.Signals
) -> None:
    database = tmp_path / "hr.db"
    sqlite3.connect(database).close()
    config = tmp_path / "config.yaml"
    config.write_text(
        f"target:\n  graph: {running_sandbox.base_url}\n"
        f"report:\n  dir: {tmp_path / 'reports'}\n"
        f'input:\n  query: "{ENDLESS_QUERY}"\n'
    )
    code = await interrupted_cli(
        "run",
        "-c",
        str(config),
        f"sqlite:///{database}",
        ready=lambda: _reading(tmp_path),
        signum=signum,
    )

    assert code == 130
    assert running_sandbox.stats.writes == 0
    [report] = list((tmp_path / "reports").glob("2*"))
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert summary["exit_code"] == 130
    assert "interrupted while reading" in summary["reason"]
    assert "the rest of the input was not read" in summary["reason"]
    with (report / "results.csv").open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.DictReader(handle))
    read = summary["inputs"][0]["rows"]
    assert 0 < read < 20_000_000
    # Every row read so far, once each, in results.csv; none of them was sent.
    assert Counter(line["row"] for line in lines) == Counter(str(n) for n in range(1, read + 1))
    assert {line["action"] for line in lines} == {"not-sent"}
    assert f"{read:,} row(s) read so far" in summary["reason"]


async def _reading(tmp_path: Path) -> None:
    """Until a progress line in run.log shows rows being read."""
    while True:
        logs = list((tmp_path / "reports").glob("2*/run.log"))
        if logs and "progress: reading" in logs[0].read_text(encoding="utf-8"):
            return
        await asyncio.sleep(0.2)
