"""Regenerate the bundled samples: ``python samples/make_samples.py``.

Writes, next to this script:

- ``directory.csv``: the sandbox's users (``id,userPrincipalName,displayName,mail,employeeId,
  accountEnabled``), including a guest (``#EXT#``), an apostrophe and non-ASCII names, people
  whose work email is not their UPN, and one disabled account.
- ``skills.csv``: 80 rows for 20 users as an HR system exports them: mixed level spellings,
  some rows by object id, one identical duplicate, three invalid rows (a level "Guru", a
  missing skill name, a link that is not a URL) and one row for a user the directory does
  not know (valid input that fails at import with 404).
- ``skills.xlsx``: sheets "Engineering" and "Sales", each with a title row and a blank row
  above the header, all rows valid, levels stored as numbers.
- ``legacy_export.csv``: a semicolon-separated cp1252 export with levels 1-5, read with
  ``legacy.config.yaml``.
- ``hr_workday.csv``: a Workday-style export keyed by employee id (``Employee ID, Worker, Work
  Email, Skill, Skill Level``), run with ``--user-key employeeId`` (or ``--user-key mail``): it
  holds a disabled account and a new hire the directory does not know yet.
- ``skills_matrix.xlsx``: a skills matrix (layout ``matrix``): one row per person below a
  title row, one column per skill, levels in the cells (numbers and words), blanks for "no
  skill", two columns that are not skills, and one unknown level ("Guru").
- ``skills_list.csv``: one row per person, the skills listed in one cell (layout ``list``):
  ``Python (Expert); SQL (Advanced); Excel``, with one unknown level in parentheses.

Everything is deterministic, so the files only change when this script does.
"""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import openpyxl
from openpyxl.styles import Font

__all__ = ["HR_USERS", "USERS", "employee_id", "main"]

HERE = Path(__file__).resolve().parent
_NAMESPACE = uuid.UUID("6f1c2f44-3a0e-4c55-9a53-5b1d0c2a7e10")

#: (userPrincipalName, display name) of the sandbox directory.
USERS: tuple[tuple[str, str], ...] = (
    ("adele.vance@contoso.com", "Adele Vance"),
    ("alex.wilber@contoso.com", "Alex Wilber"),
    ("ann_fabrikam.com#EXT#@contoso.onmicrosoft.com", "Ann (Fabrikam guest)"),
    ("diego.siciliani@contoso.com", "Diego Siciliani"),
    ("grady.archie@contoso.com", "Grady Archie"),
    ("henrietta.mueller@contoso.com", "Henrietta Mueller"),
    ("isaiah.langer@contoso.com", "Isaiah Langer"),
    ("johanna.lorenz@contoso.com", "Johanna Lorenz"),
    ("joni.sherman@contoso.com", "Joni Sherman"),
    ("lee.gu@contoso.com", "Lee Gu"),
    ("lidia.holloway@contoso.com", "Lidia Holloway"),
    ("lynne.robbins@contoso.com", "Lynne Robbins"),
    ("megan.bowen@contoso.com", "Megan Bowen"),
    ("miriam.graham@contoso.com", "Miriam Graham"),
    ("nestor.wilke@contoso.com", "Nestor Wilke"),
    ("patti.fernandez@contoso.com", "Patti Fernandez"),
    ("pradeep.gupta@contoso.com", "Pradeep Gupta"),
    ("sean.o'neil@contoso.com", "Seán O'Neil"),
    ("zoë.müller@contoso.com", "Zoë Müller"),
    ("rené.dubois@contoso.com", "René Dubois"),
    ("jürgen.weiß@contoso.com", "Jürgen Weiß"),
    ("chloé.martin@contoso.com", "Chloé Martin"),
)


#: People HR knows by employee id and work email; their UPNs are not their mail addresses.
#: (userPrincipalName, display name, mail, accountEnabled)
HR_USERS: tuple[tuple[str, str, str, bool], ...] = (
    ("jdoe@contoso.onmicrosoft.com", "John Doe", "john.doe@contoso.com", True),
    ("kobrien@contoso.onmicrosoft.com", "Kate O'Brien", "Kate.O'Brien@contoso.com", True),
    ("mtanaka@contoso.onmicrosoft.com", "Mei Tanaka", "mei.tanaka@contoso.com", True),
    ("lfischer@contoso.onmicrosoft.com", "Lena Fischer", "lena.fischer@contoso.com", False),
)


def employee_id(index: int) -> str:
    """The sample employee id of the index-th directory user: six digits, leading zeros."""
    return f"{101 + index:06d}"


def user_id(upn: str) -> str:
    """The sample object id of a user: stable, derived from the UPN."""
    return str(uuid.uuid5(_NAMESPACE, upn))


