"""Validate: decide what each cell means and turn ``SourceRow`` records into ``SkillRow`` or an
``invalid`` / ``duplicate`` outcome.

- ``schema``: Graph's enums and the value rules (levels, audiences, tags, URLs);
- ``row_model``: the per-cell pydantic adapters built from the settings;
- ``skills_map``: ``input.skills_map``, the renames applied before duplicates are looked for;
- ``duplicates``: compact indexes of (user, skill) keys and ``input.duplicates``;
- ``validator``: the stage itself, streaming rows through the above.
"""

from importer.validate.schema import INVISIBLE_CHARACTERS
from importer.validate.skills_map import load_skills_map
from importer.validate.validator import CellsLookup, Validator

__all__ = ["INVISIBLE_CHARACTERS", "CellsLookup", "Validator", "load_skills_map"]
