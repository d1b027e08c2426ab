"""The orgdata-csv writer inside a run: a file that cannot be written stops it, losing no row."""

from __future__ import annotations

import csv
from pathlib import Path

from importer.config import load_settings
from importer.pipeline.orgdata_stage import ORGDATA_FOLDER, write_orgdata
from importer.pipeline.spill import RowSpill
from importer.progress import RunProgress
from importer.records import Action, SkillRow, SourceRow, Table
from importer.report.writer import ReportWriter

TABLE = Table(
    source="hr.csv", sheet="", header=("email", "skill"), mapping={"user": 0, "displayName": 1}
)


def _spill(people: int) -> RowSpill:
    spill = RowSpill()
    for n in range(people):
        email = f"p{n}@contoso.com"
        spill.add(SkillRow(SourceRow(TABLE, n + 2, (email, "Python")), email, "Python"))
    return spill


async def test_an_upload_file_that_cannot_be_written_stops_the_run_with_every_row_reported(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        None, {"target": {"kind": "orgdata-csv"}, "input": {"user_key": "mail"}}, {}
    )
    writer = ReportWriter(tmp_path, ["csv"], "run")
    (writer.path / ORGDATA_FOLDER).write_text("not a folder", encoding="utf-8")
    spill = _spill(3)

    work = await write_orgdata(
        settings, None, spill, writer, dry_run=False, allow_deletes=None, progress=RunProgress()
    )
    spill.close()
    writer.close()

    assert work.aborted.startswith("the upload file cannot be written")
    assert {k: v for k, v in writer.counts.items() if v} == {Action.NOT_SENT.value: 3}
    with (writer.path / "results.csv").open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert sorted(line["row"] for line in lines) == ["2", "3", "4"]
    assert all("cannot be written" in line["error"] for line in lines)
