"""Pipeline: wires the stages together (read -> validate -> plan -> dispatch -> report).

``run`` wires ``run_import``; ``validate`` streams rows through validation (the offline
``validate_files`` and the first stage of a run); ``parallel_validate`` splits one large CSV over
two processes; ``logs`` copies log lines into the report folder; ``signals`` turns Ctrl-C and
SIGTERM into a clean stop; ``result`` holds what the CLI renders.
"""

from importer.pipeline.result import RunResult
from importer.pipeline.run import run_import
from importer.pipeline.validate import validate_files

__all__ = ["RunResult", "run_import", "validate_files"]
