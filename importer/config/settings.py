"""The settings model: one section per part of config.yaml, each with its defaults and checks.

``Settings`` is frozen: built once at the CLI boundary (``importer.config.loading``) and passed
down. A value that is wrong, or a combination that cannot work, fails here with the key named.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from importer.records import header_key
from importer.vocabulary import scale_overlaps, split_synonyms

__all__ = [
    "NATIONAL_CLOUDS",
    "AuthSettings",
    "ColumnsSettings",
    "DefaultsSettings",
    "InputSettings",
    "OrgDataSettings",
    "ReportSettings",
    "RunSettings",
    "Settings",
    "TargetSettings",
    "ValuesSettings",
]

logger = logging.getLogger(__name__)


#: Graph root -> sign-in authority host, for the clouds that host the profile API.
NATIONAL_CLOUDS: dict[str, str] = {
    "https://graph.microsoft.com": "login.microsoftonline.com",
    "https://graph.microsoft.us": "login.microsoftonline.us",
    "https://dod-graph.microsoft.us": "login.microsoftonline.us",
    "https://microsoftgraph.chinacloudapi.cn": "login.chinacloudapi.cn",
}

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetSettings(_Section):
    """Where skills are written: the built-in sandbox, a Graph cloud, or a loopback URL."""

    graph: str = "sandbox"
    #: What receives the skills: ``profile`` (each person's profile skills, the beta API),
    #: ``connector`` (a people-data connector's items), ``orgdata-csv`` (Org data upload files
    #: in the report folder; nothing is sent).
    kind: Literal["profile", "connector", "orgdata-csv"] = "profile"
    api_version: Literal["beta", "v1.0"] = "beta"
    sandbox_db: Path = Path(".sandbox/graph.sqlite")
    sandbox_directory: Path = Path("samples/directory.csv")

    @field_validator("graph")
    @classmethod
    def _known_target(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value == "sandbox" or value in NATIONAL_CLOUDS:
            return value
        parts = urlsplit(value)
        if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS and parts.port:
            return value
        allowed = ", ".join(["sandbox", *NATIONAL_CLOUDS, "http://127.0.0.1:PORT"])
        # The message names what is allowed; the value (maybe with a password) is shown by
        # the caller, masked.
        raise ValueError(f"must be one of {allowed}")

    @property
    def is_sandbox(self) -> bool:
        """True when nothing is sent to Microsoft Graph (built-in or loopback sandbox)."""
        return self.graph == "sandbox" or self.graph.startswith("http://")


class AuthSettings(_Section):
    """How to sign in to real Graph. Secrets come from the environment, never from this file."""

    method: Literal["device-code", "client-secret", "certificate", "managed-identity", "token"] = (
        "device-code"
    )
    tenant_id: str = ""
    client_id: str = ""
    #: Sign-in host, ``https://`` only; empty = the sign-in host of ``target.graph``'s cloud.
    authority: str = ""
    certificate_path: Path | None = None
    #: ``encrypted``: the platform's protected store (Windows DPAPI, macOS Keychain, Linux
    #: libsecret), or a clear error where there is none. ``file``: an explicit opt-in to a
    #: plaintext cache file with 0600 permissions where no protected store exists.
    cache: Literal["encrypted", "file"] = "encrypted"

    @field_validator("certificate_path", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    @field_validator("authority")
    @classmethod
    def _https_authority(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value:
            return ""
        if "://" not in value:
            value = f"https://{value}"
        parts = urlsplit(value)
        if "@" in parts.netloc:
            raise ValueError("must not hold a user name or password (not echoed here)")
        if parts.scheme != "https":
            raise ValueError(
                f"{value!r} is not https: tokens and secrets are only sent to an https sign-in host"
            )
        if not parts.hostname or parts.path or parts.query or parts.fragment:
            raise ValueError(
                f"{value!r} must be a sign-in host only, e.g. https://login.microsoftonline.com"
            )
        return value


class InputSettings(_Section):
    """How input files are read."""

    sheets: tuple[str, ...] = ()
    delimiter: Literal["auto", ",", ";", "\t", "|"] = "auto"
    encoding: str = "auto"
    list_separator: str = Field(default=";", min_length=1)
    #: What the user column holds: auto (a GUID is an object id, anything else a UPN), or one key.
    user_key: Literal["auto", "id", "userPrincipalName", "mail", "employeeId"] = "auto"
    #: rows: one skill per row; matrix: one column per skill; list: several skills in one cell.
    layout: Literal["auto", "rows", "matrix", "list"] = "auto"
    #: matrix: the skill columns, by header names or a letter range such as "D:P"; empty = auto.
    skill_columns: tuple[str, ...] = ()
    #: list: between skills in one cell; each skill may be written "Name (Level)".
    skill_separator: str = Field(default=";", min_length=1)
    #: Database sources: the SELECT that yields the rows.
    query: str = ""
    #: Database sources: a file holding the SELECT (read into ``query`` when the settings load).
    query_file: Path | None = None
    #: CSV of from,to pairs renaming source skill names; an empty `to` leaves the row out.
    skills_map: Path | None = None
    #: Conflicting repeats of (user, skill): every row invalid, or keep the first/last/highest.
    duplicates: Literal["error", "first", "last", "highest"] = "error"

    @field_validator("skills_map", "query_file", mode="before")
    @classmethod
    def _no_map_is_none(cls, value: Any) -> Any:
        return None if value in ("", None) else value


class ColumnsSettings(_Section):
    """Extra header aliases per canonical field, and built-in aliases switched off.

    A name configured under a field wins over a built-in alias of another field; a header
    named under ``ignore`` maps to no field at all (``ignore: [ID]`` stops a column "ID" of
    employee numbers being taken as the user column).
    """

    user: tuple[str, ...] = ()
    displayName: tuple[str, ...] = ()  # noqa: N815 - the key is Graph's property name
    proficiency: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    collaborationTags: tuple[str, ...] = ()  # noqa: N815 - Graph's property name
    allowedAudiences: tuple[str, ...] = ()  # noqa: N815 - Graph's property name
    webUrl: tuple[str, ...] = ()  # noqa: N815 - Graph's property name
    #: Header names that map to no field, switching built-in aliases off.
    ignore: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _ignored_not_configured(self) -> ColumnsSettings:
        folded = {header_key(name): name for name in self.ignore}
        for field, names in self:
            if field == "ignore":
                continue
            for name in names:
                if header_key(name) in folded:
                    raise ValueError(
                        f"'{name}' is both under columns.{field} and columns.ignore; keep one"
                    )
        return self


class ValuesSettings(_Section):
    """Synonyms mapped to canonical enum values, on top of the built-in ones.

    The built-in word synonyms (beginner, novice, basic, intermediate, advanced, master;
    mentor) and the default 1-5 proficiency scale live in ``importer.vocabulary``:
    entries here add to them key by key; numbers or ranges here replace the whole 1-5 scale.
    """

    proficiency: dict[str, str] = Field(default_factory=dict)
    collaborationTags: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    allowedAudiences: dict[str, str] = Field(default_factory=dict)  # noqa: N815

    @field_validator("proficiency", "collaborationTags", "allowedAudiences", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        # YAML reads `1: elementary` with an integer key; the cell text is "1".
        if isinstance(value, Mapping):
            return {str(k): str(v) for k, v in value.items()}
        return value

    @field_validator("proficiency", "collaborationTags", "allowedAudiences")
    @classmethod
    def _no_overlapping_numbers(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        # Two entries claiming one number would let the lookup order decide: refuse it.
        overlaps = scale_overlaps(split_synonyms(str(info.field_name), value)[1])
        if overlaps:
            raise ValueError(
                f"numbers mapped twice: {'; '.join(overlaps)}. Make the ranges meet without "
                f'sharing a number (such as "1-3" and "4-5")'
            )
        return value


class DefaultsSettings(_Section):
    """Values applied to a field when its cell is empty."""

    allowedAudiences: str | None = "organization"  # noqa: N815 - Graph's property name


class RunSettings(_Section):
    """How the import runs."""

    mode: Literal["create", "upsert", "sync"] = "upsert"
    concurrency: int = Field(default=8, ge=1, le=256)
    batch_size: int = Field(default=20, ge=1, le=20)
    max_attempts: int = Field(default=8, ge=1, le=50)
    max_retry_wait_s: float = Field(default=600, gt=0)
    request_timeout_s: float = Field(default=60, gt=0)
    max_invalid_ratio: float = Field(default=0.05, ge=0, le=1)
    max_delete_ratio: float = Field(default=0.2, ge=0, le=1)
    source_tag: str = Field(default="skills-import", min_length=1)
    #: Users the directory does not know: fail their rows, or skip them (leavers, new hires).
    unknown_users: Literal["fail", "skip"] = "fail"
    #: Accounts with accountEnabled false: skip their rows, or import them anyway.
    disabled_users: Literal["skip", "import"] = "skip"
    #: The invalid-ratio guard applies only from this many rows up (a short fed-back rejects.csv).
    min_rows_for_ratio: int = Field(default=20, ge=0)
    #: Rows planned and written at a time (whole users): memory grows with this, not the file.
    rows_per_chunk: int = Field(default=20_000, ge=1)
    #: ``auto``: people whose wanted skills are unchanged since the last confirmed run (and who
    #: were verified against Graph within ``verify_days``) cost no request; ``off``: list everyone.
    delta: Literal["auto", "off"] = "auto"
    #: Every person is listed against Graph at least once in this many nights (drift is found).
    verify_days: int = Field(default=7, ge=1, le=365)
    #: ``auto``: export the affected people's skills into the report folder before a sync run or
    #: a run that would update or delete more than ``backup_threshold`` skills.
    backup: Literal["auto", "off"] = "auto"
    backup_threshold: int = Field(default=1_000, ge=0)


class ConnectorSettings(_Section):
    """The people-data connector ``target.kind: connector`` writes to."""

    #: The external connection's id: 3 to 32 letters and digits.
    connection_id: str = Field(default="skillsimport", pattern=r"^[A-Za-z0-9]{3,32}$")
    name: str = Field(default="Skills import", min_length=1, max_length=128)
    description: str = "Employees' skills, loaded by skills-import from the HR skills source."


class OrgDataSettings(_Section):
    """The Org data upload files ``target.kind: orgdata-csv`` writes."""

    #: A People Skills library file (the admin center's export, or a CSV with a name column):
    #: a skill it does not hold is refused per row, with the closest names suggested; names
    #: are written as the library spells them. Empty: names as the rows spell them.
    library: Path | None = None

    @field_validator("library", mode="before")
    @classmethod
    def _no_library_is_none(cls, value: Any) -> Any:
        return None if value in ("", None) else value


class NotifySettings(_Section):
    """When to send a notification at the end of a run (destinations come from the environment).

    The key is ``when``: YAML 1.1 reads a bare ``on:`` key as the boolean true, so
    ``notify: {on: failure}`` arrives keyed by ``True``. A config file may use that spelling
    (it is read as ``when``); the environment takes ``SKILLS_IMPORT_NOTIFY__WHEN`` only.
    """

    when: Literal["never", "failure", "always"] = "failure"


class ReportSettings(_Section):
    """Where and in which formats the report is written."""

    dir: Path = Path("reports")
    formats: tuple[Literal["csv", "xlsx", "json"], ...] = ("csv", "xlsx", "json")


class Settings(BaseSettings):
    """Every setting of one run. Frozen: build it once at the boundary, pass it down."""

    model_config = SettingsConfigDict(
        env_prefix="SKILLS_IMPORT_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    target: TargetSettings = Field(default_factory=TargetSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    input: InputSettings = Field(default_factory=InputSettings)
    columns: ColumnsSettings = Field(default_factory=ColumnsSettings)
    values: ValuesSettings = Field(default_factory=ValuesSettings)
    defaults: DefaultsSettings = Field(default_factory=DefaultsSettings)
    run: RunSettings = Field(default_factory=RunSettings)
    connector: ConnectorSettings = Field(default_factory=ConnectorSettings)
    orgdata: OrgDataSettings = Field(default_factory=OrgDataSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    #: From SKILLS_IMPORT_CLIENT_SECRET only.
    client_secret: SecretStr | None = None
    #: From SKILLS_IMPORT_ACCESS_TOKEN only.
    access_token: SecretStr | None = None
    #: From SKILLS_IMPORT_DATABASE_PASSWORD only: the password of a database SOURCE whose URL
    #: carries none (so that it is neither in a crontab nor in the process list).
    database_password: SecretStr | None = None
    #: From SKILLS_IMPORT_NOTIFY_URLS only: apprise URLs (comma or space separated), which
    #: hold webhook secrets or mail passwords.
    notify_urls: SecretStr | None = None
    #: The file the settings came from ("" for built-in defaults); for messages.
    config_path: str = ""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence, highest first: CLI flags (init), environment, the YAML file (passed in
        # as init too, underneath the flags, by load_settings). No .env files, no secret dirs.
        return (init_settings, env_settings)
