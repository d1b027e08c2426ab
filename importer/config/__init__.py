"""Settings: config.yaml, then ``SKILLS_IMPORT_...`` environment variables, then CLI flags.

One frozen ``Settings`` object is built at the CLI boundary and passed down; core code never
reads the environment. ``settings`` holds the model (one section per part of config.yaml, with
defaults and checks); ``loading`` builds it from the file, the environment and the flags;
``messages`` turns a validation error into one plain sentence naming where, the key, the value
and what is allowed.
"""

from importer.config.loading import DEFAULT_CONFIG_PATH, load_settings
from importer.config.settings import (
    NATIONAL_CLOUDS,
    AuthSettings,
    ColumnsSettings,
    ConnectorSettings,
    DefaultsSettings,
    InputSettings,
    OrgDataSettings,
    ReportSettings,
    RunSettings,
    Settings,
    TargetSettings,
    ValuesSettings,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "NATIONAL_CLOUDS",
    "AuthSettings",
    "ColumnsSettings",
    "ConnectorSettings",
    "DefaultsSettings",
    "InputSettings",
    "OrgDataSettings",
    "ReportSettings",
    "RunSettings",
    "Settings",
    "TargetSettings",
    "ValuesSettings",
    "load_settings",
]
