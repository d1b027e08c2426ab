"""Benchmark: a legacy skills database of 1,000,000 ratings, ``validate`` and ``inspect``.

Run: ``.venv/bin/python -m bench.bench_migrate [--rows N] [--names N]``.

The database (``bench/data/legacy_<rows>.db``, git-ignored, generated on first use) has the
shape of the sample ``samples/legacy_skills.db``: employees, a skills catalogue and the
employee_skills ratings (levels 1-10, a mentor flag), joined by the query below. The catalogue
holds ``--names`` distinct spellings (20,000 by default): base names made of two or three
words, plus the variants a hand-kept catalogue grows ("MS " prefixes, years, run-together
words, typos). As in the sample, (employee, skill) is the ratings table's primary key: each
person rates ten different catalogue entries.
Each command runs in its own child process: wall seconds from start to exit and that child's
peak RSS. Targets: validate <= 8 s, inspect <= 15 s. ``validate`` runs twice: with the default
``input.duplicates: error`` and with ``highest`` (a SQLite query is validated in two
processes, like a large CSV, under every policy).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["QUERY", "main", "write_database"]

DATA = Path(__file__).resolve().parent / "data"

QUERY = (
    'SELECT e.email AS "Employee Email", s.name AS skill, es.level AS level, '
    "s.category AS category, "
    "CASE WHEN es.is_mentor = 1 THEN 'ableToMentor' ELSE '' END AS tags "
    "FROM employee_skills es JOIN employees e ON e.id = es.employee_id "
    "JOIN skills s ON s.id = es.skill_id"
)

CONFIG = """\
values:
  proficiency: {"1": elementary, "2": elementary, "3": limitedWorking, "4": limitedWorking,
                "5": generalProfessional, "6": generalProfessional, "7": advancedProfessional,
                "8": advancedProfessional, "9": expert, "10": expert}
"""

_WORDS = (
    *("python", "sql", "azure", "java", "sales", "finance", "design", "legal", "payroll", "ops"),
    *("excel", "power", "point", "data", "cloud", "security", "network", "react", "node"),
    *("docker", "kubernetes", "agile", "scrum", "project", "management", "marketing"),
    *("analytics", "machine", "learning", "writing", "negotiation", "leadership", "coaching"),
    *("testing", "devops", "linux", "windows", "oracle", "sap", "salesforce", "budgeting"),
    *("forecasting", "audit", "tax", "compliance", "procurement", "logistics", "warehouse"),
    *("customer", "service", "recruiting", "onboarding", "training", "mentoring"),
)


def _names(count: int, rng: random.Random) -> list[str]:
    """``count`` distinct spellings: base names and their catalogue variants."""
    names: dict[str, None] = {}
    bases: list[str] = []
    while len(names) < count:
        if not bases or rng.random() < 0.6:
            base = " ".join(w.capitalize() for w in rng.sample(_WORDS, rng.choice((2, 2, 3))))
            bases.append(base)
            names.setdefault(base)
            continue
        base = rng.choice(bases)
        variant = rng.choice(
            (
                f"MS {base}",
                f"{base} {rng.choice((2013, 2016, 2019, 2021))}",
                base.replace(" ", ""),
                base[:-1] if len(base) > 6 else base + "s",
            )
        )
        names.setdefault(variant)
    return list(names)


def write_database(path: Path, rows: int, distinct_names: int, seed: int = 11) -> None:
    """Write a legacy database of ``rows`` ratings over ``distinct_names`` skill spellings."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    try:
        connection.executescript(
            "CREATE TABLE employees (id INTEGER PRIMARY KEY, email TEXT, full_name TEXT);"
            "CREATE TABLE skills (id INTEGER PRIMARY KEY, name TEXT, category TEXT);"
            "CREATE TABLE employee_skills (employee_id INTEGER, skill_id INTEGER,"
            " level INTEGER, is_mentor INTEGER);"
        )
        names = _names(distinct_names, rng)
        categories = ("Technical", "Business", "Office", "Language", "")
        connection.executemany(
            "INSERT INTO skills VALUES (?, ?, ?)",
            ((i, name, rng.choice(categories)) for i, name in enumerate(names, start=1)),
        )
        people = max(1, rows // 10)
        connection.executemany(
            "INSERT INTO employees VALUES (?, ?, ?)",
            ((i, f"employee{i:07d}@contoso.com", f"Employee {i}") for i in range(people)),
        )
        # Popular skills are rated far more often than the long tail, as in real catalogues.
        weights = [1 / (rank + 10) for rank in range(len(names))]
        picks = iter(rng.choices(range(1, len(names) + 1), weights=weights, k=rows * 2))

        def ratings() -> Iterator[tuple[int, int, int, int]]:
            for person in range(people):
                chosen: set[int] = set()
                while len(chosen) < min(10, rows - person * 10):
                    chosen.add(next(picks, None) or rng.randrange(1, len(names) + 1))
                for skill in chosen:
                    yield person, skill, rng.randint(1, 10), int(rng.random() < 0.1)

        connection.executemany("INSERT INTO employee_skills VALUES (?, ?, ?, ?)", ratings())
        connection.commit()
    finally:
        connection.close()


def measure(command: list[str]) -> tuple[float, float, float, int]:
    """Run ``command``; return (wall s, CPU s of the child and its children, peak RSS MB, exit).

    CPU seconds are what the machine's load does not inflate: on a shared 2-core machine the
    wall time can be twice the CPU time while other work runs.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    return (
        wall,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss / 1024,
        (os.waitstatus_to_exitcode(status)),
    )


def main(argv: list[str] | None = None) -> None:
    """Generate the database if needed, then time validate and inspect on it."""
    parser = argparse.ArgumentParser(description="legacy database benchmark")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--names", type=int, default=20_000)
    args = parser.parse_args(argv)
    database = DATA / f"legacy_{args.rows}_{args.names}.db"
    if not database.exists():
        print(f"generating {database} ({args.rows:,} ratings)...", flush=True)
        write_database(database, args.rows, args.names)
    url = f"sqlite:///{database}"
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.yaml"
        config.write_text(CONFIG, encoding="utf-8")
        highest = Path(folder) / "highest.yaml"
        highest.write_text(CONFIG + "input:\n  duplicates: highest\n", encoding="utf-8")
        runs = (
            ("validate", config, 8.0, "duplicates: error"),
            ("validate", highest, 8.0, "duplicates: highest"),
            ("inspect", config, 15.0, ""),
        )
        for command, settings, target, note in runs:
            argv_ = [
                sys.executable, "-m", "importer", command, url, "--query", QUERY,
                "-c", str(settings), "--report-dir", str(Path(folder) / "reports"),
            ]  # fmt: skip
            if command == "validate":
                argv_.append("--quiet")
            wall, cpu, rss, code = measure(argv_)
            verdict = "ok" if wall <= target else "OVER TARGET"
            print(
                f"skills-import {command:9} {note:34} {args.rows:>9,} rows {args.names:>6,} names "
                f"{wall:6.2f} s wall  {cpu:6.2f} s CPU  peak RSS {rss:6.0f} MB  exit {code}  "
                f"(target {target:.0f} s: {verdict}; load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
