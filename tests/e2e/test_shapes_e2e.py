"""The matrix and list samples, end to end into a sandbox that knows the samples' directory."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from importer.errors import InputError
from importer.sandbox import RunningSandbox, SandboxConfig, start_sandbox
from tests.data.inputs import SAMPLES, write_text, write_xlsx
from tests.importing import import_file, results, skills_of


@pytest.fixture
async def samples_sandbox() -> AsyncIterator[RunningSandbox]:
    """A sandbox on 127.0.0.1 whose directory is samples/directory.csv."""
    async with await start_sandbox(SandboxConfig(directory=SAMPLES / "directory.csv")) as sandbox:
        yield sandbox


def _levels(skills: list[dict[str, object]]) -> dict[object, object]:
    return {s["displayName"]: s.get("proficiency") for s in skills}


def _rejects(path: Path) -> list[dict[str, str]]:
    with (path / "rejects.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


async def test_the_matrix_sample_imports_one_skill_per_filled_cell(
    samples_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    result = await import_file(samples_sandbox, tmp_path, SAMPLES / "skills_matrix.xlsx")

    assert result.exit_code == 1  # the one "Guru" cell
    assert result.counts["created"] == 26
    assert result.counts["invalid"] == 1
    adele = _levels(await skills_of(samples_sandbox, "adele.vance@contoso.com"))
    assert adele == {
        "Python": "expert",
        "SQL": "advancedProfessional",
        "Kubernetes": "generalProfessional",
    }
    alex = _levels(await skills_of(samples_sandbox, "alex.wilber@contoso.com"))
    assert alex["Kubernetes"] == "expert"  # a word in a matrix cell
    lines = results(result)
    assert {
        (r["sheet"], r["row"], r["column"]) for r in lines if r["user"].startswith("adele")
    } == {
        ("Skills matrix", "3", "D"),
        ("Skills matrix", "3", "E"),
        ("Skills matrix", "3", "G"),
    }
    [reject] = _rejects(result.report_dir)
    assert reject["Employee Email"] == "isaiah.langer@contoso.com"
    assert reject["Negotiation"] == "Guru"  # the person's original row, given back once
    assert reject["error"].startswith("cell H7: column 'Negotiation' (proficiency): 'Guru'")
    assert result.summary.layouts[0]["layout"] == "matrix"


async def test_the_list_sample_imports_each_listed_skill_with_its_level(
    samples_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    result = await import_file(samples_sandbox, tmp_path, SAMPLES / "skills_list.csv")

    assert result.exit_code == 1
    assert result.counts["created"] == 12
    assert result.counts["invalid"] == 1
    pradeep = _levels(await skills_of(samples_sandbox, "pradeep.gupta@contoso.com"))
    assert pradeep == {"Python": "expert", "SQL": "advancedProfessional", "Excel": None}
    lynne = await skills_of(samples_sandbox, "lynne.robbins@contoso.com")
    assert [s["displayName"] for s in lynne] == ["Project Management"]  # never "Cooking (Guru)"
    [reject] = _rejects(result.report_dir)
    assert reject["Skills"] == "Cooking (Guru); Project Management (4)"
    assert "'Guru' is not one of" in reject["error"]

    again = await import_file(samples_sandbox, tmp_path, SAMPLES / "skills_list.csv")

    assert again.counts["unchanged"] == 12


@pytest.mark.parametrize("shape", ["rows", "matrix"])
async def test_a_one_to_ten_file_is_refused_whole_with_no_request_sent(
    samples_sandbox: RunningSandbox, tmp_path: Path, shape: str
) -> None:
    if shape == "rows":
        path = write_text(
            tmp_path / "ten.csv",
            "user,skill,level\n"
            + "".join(
                f"adele.vance@contoso.com,Skill {n},{n}\n" for n in (1, 5, 3, 8, 10, 2, 5, 1)
            ),
        )
    else:
        path = write_xlsx(
            tmp_path / "ten.xlsx",
            {
                "M": [
                    ("Email", "Python", "SQL"),
                    ("adele.vance@contoso.com", 5, 9),
                    ("alex.wilber@contoso.com", 1, 3),
                ]
            },
        )
    samples_sandbox.stats.clear()

    with pytest.raises(InputError) as caught:
        await import_file(samples_sandbox, tmp_path, path)

    message = str(caught.value)
    assert "beyond the numeric scale configured (1-5)" in message
    expected = "column 'level' holds 8, 10" if shape == "rows" else "column 'SQL' holds 9"
    assert expected in message
    assert samples_sandbox.stats.graph_requests == 0
    assert samples_sandbox.stats.batches == 0


async def test_a_list_cell_naming_a_skill_twice_still_imports_its_other_skills(
    samples_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    path = write_text(
        tmp_path / "l.csv",
        'Email,Skills\nadele.vance@contoso.com,"Python (3); SQL (2); Python (5)"\n',
    )

    result = await import_file(samples_sandbox, tmp_path, path)

    assert sorted((r["column"], r["displayName"], r["action"]) for r in results(result)) == [
        ("B", "Python", "invalid"),  # 3 and 5: conflicting, neither is sent
        ("B", "Python", "invalid"),
        ("B", "SQL", "created"),
    ]
    skills = await skills_of(samples_sandbox, "adele.vance@contoso.com")
    assert [s["displayName"] for s in skills] == ["SQL"]
