"""Build the sample legacy skills database: ``python samples/make_legacy_db.py``.

Writes ``legacy_skills.db`` next to this script: a SQLite database as an old in-house skills
tool keeps it, read with ``legacy_db.config.yaml`` (see the README's walk-through).

- ``employees`` (id, employee_no, email, full_name, department): people who are all in the
  sandbox directory (``directory.csv``).
- ``skills`` (id, name, category): the catalogue, grown by hand over the years, so one skill
  has several spellings ("MS Excel", "Excel 2016", "excel", "Excel "), plus typos
  ("Kubernets", "Pyhton") and a skill nobody wants in their profile ("Solitaire").
- ``employee_skills`` (employee_id, skill_id, level 1-10, is_mentor 0/1, rated_on): the
  ratings. Some people hold one skill under two spellings with different levels.

Everything is deterministic: the file only changes when this script does.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["EMPLOYEES", "RATINGS", "SKILLS", "main"]

HERE = Path(__file__).resolve().parent
DATABASE = HERE / "legacy_skills.db"

#: (id, employee_no, email, full name, department); every email is a user of directory.csv.
EMPLOYEES = (
    (1, "000101", "adele.vance@contoso.com", "Adele Vance", "Finance"),
    (2, "000102", "alex.wilber@contoso.com", "Alex Wilber", "Engineering"),
    (3, "000103", "diego.siciliani@contoso.com", "Diego Siciliani", "Sales"),
    (4, "000104", "grady.archie@contoso.com", "Grady Archie", "Engineering"),
    (5, "000105", "henrietta.mueller@contoso.com", "Henrietta Mueller", "HR"),
    (6, "000106", "isaiah.langer@contoso.com", "Isaiah Langer", "Engineering"),
    (7, "000107", "johanna.lorenz@contoso.com", "Johanna Lorenz", "Finance"),
    (8, "000108", "megan.bowen@contoso.com", "Megan Bowen", "Marketing"),
)

#: (id, name, category): the catalogue with its many spellings.
SKILLS = (
    (1, "MS Excel", "Office"),
    (2, "Excel 2016", "Office"),
    (3, "excel", "Office"),
    (4, "Excel ", "Office"),
    (5, "Python", "Programming"),
    (6, "Pyhton", "Programming"),
    (7, "PowerPoint", "Office"),
    (8, "Power Point", "Office"),
    (9, "Kubernetes", "Cloud"),
    (10, "Kubernets", "Cloud"),
    (11, "SQL", "Data"),
    (12, "Negotiation", "Business"),
    (13, "Project Management", "Business"),
    (14, "Solitaire", "Office"),
)

#: (employee id, skill id, level 1-10, is_mentor, rated_on).
RATINGS = (
    (1, 1, 4, 0, "2019-03-01"),  # Adele: MS Excel 4 ...
    (1, 3, 8, 1, "2023-06-12"),  # ... and excel 8, a mentor: the 8 is kept
    (1, 12, 6, 0, "2021-01-20"),
    (1, 14, 10, 0, "2018-11-02"),  # Solitaire: mapped out
    (2, 2, 3, 0, "2017-05-05"),  # Alex: Excel 2016 3 ...
    (2, 4, 9, 0, "2024-02-02"),  # ... and "Excel " 9: the 9 is kept
    (2, 5, 7, 1, "2022-09-09"),
    (2, 9, 5, 0, "2023-03-03"),
    (3, 3, 5, 0, "2020-07-07"),
    (3, 7, 6, 0, "2020-07-07"),
    (3, 8, 2, 0, "2016-04-04"),  # Diego: PowerPoint 6 and Power Point 2: 6 is kept
    (3, 12, 9, 1, "2022-10-10"),
    (4, 5, 8, 0, "2021-08-08"),
    (4, 6, 8, 0, "2015-01-01"),  # Grady: Python twice at the same level: a plain duplicate
    (4, 10, 6, 0, "2023-12-12"),
    (4, 11, 7, 0, "2023-12-12"),
    (5, 13, 7, 1, "2022-02-22"),
    (5, 4, 3, 0, "2019-09-19"),
    (6, 9, 9, 1, "2024-04-04"),
    (6, 11, 4, 0, "2019-01-01"),
    (6, 1, 1, 0, "2014-02-02"),
    (7, 1, 6, 0, "2021-05-05"),
    (7, 13, 5, 0, "2020-06-06"),
    (8, 7, 8, 0, "2024-01-15"),
    (8, 12, 3, 0, "2018-08-18"),
)


def main() -> None:
    """Write ``legacy_skills.db`` afresh."""
    DATABASE.unlink(missing_ok=True)
    connection = sqlite3.connect(DATABASE)
    try:
        connection.executescript(
            """
            CREATE TABLE employees (
                id INTEGER PRIMARY KEY, employee_no TEXT NOT NULL, email TEXT NOT NULL,
                full_name TEXT NOT NULL, department TEXT
            );
            CREATE TABLE skills (id INTEGER PRIMARY KEY, name TEXT NOT NULL, category TEXT);
            CREATE TABLE employee_skills (
                employee_id INTEGER NOT NULL REFERENCES employees (id),
                skill_id INTEGER NOT NULL REFERENCES skills (id),
                level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 10),
                is_mentor INTEGER NOT NULL DEFAULT 0,
                rated_on TEXT,
                PRIMARY KEY (employee_id, skill_id)
            );
            """
        )
        connection.executemany("INSERT INTO employees VALUES (?, ?, ?, ?, ?)", EMPLOYEES)
        connection.executemany("INSERT INTO skills VALUES (?, ?, ?)", SKILLS)
        connection.executemany("INSERT INTO employee_skills VALUES (?, ?, ?, ?, ?)", RATINGS)
        connection.commit()
        # A compact file whose bytes depend only on the content.
        connection.execute("VACUUM")
    finally:
        connection.close()
    print(f"wrote {DATABASE}")


if __name__ == "__main__":
    main()
