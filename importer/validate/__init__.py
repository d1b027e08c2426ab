"""Validate: decide what each cell means and turn ``SourceRow`` records into ``SkillRow`` or an
``invalid`` / ``duplicate`` outcome.

- ``schema``: Graph's enums and the value rules (levels, audiences, tags, URLs);
- ``row_model``: the per-cell pydantic adapters built from the settings;
- ``duplicates``: compact indexes of (user, skill) keys;
- ``validator``: the stage itself, streaming rows through the above.
"""

from importer.validate.schema import INVISIBLE_CHARACTERS
from importer.validate.validator import CellsLookup, Validator

__all__ = ["INVISIBLE_CHARACTERS", "CellsLookup", "Validator"]
