"""results.csv shows what each row asks for and, for updates, what changes."""

from __future__ import annotations

from pathlib import Path

from importer.pipeline.run import run_import
from importer.sandbox import RunningSandbox
from importer.write.changes import describe_changes
from tests.conftest import BOB_UPN as ADELE
from tests.importing import import_file, results, settings_for, skills_of, write_csv


async def test_a_dry_run_shows_would_update_with_the_change_and_the_normalised_values(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    seed = [(ADELE, "T-SQL", "1", "Old;Data"), (ADELE, "Go", "beginner", "")]
    await import_file(running_sandbox, tmp_path, write_csv(tmp_path / "seed.csv", seed))
    wanted = [(ADELE, "T-SQL", "5", "Data; Cloud"), (ADELE, "Go", "1", "")]
    path = write_csv(tmp_path / "wanted.csv", wanted)

    result = await run_import([path], settings_for(running_sandbox, tmp_path), dry_run=True)

    lines = {line["displayName"]: line for line in results(result)}
    sql = lines["T-SQL"]
    assert sql["action"] == "would-update"
    assert sql["changes"] == "proficiency: elementary -> expert; categories: +Cloud -Old"
    assert (sql["proficiency"], sql["categories"]) == ("expert", "Data; Cloud")
    assert sql["allowedAudiences"] == "organization"  # the configured default, as sent
    assert (lines["Go"]["action"], lines["Go"]["changes"]) == ("unchanged", "")
    assert lines["Go"]["proficiency"] == "elementary"
    # Nothing was written: the seeded level is still there.
    held = {skill["displayName"]: skill for skill in await skills_of(running_sandbox, ADELE)}
    assert held["T-SQL"]["proficiency"] == "elementary"


async def test_an_update_reports_what_it_changed(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    seed = [(ADELE, "Rust", "3", "")]
    await import_file(running_sandbox, tmp_path, write_csv(tmp_path / "seed.csv", seed))
    path = write_csv(tmp_path / "new.csv", [(ADELE, "Rust", "4", "Systems")])

    result = await import_file(running_sandbox, tmp_path, path)

    (line,) = results(result)
    assert line["action"] == "updated", line["error"]
    assert line["changes"] == (
        "proficiency: generalProfessional -> advancedProfessional; categories: +Systems"
    )


def test_changes_name_every_field_with_old_and_new_values() -> None:
    existing = {
        "displayName": "python",
        "proficiency": "3",  # Graph may answer enums as numbers
        "collaborationTags": ["askMeAbout"],
        "webUrl": None,
    }
    patch = {
        "proficiency": "expert",
        "collaborationTags": ["askMeAbout", "ableToMentor"],
        "webUrl": "https://wiki.contoso.com/python",
        "displayName": "Python",
    }
    assert describe_changes(patch, existing) == (
        "proficiency: advancedProfessional -> expert; collaborationTags: +ableToMentor; "
        "webUrl: (none) -> https://wiki.contoso.com/python; displayName: python -> Python"
    )


async def test_a_created_row_shows_each_value_in_its_own_column(
    running_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    header = (
        "user",
        "skill",
        "level",
        "categories",
        "collaborationTags",
        "allowedAudiences",
        "webUrl",
    )
    row = (ADELE, "Kotlin", "4", "Mobile;Backend", "askMeAbout", "contacts", "https://x.example")
    path = write_csv(tmp_path / "all.csv", [row], header)

    result = await import_file(running_sandbox, tmp_path, path)

    (line,) = results(result)
    assert line["action"] == "created", line["error"]
    assert (line["user"], line["displayName"], line["row"]) == (ADELE, "Kotlin", "2")
    assert line["proficiency"] == "advancedProfessional"
    assert line["categories"] == "Mobile; Backend"
    assert line["collaborationTags"] == "askMeAbout"
    assert line["allowedAudiences"] == "contacts"
    assert line["webUrl"] == "https://x.example"
    assert (line["status"], line["attempts"]) == ("201", "1")
    assert line["skillId"]
    assert not line["error"]
