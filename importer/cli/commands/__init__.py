"""One module per command; ``importer.cli.app`` adds each to the group."""

from importer.cli.commands.check import check
from importer.cli.commands.connector import connector
from importer.cli.commands.export import export
from importer.cli.commands.inspect import inspect
from importer.cli.commands.login import login
from importer.cli.commands.run import run
from importer.cli.commands.sandbox import sandbox
from importer.cli.commands.undo import undo
from importer.cli.commands.validate import validate

__all__ = ["check", "connector", "export", "inspect", "login", "run", "sandbox", "undo", "validate"]