_SKILLS = (
    ("Python", "Technical", "https://wiki.contoso.com/skills/python"),
    ("SQL", "Technical", ""),
    ("Project Management", "Professional", ""),
    ("Public Speaking", "Professional;Communication", ""),
    ("Azure", "Technical;Cloud", "https://learn.microsoft.com/azure/"),
    ("German", "Language", ""),
    ("Negotiation", "Professional", ""),
    ("Data Analysis", "Technical", "https://wiki.contoso.com/skills/data-analysis"),
    ("Power BI", "Technical", ""),
    ("Coaching", "Professional", ""),
    ("Spanish", "Language", ""),
    ("Accessibility", "Technical;Design", "https://www.w3.org/WAI/"),
)
_LEVELS = (
    "Advanced Professional",
    "expert",
    "3",
    "Elementary",
    "limited working",
    "GENERAL_PROFESSIONAL",
    "4",
    "",
    "5",
    "advancedProfessional",
)
_TAGS = ("", "ableToMentor", "ask me about", "", "mentor;wantsToLearn", "", "wants to improve", "")
_VISIBILITY = ("", "", "Organization", "", "everyone", "", "contacts", "")


def _skills_rows() -> list[list[str]]:
    rows: list[list[str]] = []
    for u, (upn, _name) in enumerate(USERS[:20]):
        # Every third user is written by object id, as some HR systems export it.
        who = user_id(upn) if u % 3 == 2 else upn
        for k in range(4):
            skill, category, link = _SKILLS[(u * 5 + k * 3) % len(_SKILLS)]
            n = u * 4 + k
            rows.append(
                [
                    who,
                    skill,
                    _LEVELS[n % len(_LEVELS)],
                    category,
                    _TAGS[n % len(_TAGS)],
                    _VISIBILITY[n % len(_VISIBILITY)],
                    link,
                ]
            )
    rows[5][2] = "Guru"  # invalid-enum, with a "did you mean 'expert'"
    rows[22][1] = ""  # missing-display-name
    rows[41][6] = "not a link"  # invalid-url
    rows[60] = list(rows[59])  # an identical repeat: duplicate, not an error
    # A user the directory does not know: valid input, 404 at import time.
    rows[77] = ["former.employee@contoso.com", "Python", "expert", "Technical", "", "", ""]
    return rows


def _directory_rows() -> list[list[str]]:
    rows = [
        [user_id(upn), upn, name, upn, employee_id(n), "true"]
        for n, (upn, name) in enumerate(USERS)
    ]
    for n, (upn, name, mail, enabled) in enumerate(HR_USERS, start=len(USERS)):
        rows.append([user_id(upn), upn, name, mail, employee_id(n), str(enabled).lower()])
    return rows


def write_directory(path: Path) -> None:
    """Write the sandbox directory CSV."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(
            ["id", "userPrincipalName", "displayName", "mail", "employeeId", "accountEnabled"]
        )
        writer.writerows(_directory_rows())


def write_hr_export(path: Path) -> None:
    """Write the Workday-style export: people by employee id, work email beside it."""
    people = [(row[4], row[2], row[3]) for row in _directory_rows()]
    chosen = [people[0], people[3], people[12], *people[len(USERS) :]]
    skills = (
        ("Python", "Expert"),
        ("Stakeholder Management", "General Professional"),
        ("SQL", "Advanced Professional"),
    )
    rows = []
    for n, (emp, name, mail) in enumerate(chosen):
        for k in range(2):
            skill, level = skills[(n + k) % len(skills)]
            rows.append([emp, name, mail, skill, level])
    # A new hire HR knows and the directory does not have yet.
    rows.append(["000999", "Noah Newhire", "noah.newhire@contoso.com", "Python", "Beginner"])
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["Employee ID", "Worker", "Work Email", "Skill", "Skill Level"])
        writer.writerows(rows)


def write_skills_csv(path: Path) -> None:
    """Write the main sample: comma-separated UTF-8, HR-style headers."""
    header = ["Employee Email", "Skill", "Level", "Category", "Tags", "Visibility", "Link"]
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(_skills_rows())


_SHEETS = {
    "Engineering": (
        ("Kubernetes", "Engineering", 4),
        ("Terraform", "Engineering;Cloud", 3),
        ("Rust", "Engineering", 2),
        ("Code Review", "Engineering", 5),
    ),
    "Sales": (
        ("Account Planning", "Sales", 3),
        ("CRM", "Sales;Tools", 4),
        ("Cold Calling", "Sales", 1),
        ("Contract Law", "Sales;Legal", 2),
    ),
}


def write_skills_xlsx(path: Path) -> None:
    """Write the workbook sample: two sheets, title rows above the header, numeric levels."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for offset, (title, skills) in enumerate(_SHEETS.items()):
        sheet = workbook.create_sheet(title)
        sheet.append([f"Skills inventory — {title}", None, None, "exported 2026-11-02"])
        sheet["A1"].font = Font(bold=True, size=14)
        sheet.append([])
        sheet.append(
            ["User Principal Name", "Skill Name", "Proficiency", "Category", "Collaboration Tags"]
        )
        users = USERS[offset * 8 : offset * 8 + 8]
        count = 0
        for u, (upn, _name) in enumerate(users):
            for k in range(2):
                if count == 15:
                    break
                skill, category, level = skills[(u + k) % len(skills)]
                tags = "ableToMentor" if level >= 4 else ("wantsToLearn" if level == 1 else "")
                sheet.append([upn, skill, level, category, tags])
                count += 1
        sheet.freeze_panes = "A4"
    workbook.save(path)


