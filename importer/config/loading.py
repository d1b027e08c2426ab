"""Loading the settings: config.yaml, then ``SKILLS_IMPORT_...`` environment variables, then flags.

Unknown keys, wrong types and impossible combinations raise ``ConfigError`` naming where the
value came from (the file, an environment variable or the command line), the key and what is
allowed (``importer.config.messages``). Relative paths in a config file (``target.sandbox_db``,
``target.sandbox_directory``, ``report.dir``, ``auth.certificate_path``, ``input.skills_map``,
``input.query_file``, ``orgdata.library``) are resolved against the folder of that file, so a
scheduler can run the job from any working directory. Secrets are refused in the file.

``input.query_file`` is read into ``input.query`` here, once: a query given on the command line
(``--query`` or ``--query-file``) wins over both keys; ``input.query`` and ``input.query_file``
set together below it are a config error, since neither can be said to win.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource

from importer.config.messages import describe_validation_error
from importer.config.settings import Settings
from importer.errors import ConfigError

__all__ = ["DEFAULT_CONFIG_PATH", "load_settings"]

#: Used when no ``-c`` is given, if it exists (relative to the working directory).
DEFAULT_CONFIG_PATH = Path("config.yaml")

_SECRET_KEYS = {"client_secret", "access_token", "database_password", "notify_urls"}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    notify = data.get("notify")
    if isinstance(notify, dict) and True in notify:
        # YAML 1.1 reads a bare `on:` key as true: `notify: {on: failure}` means `when`.
        if "when" in notify:
            raise ConfigError(f"{path}: notify sets both `on` and `when`; keep `when` only.")
        notify["when"] = notify.pop(True)
    for key in _SECRET_KEYS & set(data):
        raise ConfigError(
            f"{path}: key '{key}' is not allowed in a file; "
            f"set SKILLS_IMPORT_{key.upper()} in the environment instead"
        )
    return data


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    for section, key in (
        ("target", "sandbox_db"),
        ("target", "sandbox_directory"),
        ("report", "dir"),
        ("auth", "certificate_path"),
        ("input", "skills_map"),
        ("input", "query_file"),
        ("orgdata", "library"),
    ):
        part = data.get(section)
        if isinstance(part, dict) and isinstance(part.get(key), str) and part[key]:
            value = Path(part[key]).expanduser()
            if not value.is_absolute() and str(value) != ":memory:":
                part[key] = str(base / value)


class _DictSource(PydanticBaseSettingsSource):
    """A settings source over an already-parsed mapping (the YAML file)."""

    def __init__(self, settings_cls: type[BaseSettings], data: Mapping[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = dict(data)

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def _build(
    file_data: Mapping[str, Any], overrides: Mapping[str, Any], environ: Mapping[str, str] | None
) -> Settings:
    class _Layered(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            env_source = EnvSettingsSource(settings_cls)
            if environ is not None:
                env_source.env_vars = {k.lower(): v for k, v in environ.items()}
            return (init_settings, env_source, _DictSource(settings_cls, file_data))

    layered = _Layered(**overrides)
    return Settings.model_construct(**dict(layered))


def load_settings(
    config_path: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings of one run: file < environment < flags.

    Args:
        config_path: the YAML file. ``None`` means ``./config.yaml`` if it exists, else the
            built-in defaults. A path that was given explicitly must exist.
        overrides: nested values from CLI flags, e.g. ``{"run": {"concurrency": 4}}``; they win.
        environ: the environment to read ``SKILLS_IMPORT_...`` from (default ``os.environ``).

    Raises:
        ConfigError: naming the key and where it came from (the file, "environment" or
            "command line").
    """
    if config_path is None and DEFAULT_CONFIG_PATH.exists():
        config_path = DEFAULT_CONFIG_PATH
    data: dict[str, Any] = {}
    origin = "built-in defaults"
    if config_path is not None:
        data = _read_yaml(config_path)
        _resolve_paths(data, config_path.resolve().parent)
        origin = str(config_path)
    data["config_path"] = str(config_path or "")
    try:
        settings = _build(data, overrides or {}, environ)
    except ValidationError as exc:
        loc = tuple(exc.errors()[0]["loc"])
        variable = _env_mentions(loc, environ)
        if overrides and _mentions(overrides, loc):
            origin = "command line"
        elif variable:
            origin = f"environment variable {variable}"
        raise ConfigError(describe_validation_error(exc, origin, Settings)) from None
    return _with_query_file(settings, overrides or {}, environ, origin)


def _with_query_file(
    settings: Settings,
    overrides: Mapping[str, Any],
    environ: Mapping[str, str] | None,
    origin: str,
) -> Settings:
    """``settings`` with ``input.query`` read from ``input.query_file``, when that is set.

    Raises:
        ConfigError: both keys are set, or the file cannot be read (naming the key and file).
    """
    path = settings.input.query_file
    if path is None or _mentions(overrides, ("input", "query")):
        return settings  # none given, or the command line's query wins
    variable = _env_mentions(("input", "query_file"), environ)
    where = f"environment variable {variable}" if variable else origin
    if settings.input.query.strip():
        raise ConfigError(
            f"{where}: input.query and input.query_file are both set; keep one "
            f"(the query file is {path})."
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = (exc.strerror or type(exc).__name__) if isinstance(exc, OSError) else "not UTF-8"
        raise ConfigError(f"{where}: input.query_file {path} cannot be read ({reason}).") from None
    if not text.strip():
        raise ConfigError(f"{where}: input.query_file {path} is empty; it must hold a SELECT.")
    section = settings.input.model_copy(update={"query": text})
    return settings.model_copy(update={"input": section})


def _mentions(values: Mapping[str, Any], loc: tuple[int | str, ...]) -> bool:
    node: Any = values
    for part in loc:
        in_mapping = isinstance(node, Mapping) and part in node
        in_list = isinstance(node, list | tuple) and isinstance(part, int) and part < len(node)
        if not (in_mapping or in_list):
            return False
        node = node[part]
    return True


def _env_mentions(loc: tuple[int | str, ...], environ: Mapping[str, str] | None) -> str:
    """The environment variable that set the value at ``loc``, or ""."""
    env = environ if environ is not None else os.environ
    names = {k.upper(): k for k in env}
    for depth in range(len(loc), 0, -1):
        name = ("SKILLS_IMPORT_" + "__".join(str(p) for p in loc[:depth])).upper()
        if name in names:
            return names[name]
    return ""
