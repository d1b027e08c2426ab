"""Where a run writes: the endpoint it opens (the built-in sandbox, started in-process, or a
real Graph cloud) and how summaries name it.

This package sits above ``importer.graph``: the HTTP layer never knows the emulator exists.
"""

from importer.targets.endpoint import (
    SANDBOX_NOTE,
    check_target,
    open_graph,
    sandbox_directory,
    target_label,
)

__all__ = ["SANDBOX_NOTE", "check_target", "open_graph", "sandbox_directory", "target_label"]
