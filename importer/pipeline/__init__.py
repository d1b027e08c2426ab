"""Pipeline: wires the stages together (read -> validate -> plan -> dispatch -> report)."""

from importer.pipeline.run import RunResult, run_import, validate_files

__all__ = ["RunResult", "run_import", "validate_files"]
