"""A faithful local Microsoft Graph for profile skills (the importer's default target).

It imports nothing from the rest of the importer: it has its own wire contract, described in
``docs`` and in the module docstrings (``batch`` for ``$batch``, ``faults`` for throttling).

``BUILT_IN_DIRECTORY`` is the demo tenant's users CSV shipped inside the package (the same users
as ``samples/directory.csv``), so an installed ``skills-import`` has a sandbox from any folder.
"""

from pathlib import Path

from importer.sandbox.admin import dump_user_skills
from importer.sandbox.app import create_app
from importer.sandbox.auth import FIXED_TOKEN
from importer.sandbox.directory import Directory, DirectoryUser, load_directory_csv
from importer.sandbox.faults import FaultConfig
from importer.sandbox.server import RunningSandbox, serve_forever, start_sandbox
from importer.sandbox.state import SandboxConfig
from importer.sandbox.stats import SandboxStats

#: The demo tenant's users, shipped as package data.
BUILT_IN_DIRECTORY = Path(__file__).resolve().parent / "data" / "directory.csv"

__all__ = [
    "BUILT_IN_DIRECTORY",
    "FIXED_TOKEN",
    "Directory",
    "DirectoryUser",
    "FaultConfig",
    "RunningSandbox",
    "SandboxConfig",
    "SandboxStats",
    "create_app",
    "dump_user_skills",
    "load_directory_csv",
    "serve_forever",
    "start_sandbox",
]
