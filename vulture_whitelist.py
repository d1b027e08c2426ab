"""Names that a framework requires and vulture cannot see used (read by vulture, never run).

Each is a parameter whose name the protocol fixes, whether or not the body uses it.
"""
# ruff: noqa

# The context-manager protocol: __exit__(self, exc_type, exc, tb) / __aexit__(...).
exc_type
tb

# pydantic-settings: settings_customise_sources(cls, settings_cls, init_settings,
# env_settings, dotenv_settings, file_secret_settings) passes every source by keyword.
dotenv_settings
file_secret_settings

# msvcrt.locking(fd, mode, nbytes): the Windows stand-in in tests/platform_stub keeps the signature.
nbytes
