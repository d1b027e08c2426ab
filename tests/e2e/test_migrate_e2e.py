"""Migrating the sample legacy database in one go: inspect, edit the map, run, run again."""

from __future__ import annotations

import csv
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from importer.config import Settings, load_settings
from importer.inspect import inspect_sources
from importer.pipeline import run_import
from importer.sandbox import RunningSandbox, SandboxConfig, start_sandbox
from tests.importing import results, skills_of

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
DATABASE = SAMPLES / "legacy_skills.db"
ADELE = "adele.vance@contoso.com"
ALEX = "alex.wilber@contoso.com"
DIEGO = "diego.siciliani@contoso.com"


@pytest.fixture
async def directory_sandbox() -> AsyncIterator[RunningSandbox]:
    """A sandbox that knows the users of samples/directory.csv."""
    config = SandboxConfig(directory=SAMPLES / "directory.csv")
    async with await start_sandbox(config) as sandbox:
        yield sandbox


def _settings(
    tmp_path: Path, sandbox: RunningSandbox | None, skills_map: Path | None = None
) -> Settings:
    """The sample config, copied next to a private database copy and report folder."""
    data = yaml.safe_load((SAMPLES / "legacy_db.config.yaml").read_text("utf-8"))
    data["target"]["sandbox_directory"] = str(SAMPLES / "directory.csv")
    data["report"]["dir"] = str(tmp_path / "reports")
    data["input"]["skills_map"] = str(skills_map or SAMPLES / "legacy_skills_map.csv")
    if sandbox is not None:
        data["target"]["graph"] = sandbox.base_url
    config = tmp_path / "legacy_db.config.yaml"
    config.write_text(yaml.safe_dump(data), "utf-8")
    return load_settings(config, environ={})


def _database(tmp_path: Path) -> str:
    copy = tmp_path / "legacy_skills.db"
    shutil.copyfile(DATABASE, copy)
    return f"sqlite:///{copy}"


def _by_name(skills: list[dict[str, object]]) -> dict[str, object]:
    return {str(skill["displayName"]): skill["proficiency"] for skill in skills}


async def test_inspect_then_run_merges_names_keeps_the_highest_and_reruns_quietly(
    directory_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    url = _database(tmp_path)
    inspected = inspect_sources([url], _settings(tmp_path, None))
    template = inspected.report_dir / "skills_map.csv"
    with template.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    clusters: dict[str, set[str]] = {}
    for row in rows:
        if row["cluster"]:
            clusters.setdefault(row["to"], set()).add(row["from"])
    assert clusters == {
        "Excel": {"Excel", "MS Excel", "Excel 2016"},
        "Kubernetes": {"Kubernetes", "Kubernets"},
        "PowerPoint": {"PowerPoint", "Power Point"},
        "Python": {"Python", "Pyhton"},
    }
    # The admin's one edit: Solitaire is left out.
    edited = tmp_path / "skills_map.csv"
    with edited.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["from", "to"])
        for row in rows:
            writer.writerow([row["from"], "" if row["from"] == "Solitaire" else row["to"]])

    settings = _settings(tmp_path, directory_sandbox, edited)
    first = await run_import([url], settings)

    assert first.exit_code == 0, first.reason
    assert first.counts["created"] == 20
    assert first.counts["skipped"] == 1
    assert first.counts["duplicate"] == 4
    assert _by_name(await skills_of(directory_sandbox, ADELE)) == {
        "Excel": "advancedProfessional",  # "MS Excel" 4 and "excel" 8: the 8 is kept
        "Negotiation": "generalProfessional",
    }
    assert _by_name(await skills_of(directory_sandbox, ALEX))["Excel"] == "expert"
    assert _by_name(await skills_of(directory_sandbox, DIEGO))["PowerPoint"] == (
        "generalProfessional"
    )
    lines = {(line["user"], line["row"]): line for line in results(first)}
    assert lines[(ADELE, "1")]["action"] == "duplicate"
    assert lines[(ADELE, "1")]["error"].startswith(
        "conflicts with row 2, which is kept (input.duplicates: highest): its level "
    )
    assert (lines[(ADELE, "4")]["action"], lines[(ADELE, "4")]["errorType"]) == (
        "skipped",
        "mapped-out",
    )
    assert {line["source"] for line in lines.values()} == {url}

    writes = directory_sandbox.stats.writes
    again = await run_import([url], settings)
    assert again.exit_code == 0
    assert directory_sandbox.stats.writes == writes
    assert again.counts["unchanged"] == 20


async def test_the_committed_sample_config_and_map_give_the_same_skills(
    directory_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    url = _database(tmp_path)
    dry = await run_import([url], _settings(tmp_path, directory_sandbox), dry_run=True)
    assert dry.exit_code == 0, dry.reason
    assert dry.counts["would-create"] == 20
    assert directory_sandbox.stats.writes == 0
    done = await run_import([url], _settings(tmp_path, directory_sandbox))
    assert done.counts["created"] == 20
    assert "Solitaire" not in _by_name(await skills_of(directory_sandbox, ADELE))
