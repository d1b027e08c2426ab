"""The ``skills-import`` command line: parse, build settings, call the pipeline, render.

The only package that imports click and rich. Its surface is ``main`` (the console script) and
``cli`` (the click group, for tests). Inside: ``app`` (the group and its error boundary),
``options`` (the shared options, ``-c/--config`` declared once), ``console`` (log setup),
``progress`` (the progress loop), ``rendering`` (the end-of-run tables) and one module per
command under ``commands/``.
"""

from importer.cli.app import cli, main

__all__ = ["cli", "main"]
