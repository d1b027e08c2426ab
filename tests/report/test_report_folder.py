"""A report folder that cannot be written never ends in a traceback.

Found before anything is sent, it is a one-line config error (exit 2) and nothing is sent.
Found while the run writes (a full disk), the run stops sending, finishes the report as far as
it can, says so in one line and in summary.json, and its exit code says it failed. A full disk
is made real with RLIMIT_FSIZE in a child process: its writes beyond the limit fail with EFBIG,
as they would on a full file system.
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from pathlib import Path

import pytest

from importer.sandbox import RunningSandbox, SandboxConfig, start_sandbox
from tests.importing import write_csv

ROOT = Path(__file__).resolve().parents[2]


# The child limits its own file size before it runs the CLI (no preexec_fn: the test process
# runs threads). A write beyond the limit then fails with EFBIG instead of killing the process.
_LIMITED = """
import resource, runpy, signal, sys
size = int(sys.argv.pop(1))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
sys.argv[0] = "skills-import"
runpy.run_module("importer", run_name="__main__")
"""


async def _cli(*args: str, limit: int | None = None) -> tuple[int, str]:
    prefix = ["-m", "importer"] if limit is None else ["-c", _LIMITED, str(limit)]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *prefix,
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stderr.decode("utf-8", "replace")


def _config(sandbox: RunningSandbox, tmp_path: Path, report_dir: Path) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(f"target:\n  graph: {sandbox.base_url}\nreport:\n  dir: {report_dir}\n")
    return config


@pytest.fixture
async def sandbox() -> RunningSandbox:  # type: ignore[misc]
    users = [(f"00000000-0000-4000-8000-{n:012d}", f"user{n:03d}@contoso.com") for n in range(30)]
    async with await start_sandbox(SandboxConfig(users=users)) as running:
        yield running


def _rows(count: int) -> list[tuple[str, str, str]]:
    return [(f"user{n % 30:03d}@contoso.com", f"Skill {n:05d}", "expert") for n in range(count)]


@pytest.mark.parametrize("where", ["file", "below-a-file"])
async def test_a_report_folder_that_is_a_file_stops_run_before_anything_is_sent(
    sandbox: RunningSandbox, tmp_path: Path, where: str
) -> None:
    blocker = tmp_path / "reports"
    blocker.write_text("not a folder")
    report_dir = blocker if where == "file" else blocker / "nightly"
    source = write_csv(tmp_path / "skills.csv", _rows(5), header=("user", "skill", "level"))

    code, stderr = await _cli("run", "-c", str(_config(sandbox, tmp_path, report_dir)), str(source))

    assert code == 2
    assert sandbox.stats.writes == 0
    assert "Traceback" not in stderr
    [line] = [text for text in stderr.splitlines() if text.startswith("error:")]
    assert f"the report folder {report_dir} cannot be written" in line
    assert ("it is a file, not a folder" if where == "file" else "Not a directory") in line


async def test_validate_into_a_report_folder_that_is_a_file_is_one_line_and_exit_2(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "reports"
    blocker.write_text("not a folder")
    source = write_csv(tmp_path / "skills.csv", _rows(5), header=("user", "skill", "level"))

    code, stderr = await _cli("validate", str(source), "--report-dir", str(blocker))

    assert code == 2
    assert stderr.strip().splitlines() == [
        f"error: report.dir: the report folder {blocker} cannot be written: "
        f"it is a file, not a folder; nothing was sent"
    ]


async def test_a_report_folder_that_takes_no_data_stops_run_before_anything_is_sent(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "skills.csv", _rows(5), header=("user", "skill", "level"))
    config = _config(sandbox, tmp_path, tmp_path / "reports")

    # A dry run takes no run lock (whose record would be the first write to fail).
    code, stderr = await _cli("run", "--dry-run", "-c", str(config), str(source), limit=0)

    assert code == 2
    assert sandbox.stats.graph_requests == sandbox.stats.directory_reads == 0
    assert "Traceback" not in stderr
    [line] = [text for text in stderr.splitlines() if text.startswith("error:")]
    assert "cannot be written" in line
    assert "File too large" in line


def _summary(report_dir: Path) -> dict[str, object]:
    [folder] = list(report_dir.glob("2*"))
    document: dict[str, object] = json.loads((folder / "summary.json").read_text("utf-8"))
    return document


async def test_validate_on_a_disk_that_fills_up_ends_in_one_line_and_a_summary(
    tmp_path: Path,
) -> None:
    source = write_csv(tmp_path / "skills.csv", _rows(20_000), header=("user", "skill", "level"))
    reports = tmp_path / "reports"

    code, stderr = await _cli(
        "validate", str(source), "--report-dir", str(reports), limit=64 * 1024
    )

    assert code == 2
    assert "Traceback" not in stderr
    assert "File too large" in stderr
    summary = _summary(reports)
    assert summary["exit_code"] == 2
    assert "the report is incomplete: cannot write results.csv" in str(summary["reason"])
    assert summary["rows"] == 20_000  # the counts are whole even though results.csv is not


async def test_run_on_a_disk_that_fills_up_stops_sending_and_says_the_run_failed(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    rows = _rows(12_000)
    source = write_csv(tmp_path / "skills.csv", rows, header=("user", "skill", "level"))
    reports = tmp_path / "reports"
    config = _config(sandbox, tmp_path, reports)

    code, stderr = await _cli("run", "-c", str(config), str(source), limit=256 * 1024)

    assert code == 3
    assert "Traceback" not in stderr
    assert "Logging error" not in stderr
    summary = _summary(reports)
    assert summary["exit_code"] == 3
    assert "cannot write results.csv" in str(summary["reason"])
    counts = summary["counts"]
    assert isinstance(counts, dict)
    # It stopped sending once the report could not keep up: the rest were never sent.
    assert counts["not-sent"] > 0
    assert counts["created"] + counts["not-sent"] == len(rows)
    assert sandbox.stats_view()["skills_total"] == counts["created"]
    with (reports / str(summary["run_id"]) / "results.csv").open(encoding="utf-8-sig") as handle:
        assert sum(1 for _ in csv.reader(handle)) > 1  # as far as it got


@pytest.mark.slow
async def test_a_full_temporary_folder_stops_run_before_anything_is_sent(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    # More valid rows than the on-disk row store keeps in its page cache (16 MB): it must write.
    rows = _rows(150_000)
    source = write_csv(tmp_path / "skills.csv", rows, header=("user", "skill", "level"))
    config = _config(sandbox, tmp_path, tmp_path / "reports")

    code, stderr = await _cli("run", "-c", str(config), str(source), limit=4 * 1024 * 1024)

    assert code == 2
    assert "temporary folder" in stderr
    assert "TMPDIR" in stderr
    assert "Traceback" not in stderr
    assert sandbox.stats.writes == 0
