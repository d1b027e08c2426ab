"""Database sources: a SQLAlchemy URL and a SELECT read like a file, read-only, password masked."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from importer.config import ColumnsSettings, load_settings
from importer.errors import InputError
from importer.pipeline import validate_files
from importer.read import DatabaseSource, HeaderMatcher, mask_url
from tests.conftest import invoke_cli

ADELE = "adele.vance@contoso.com"
ALEX = "alex.wilber@contoso.com"
SECRET = "Tr0ub4dor-3-horse"  # a made-up password that must never be shown


def make_db(path: Path, rows: Iterable[Sequence[object]]) -> Path:
    """A small legacy database: one table of (email, skill, lvl, note)."""
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE skills (email TEXT, skill TEXT, lvl NUMERIC, note TEXT)")
        connection.executemany("INSERT INTO skills VALUES (?, ?, ?, ?)", rows)
    connection.close()
    return path


def _matcher() -> HeaderMatcher:
    return HeaderMatcher(ColumnsSettings())


def test_rows_stream_as_text_with_1_based_result_rows(tmp_path: Path) -> None:
    db = make_db(
        tmp_path / "legacy.db",
        [(ADELE, "Excel", 3, None), (None, None, None, None), (ALEX, "Python", 4.0, "x")],
    )
    source = DatabaseSource(
        f"sqlite:///{db}", "SELECT email, skill, lvl AS level, note FROM skills", _matcher()
    )
    rows = list(source.iter_rows())
    assert [(r.row, r.cells) for r in rows] == [
        (1, (ADELE, "Excel", "3", "")),
        (3, (ALEX, "Python", "4", "x")),
    ]
    assert (source.rows, source.blank_rows) == (2, 1)
    assert source.table.mapping == {"user": 0, "displayName": 1, "proficiency": 2}
    assert source.table.ignored == ("note",)


def test_small_chunks_still_give_every_row_in_order(tmp_path: Path) -> None:
    db = make_db(tmp_path / "legacy.db", [(ADELE, f"Skill {n}", 1, "") for n in range(23)])
    source = DatabaseSource(
        f"sqlite:///{db}", "SELECT email, skill FROM skills", _matcher(), chunk_rows=4
    )
    assert [r.cells[1] for r in source.iter_rows()] == [f"Skill {n}" for n in range(23)]


def test_validate_reports_the_url_as_source_and_never_changes_the_file(tmp_path: Path) -> None:
    db = make_db(tmp_path / "legacy.db", [(ADELE, "Excel", 3, ""), (ALEX, "Excel", "eleven", "")])
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    settings = load_settings(
        None,
        {
            "input": {"query": "SELECT email, skill, lvl AS level FROM skills"},
            "report": {"dir": str(tmp_path / "reports")},
        },
        environ={},
    )
    result = validate_files([f"sqlite:///{db}"], settings)
    assert result.exit_code == 1
    with (result.report_dir / "results.csv").open(encoding="utf-8-sig") as handle:
        lines = list(csv.DictReader(handle))
    assert [(line["source"], line["row"], line["action"]) for line in lines] == [
        (f"sqlite:///{db}", "1", "valid"),
        (f"sqlite:///{db}", "2", "invalid"),
    ]
    assert "'eleven'" in lines[1]["error"]
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_a_writing_query_is_refused_by_the_read_only_handle(tmp_path: Path) -> None:
    db = make_db(tmp_path / "legacy.db", [(ADELE, "Excel", 3, "")])
    with pytest.raises(InputError, match="readonly"):
        DatabaseSource(f"sqlite:///{db}", "DELETE FROM skills RETURNING email, skill", _matcher())
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM skills").fetchone() == (1,)
    connection.close()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT nope FROM skills", "the query failed: no such column: nope"),
        ("SELEC email FROM skills", "the query failed"),
        ("SELECT email, note FROM skills", "displayName"),
        ("SELECT email, skill FROM skills WHERE 0", "the query returned no rows"),
        ("", "needs a query"),
    ],
)
def test_a_broken_query_is_one_line_exit_2_and_nothing_is_sent(
    config: Path, tmp_path: Path, query: str, message: str
) -> None:
    db = make_db(tmp_path / "legacy.db", [(ADELE, "Excel", 3, "")])
    code, _, err = invoke_cli("run", "-c", str(config), f"sqlite:///{db}", "--query", query)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "graph.sqlite").exists()  # the sandbox never started


def test_a_missing_database_file_is_exit_2(config: Path, tmp_path: Path) -> None:
    code, _, err = invoke_cli(
        "validate", "-c", str(config), f"sqlite:///{tmp_path / 'gone.db'}", "--query", "SELECT 1"
    )
    assert code == 2
    assert "database file not found" in err


def _everything_written(folder: Path) -> str:
    """The text of every file under ``folder`` (reports, lock, run.log), for secret checks."""
    return "".join(p.read_text("utf-8", errors="replace") for p in folder.rglob("*") if p.is_file())


def test_no_server_is_exit_2_and_the_password_is_nowhere(config: Path, tmp_path: Path) -> None:
    url = f"postgresql://u:{SECRET}@127.0.0.1:9/db"
    code, out, err = invoke_cli("run", "-c", str(config), url, "--query", "SELECT 1")
    assert code == 2
    assert "cannot connect to the database" in err
    assert "postgresql://u:***@127.0.0.1:9/db" in err
    assert SECRET not in out + err
    assert SECRET not in _everything_written(tmp_path)
    code, out, err = invoke_cli("validate", "-c", str(config), url, "--query", "SELECT 1")
    assert code == 2
    assert SECRET not in out + err


def test_a_password_from_the_environment_is_used_and_never_shown(
    config: Path, tmp_path: Path
) -> None:
    code, out, err = invoke_cli(
        "validate",
        "-c",
        str(config),
        "postgresql://u@127.0.0.1:9/db",
        "--query",
        "SELECT 1",
        env={"SKILLS_IMPORT_DATABASE_PASSWORD": SECRET},
    )
    assert code == 2
    assert "cannot connect" in err
    assert SECRET not in out + err


def test_a_password_in_the_config_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"database_password: {SECRET}\n", encoding="utf-8")
    code, out, err = invoke_cli(
        "validate", "-c", str(path), "sqlite:///x.db", "--query", "SELECT 1"
    )
    assert code == 2
    assert "SKILLS_IMPORT_DATABASE_PASSWORD" in err
    assert SECRET not in out + err


def test_a_missing_driver_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, config: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pyodbc", None)  # as if the driver were not installed
    code, _, err = invoke_cli(
        "validate", "-c", str(config), f"mssql+pyodbc://sa:{SECRET}@db/hr", "--query", "SELECT 1"
    )
    assert code == 2
    assert "pip install 'skills-import[mssql]'" in err
    assert SECRET not in err


def test_query_file_and_query_in_the_config(config: Path, tmp_path: Path) -> None:
    db = make_db(tmp_path / "legacy.db", [(ADELE, "Excel", 3, "")])
    query = tmp_path / "skills.sql"
    query.write_text("SELECT email, skill FROM skills\n", encoding="utf-8")
    code, out, err = invoke_cli(
        "validate", "-c", str(config), f"sqlite:///{db}", "--query-file", str(query)
    )
    assert code == 0, err
    assert "valid" in out
    code, _, err = invoke_cli(
        "validate", "-c", str(config), f"sqlite:///{db}", "--query-file", str(query), "--query", "x"
    )
    assert code == 2
    assert "not both" in err
    configured = tmp_path / "db.yaml"
    configured.write_text(
        config.read_text("utf-8")
        + "input:\n  query: |\n    SELECT email, skill\n    FROM skills\n",
        encoding="utf-8",
    )
    code, _, err = invoke_cli("validate", "-c", str(configured), f"sqlite:///{db}")
    assert code == 0, err
    summary = json.loads(next((tmp_path / "reports").glob("*/summary.json")).read_text("utf-8"))
    assert summary["inputs"][0]["path"] == f"sqlite:///{db}"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:pw@host/db", "postgresql://u:***@host/db"),
        ("mssql+pyodbc://sa:p%40ss@db/hr?driver=x", "mssql+pyodbc://sa:***@db/hr?driver=x"),
        ("sqlite:///legacy.db", "sqlite:///legacy.db"),
        ("weird://a:b@c:notaport/", "weird://a:***@c:notaport/"),
    ],
)
def test_mask_url_hides_only_the_password(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_the_sqlalchemy_path_of_other_databases_reads_the_same_rows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = make_db(tmp_path / "legacy.db", [(ADELE, "Excel", 3, None), (ALEX, "Go", 2.5, "x")])
    query = "SELECT email, skill, lvl AS level, note FROM skills"
    fast = [r.cells for r in DatabaseSource(f"sqlite:///{db}", query, _matcher()).iter_rows()]
    monkeypatch.setattr("importer.read.database._RAW_CURSOR_DIALECTS", frozenset())
    generic = DatabaseSource(f"sqlite:///{db}", query, _matcher(), chunk_rows=1)
    assert (
        [r.cells for r in generic.iter_rows()]
        == fast
        == [
            (ADELE, "Excel", "3", ""),
            (ALEX, "Go", "2.5", "x"),
        ]
    )
    with pytest.raises(InputError, match="the query failed"):
        DatabaseSource(f"sqlite:///{db}", "SELECT nope FROM skills", _matcher())
