"""Ctrl-C or SIGTERM while ``validate`` reads: the report of the rows read so far, exit 130.

As for ``run``: every row read before the signal is in results.csv once, summary.json says the
rest was not read, and the exit code is 130, in one process and when a large CSV is validated
in two.
"""

from __future__ import annotations

import asyncio
import csv
import json
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import ROOT, interrupted_cli
from tests.e2e.test_interrupt_reading import ENDLESS_QUERY
from tests.importing import write_csv


def _report(reports: Path) -> tuple[dict[str, object], list[dict[str, str]]]:
    [folder] = list(reports.glob("2*"))
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    with (folder / "results.csv").open(encoding="utf-8-sig", newline="") as handle:
        return summary, list(csv.DictReader(handle))


@pytest.mark.slow
async def test_validate_interrupted_while_reading_reports_the_rows_read_and_exits_130(
    tmp_path: Path,
) -> None:
    database = tmp_path / "hr.db"
    sqlite3.connect(database).close()
    config = tmp_path / "config.yaml"
    config.write_text(
        f'report:\n  dir: {tmp_path / "reports"}\ninput:\n  query: "{ENDLESS_QUERY}"\n'
    )
    code = await interrupted_cli(
        "validate",
        "-c",
        str(config),
        f"sqlite:///{database}",
        ready=lambda: _results_growing(tmp_path / "reports"),
    )

    assert code == 130
    summary, lines = _report(tmp_path / "reports")
    assert summary["exit_code"] == 130
    reason = str(summary["reason"])
    assert "interrupted while reading" in reason
    assert "the rest of the input was not read" in reason
    read = summary["inputs"][0]["rows"]  # type: ignore[index]
    assert 0 < read < 20_000_000
    assert f"{read:,} row(s) read so far" in reason
    assert Counter(line["row"] for line in lines) == Counter(str(n) for n in range(1, read + 1))
    assert {line["action"] for line in lines} == {"valid"}


async def _results_growing(reports: Path) -> None:
    """Until results.csv holds more than its header: rows are being read and reported."""
    while True:
        if await asyncio.to_thread(_results_size, reports) > 100_000:
            return
        await asyncio.sleep(0.1)


def _results_size(reports: Path) -> int:
    found = list(reports.glob("2*/results.csv"))
    return found[0].stat().st_size if found else 0


# A fresh interpreter (the two-process path forks only where no thread runs). The parent sends
# itself SIGTERM as its 100th row is checked: it is the signal a scheduler sends.
TWO_PARTS = r"""
import json, signal, sys
from pathlib import Path
import importer.pipeline.parallel_validate as parallel
from importer.config import load_settings
from importer.pipeline import validate_files

parallel.MIN_PARALLEL_BYTES = parallel.MIN_PARALLEL_ROWS = 0
check = parallel.Validator.check

def check_then_interrupt(self, rows):
    for n, item in enumerate(check(self, rows), 1):
        if n == 100:
            signal.raise_signal(signal.SIGTERM)
        yield item

parallel.Validator.check = check_then_interrupt
settings = load_settings(None, {"report": {"dir": sys.argv[2]}}, environ={})
result = validate_files([Path(sys.argv[1])], settings)
print(json.dumps({"exit": int(result.exit_code)}))
"""


@pytest.mark.slow
def test_validate_in_two_processes_interrupted_reports_the_rows_read_and_exits_130(
    tmp_path: Path,
) -> None:
    rows = [(f"user{n % 40}@contoso.com", f"Skill {n}", "expert", "") for n in range(4_000)]
    source = write_csv(tmp_path / "big.csv", rows)
    done = subprocess.run(
        [sys.executable, "-c", TWO_PARTS, str(source), str(tmp_path / "reports")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"exit": 130}
    summary, lines = _report(tmp_path / "reports")
    assert summary["exit_code"] == 130
    assert "the rest of the input was not read" in str(summary["reason"])
    numbers = sorted(int(line["row"]) for line in lines)
    # The first half's rows up to the signal, each once; nothing of the half never finished.
    assert 100 <= len(numbers) < 4_000
    assert numbers == list(range(2, len(numbers) + 2))
    assert {line["action"] for line in lines} == {"valid"}
