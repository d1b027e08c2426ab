"""``connector setup``, ``check`` and ``run`` with ``target.kind: connector``, on the CLI."""

from __future__ import annotations

from pathlib import Path

from importer.config import load_settings
from importer.errors import ExitCode
from importer.lock import RunLock
from tests.conftest import invoke_cli
from tests.importing import write_csv

ADELE = "adele.vance@contoso.com"


def connector_config(config: Path) -> Path:
    """The ``config`` fixture's file with the connector target."""
    text = config.read_text(encoding="utf-8").replace("target:\n", "target:\n  kind: connector\n")
    config.write_text(text, encoding="utf-8")
    return config


def test_setup_on_the_command_line_is_idempotent_and_says_what_an_admin_must_do(
    config: Path,
) -> None:
    path = str(connector_config(config))

    first = invoke_cli("connector", "setup", "-c", path)
    second = invoke_cli("connector", "setup", "-c", path)

    assert first[0] == ExitCode.OK, first[2]
    assert "created the connection 'skillsimport'" in first[1]
    assert second[0] == ExitCode.OK, second[2]
    assert "the schema is registered" in second[1]
    assert "created the connection" not in second[1]
    assert "Still to do by an admin" in second[1]
    assert "prioritized profile sources" in second[1]


def test_setup_waits_for_the_lock_of_a_run(config: Path) -> None:
    path = connector_config(config)
    with RunLock.for_settings(load_settings(path)):
        code, _out, err = invoke_cli("connector", "setup", "-c", str(path))

    assert code == ExitCode.LOCKED
    assert "error:" in err


def test_check_probes_the_connection_schema_and_permission(config: Path) -> None:
    path = str(connector_config(config))

    before = invoke_cli("check", "--user", ADELE, "-c", path)
    invoke_cli("connector", "setup", "-c", path)
    after = invoke_cli("check", "--user", ADELE, "-c", path)

    assert before[0] == ExitCode.ROWS_FAILED
    assert "connector setup" in before[1]
    assert after[0] == ExitCode.OK, after[1]
    for step in ("read the connection", "schema state", "permission to write items"):
        assert step in after[1]


def test_a_run_after_setup_imports_and_the_rerun_changes_nothing(
    config: Path, tmp_path: Path
) -> None:
    path = str(connector_config(config))
    source = write_csv(tmp_path / "skills.csv", [(ADELE, "Python", "expert", "")])
    invoke_cli("connector", "setup", "-c", path)

    first = invoke_cli("run", "-c", path, "--quiet", str(source))
    second = invoke_cli("run", "-c", path, "--quiet", str(source))

    assert first[0] == ExitCode.OK, first[2]
    assert "created" in first[1]
    assert second[0] == ExitCode.OK
    assert "unchanged" in second[1]
    assert "created" not in second[1]


def test_a_delegated_sign_in_is_refused_for_a_connector_on_graph(config: Path) -> None:
    text = config.read_text(encoding="utf-8").replace(
        "target:\n", "target:\n  kind: connector\n  graph: https://graph.microsoft.com\n"
    )
    config.write_text(text, encoding="utf-8")

    code, _out, err = invoke_cli("connector", "setup", "-c", str(config))

    assert code == ExitCode.USAGE
    assert "device-code cannot write a people-data connector" in err
