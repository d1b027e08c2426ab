"""Settings: file < environment < flags, and one-line errors naming the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from importer.config import Settings, load_settings
from importer.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_environment_beats_file_and_flags_beat_both(tmp_path: Path) -> None:
    path = _write(tmp_path, "run:\n  concurrency: 4\n  batch_size: 10\n  mode: create\n")
    env = {"SKILLS_IMPORT_RUN__CONCURRENCY": "6", "SKILLS_IMPORT_RUN__BATCH_SIZE": "5"}

    from_file = load_settings(path, environ={})
    from_env = load_settings(path, environ=env)
    from_flags = load_settings(path, {"run": {"concurrency": 9}}, environ=env)

    assert from_file.run.concurrency == 4
    assert from_env.run.concurrency == 6
    assert from_flags.run.concurrency == 9
    # Layers merge per key: what a higher layer does not set comes from below.
    assert from_flags.run.batch_size == 5
    assert from_flags.run.mode == "create"


def test_the_shipped_config_yaml_loads_and_equals_the_built_in_defaults() -> None:
    shipped = load_settings(ROOT / "config.yaml", environ={})
    defaults = Settings()
    for section in ("input", "columns", "values", "defaults", "run", "auth"):
        assert getattr(shipped, section) == getattr(defaults, section), section
    assert shipped.target.graph == defaults.target.graph == "sandbox"
    assert shipped.report.formats == defaults.report.formats


def test_a_typo_in_a_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "run:\n  concurency: 4\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path, environ={})
    assert str(path) in str(error.value)
    assert "run.concurency" in str(error.value)
    assert "is not a known key (did you mean run.concurrency?)" in str(error.value)


def test_a_wrong_type_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "run:\n  concurrency: lots\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path, environ={})
    assert str(path) in str(error.value)
    assert "run.concurrency" in str(error.value)


def test_a_missing_config_file_that_was_asked_for_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(ConfigError, match=r"nowhere\.yaml"):
        load_settings(missing, environ={})


def test_a_bad_environment_value_says_it_came_from_the_environment(tmp_path: Path) -> None:
    path = _write(tmp_path, "")
    with pytest.raises(ConfigError) as error:
        load_settings(path, environ={"SKILLS_IMPORT_RUN__MODE": "nuke"})
    assert str(error.value) == (
        "environment variable SKILLS_IMPORT_RUN__MODE: run.mode is 'nuke', but it must be one "
        "of create, upsert, sync."
    )


def test_secrets_are_refused_in_the_file_and_taken_from_the_environment(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SKILLS_IMPORT_CLIENT_SECRET"):
        load_settings(_write(tmp_path, "client_secret: abc\n"), environ={})
    settings = load_settings(
        _write(tmp_path, ""), environ={"SKILLS_IMPORT_CLIENT_SECRET": "from-env-only"}
    )
    assert settings.client_secret is not None
    assert settings.client_secret.get_secret_value() == "from-env-only"
    assert "from-env-only" not in repr(settings)


def test_relative_paths_are_resolved_against_the_config_files_folder(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    path = folder / "nightly.yaml"
    path.write_text("target:\n  sandbox_directory: users.csv\nreport:\n  dir: out\n")
    settings = load_settings(path, environ={})
    assert settings.target.sandbox_directory == folder / "users.csv"
    assert settings.report.dir == folder / "out"


@pytest.mark.parametrize(
    ("graph", "ok"),
    [
        ("sandbox", True),
        ("https://graph.microsoft.com", True),
        ("https://graph.microsoft.us", True),
        ("https://microsoftgraph.chinacloudapi.cn/", True),
        ("http://127.0.0.1:8765", True),
        ("http://graph.microsoft.com", False),
        ("http://10.0.0.5:8765", False),
        ("https://evil.example.com", False),
    ],
)
def test_only_known_clouds_and_loopback_sandboxes_are_targets(graph: str, ok: bool) -> None:
    if ok:
        assert load_settings(None, {"target": {"graph": graph}}, environ={}).target.graph
    else:
        with pytest.raises(ConfigError, match=r"command line: target\.graph"):
            load_settings(None, {"target": {"graph": graph}}, environ={})


def test_batch_size_above_graphs_limit_of_20_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"run\.batch_size"):
        load_settings(None, {"run": {"batch_size": 21}}, environ={})


def test_without_c_the_config_yaml_of_the_current_folder_is_used_if_there_is_one(
    tmp_path: Path,
) -> None:
    # Tests run in their own empty folder (conftest): no config.yaml there yet.
    assert load_settings(None, environ={}).run.concurrency == Settings().run.concurrency
    (tmp_path / "config.yaml").write_text("run:\n  concurrency: 3\n", encoding="utf-8")

    assert load_settings(None, environ={}).run.concurrency == 3


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "run:\n  concurrency: lots\n",
            "run.concurrency is 'lots', but it must be a whole number from 1 to 256.",
        ),
        (
            "run:\n  max_invalid_ratio: 5%\n",
            "run.max_invalid_ratio is '5%', but it must be a number from 0 to 1.",
        ),
        ("input:\n  sheets: Sheet1\n", "input.sheets is 'Sheet1', but it must be a list, e.g. "),
        (
            "report:\n  formats: [csv, pdf]\n",
            "report.formats (item 2) is 'pdf', but it must be one of csv, xlsx, json.",
        ),
        ("notify:\n  when: weekly\n", "notify.when is 'weekly', but it must be one of never, "),
        ("run: fast\n", "run is 'fast', but it must be a section of keys and values."),
        ("rnu:\n  mode: sync\n", "rnu is not a known key (did you mean run?); the sections are"),
        (
            "target:\n  graph: https://admin:hunter2@graph.example.com\n",
            "target.graph is 'https://***@graph.example.com', but it must be one of sandbox, ",
        ),
    ],
)
def test_config_typos_are_one_plain_sentence_naming_file_key_value_and_what_is_allowed(
    tmp_path: Path, yaml_text: str, message: str
) -> None:
    path = _write(tmp_path, yaml_text)
    with pytest.raises(ConfigError) as error:
        load_settings(path, environ={})
    text = str(error.value)
    assert text.startswith(f"{path}: {message}")
    assert text.endswith(".")
    assert text.count("\n") == 0
    for pydantic_wording in ("Input should", "valid tuple", "Value error", "Extra inputs"):
        assert pydantic_wording not in text
    assert "hunter2" not in text
    assert "admin" not in text


def test_a_yaml_on_key_under_notify_means_when(tmp_path: Path) -> None:
    # YAML 1.1 reads `on:` as the boolean true.
    settings = load_settings(_write(tmp_path, "notify:\n  on: always\n"), environ={})
    assert settings.notify.when == "always"
    with pytest.raises(ConfigError, match="both `on` and `when`"):
        load_settings(_write(tmp_path, "notify:\n  on: always\n  when: never\n"), environ={})


def test_notify_urls_come_from_the_environment_only_and_are_never_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SKILLS_IMPORT_NOTIFY_URLS"):
        load_settings(_write(tmp_path, "notify_urls: json://127.0.0.1/x\n"), environ={})
    settings = load_settings(
        _write(tmp_path, ""),
        environ={"SKILLS_IMPORT_NOTIFY_URLS": "json://u:s3cr3t-hook@127.0.0.1/x"},
    )
    assert settings.notify_urls is not None
    assert "s3cr3t-hook" not in repr(settings)
