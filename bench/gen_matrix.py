"""Generate a skills matrix workbook for benchmarks, deterministically.

Run: ``.venv/bin/python -m bench.gen_matrix PEOPLE SKILLS OUT.xlsx [--seed N]``.

One row per person (email, name, department), one column per skill; about half of the skill
cells are filled, with levels as HR writes them (numbers 1-5, a few words), so each person
yields about SKILLS / 2 skill rows.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import openpyxl

__all__ = ["main", "write_matrix"]

_LEVELS = ("1", "2", "3", "4", "5", "3", "4", "expert", "beginner", "advanced")


def write_matrix(path: Path, people: int, skills: int, seed: int = 7) -> None:
    """Write a one-sheet matrix of ``people`` rows by ``skills`` skill columns."""
    rng = random.Random(seed)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Matrix")
    sheet.append(["Skills matrix (generated)"])
    sheet.append(["Employee Email", "Name", "Department", *(f"Skill {n}" for n in range(skills))])
    for person in range(people):
        levels = [
            (int(level) if level.isdigit() else level) if rng.random() < 0.5 else None
            for level in (rng.choice(_LEVELS) for _ in range(skills))
        ]
        sheet.append([f"user{person}@contoso.com", f"User {person}", "Engineering", *levels])
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)


def main(argv: list[str] | None = None) -> None:
    """Command line: PEOPLE SKILLS OUT [--seed N]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("people", type=int)
    parser.add_argument("skills", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    write_matrix(args.out, args.people, args.skills, args.seed)


if __name__ == "__main__":
    main()