_LEGACY = (
    (
        "zoë.müller@contoso.com",
        "Créativité",
        "4",
        "Soft skills",
        "https://wiki.contoso.com/créativité",
    ),
    ("zoë.müller@contoso.com", "Übersetzung", "5", "Sprachen", ""),
    ("rené.dubois@contoso.com", "Gestion de projet", "3", "Management", ""),
    ("rené.dubois@contoso.com", "Négociation", "2", "Management", ""),
    ("jürgen.weiß@contoso.com", "Qualitätssicherung", "5", "Technik", ""),
    ("jürgen.weiß@contoso.com", "Schweißtechnik", "1", "Technik", ""),
    ("chloé.martin@contoso.com", "Comptabilité", "4", "Finance", ""),
    ("chloé.martin@contoso.com", "Fiscalité", "3", "Finance", ""),
    ("henrietta.mueller@contoso.com", "Präsentation", "2", "Soft skills", ""),
    ("johanna.lorenz@contoso.com", "Führung", "4", "Management", ""),
)


def write_legacy_csv(path: Path) -> None:
    """Write the legacy export: semicolons, cp1252, CRLF, levels 1-5 (see legacy.config.yaml)."""
    header = ["Employee E-Mail", "Skill Name", "Skill Level", "Skill Category", "Wiki Page"]
    with path.open("w", encoding="cp1252", newline="") as stream:
        writer = csv.writer(stream, delimiter=";", lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(_LEGACY)


#: The skills matrix: skill columns, then one row per person (None = no skill).
_MATRIX_SKILLS = ("Python", "SQL", "Excel", "Kubernetes", "Negotiation", "Public Speaking")
_MATRIX: tuple[tuple[str, str, tuple[object, ...]], ...] = (
    ("adele.vance@contoso.com", "Engineering", (5, 4, None, 3, None, None)),
    ("alex.wilber@contoso.com", "Engineering", (3, None, 2, "Expert", None, 1)),
    ("diego.siciliani@contoso.com", "Sales", (None, None, 4, None, 5, "advanced")),
    ("grady.archie@contoso.com", "Engineering", (4, 4, 4, 2, None, None)),
    ("isaiah.langer@contoso.com", "Sales", (None, 2, 3, None, "Guru", 4)),
    ("johanna.lorenz@contoso.com", "Finance", (1, 3, 5, None, None, 2)),
    ("lee.gu@contoso.com", "Engineering", ("beginner", None, None, 4, None, None)),
    ("megan.bowen@contoso.com", "Sales", (None, None, 3, None, 4, 5)),
)


def write_skills_matrix(path: Path) -> None:
    """Write the skills matrix sample: a title row, then one row per person, a column per skill."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Skills matrix"
    sheet.append(["Skills matrix — engineering and sales", None, None, "exported 2026-11-02"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["Employee Email", "Name", "Department", *_MATRIX_SKILLS])
    names = dict(USERS)
    for upn, department, levels in _MATRIX:
        sheet.append([upn, names[upn], department, *levels])
    sheet.freeze_panes = "D3"
    workbook.save(path)


_LISTS = (
    ("pradeep.gupta@contoso.com", "Python (Expert); SQL (Advanced); Excel"),
    ("patti.fernandez@contoso.com", "Negotiation (4); Public Speaking (Intermediate)"),
    ("nestor.wilke@contoso.com", "Kubernetes (advanced professional); Terraform (3); Go (2)"),
    ("miriam.graham@contoso.com", "Excel (5); Power BI (Expert)"),
    ("lynne.robbins@contoso.com", "Cooking (Guru); Project Management (4)"),
    ("lidia.holloway@contoso.com", "Contract Law (2)"),
)


def write_skills_list(path: Path) -> None:
    """Write the list-cell sample: one row per person, skills separated by ';' in one cell."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["Employee Email", "Skills"])
        writer.writerows(_LISTS)


def main() -> None:
    """Write every sample file next to this script."""
    write_directory(HERE / "directory.csv")
    # The same users ship inside the package: the sandbox of an installed skills-import.
    write_directory(HERE.parent / "importer" / "sandbox" / "data" / "directory.csv")
    write_skills_csv(HERE / "skills.csv")
    write_skills_xlsx(HERE / "skills.xlsx")
    write_legacy_csv(HERE / "legacy_export.csv")
    write_hr_export(HERE / "hr_workday.csv")
    write_skills_matrix(HERE / "skills_matrix.xlsx")
    write_skills_list(HERE / "skills_list.csv")


if __name__ == "__main__":
    main()
