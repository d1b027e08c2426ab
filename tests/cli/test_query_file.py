"""``input.query_file``: the SELECT of a database source kept in a file next to the config."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from importer.config import load_settings
from importer.errors import ConfigError
from importer.pipeline import validate_files


def _database(folder: Path) -> Path:
    path = folder / "legacy.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE s (email TEXT, skill TEXT, level TEXT)")
        connection.execute("INSERT INTO s VALUES ('ann@contoso.com', 'Python', '4')")
    return path


def test_a_query_file_is_read_relative_to_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "etc" / "sql").mkdir(parents=True)
    (tmp_path / "etc" / "sql" / "skills.sql").write_text(
        "SELECT email, skill, level FROM s", encoding="utf-8"
    )
    config = tmp_path / "etc" / "config.yaml"
    config.write_text(
        f"input:\n  query_file: sql/skills.sql\nreport:\n  dir: {tmp_path / 'reports'}\n",
        encoding="utf-8",
    )
    database = _database(tmp_path)
    monkeypatch.chdir(tmp_path)  # the scheduler's working folder is not the config's

    settings = load_settings(config, environ={})
    result = validate_files([f"sqlite:///{database}"], settings)

    assert settings.input.query == "SELECT email, skill, level FROM s"
    assert result.exit_code == 0
    assert result.counts["valid"] == 1


def test_a_missing_query_file_names_the_key_and_the_file(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("input:\n  query_file: missing.sql\n", encoding="utf-8")

    with pytest.raises(ConfigError) as error:
        load_settings(config, environ={})

    message = str(error.value)
    assert str(config) in message
    assert "input.query_file" in message
    assert str(tmp_path / "missing.sql") in message


def test_query_and_query_file_together_are_refused_naming_both(tmp_path: Path) -> None:
    (tmp_path / "skills.sql").write_text("SELECT 1", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text('input:\n  query: "SELECT 2"\n  query_file: skills.sql\n', encoding="utf-8")

    with pytest.raises(ConfigError, match=r"input\.query and input\.query_file are both set"):
        load_settings(config, environ={})


def test_a_query_on_the_command_line_wins_over_the_config_files_query_file(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("input:\n  query_file: missing.sql\n", encoding="utf-8")

    settings = load_settings(config, {"input": {"query": "SELECT 3"}}, environ={})

    assert settings.input.query == "SELECT 3"
