"""Inspect: what a source holds before it is imported, and a skills map template to edit.

- ``survey``: one pass over the rows counting names, enum values, people and identity forms;
- ``clusters``: near-identical skill names grouped with rapidfuzz;
- ``report``: the screen, inspect.txt and skills_map.csv in the report folder.

Offline: nothing here touches the network. Only the CLI prints.
"""

from importer.inspect.clusters import NameCluster, canonical_key, cluster_names
from importer.inspect.report import InspectResult, inspect_sources, template_rows
from importer.inspect.survey import Survey, identity_form

__all__ = [
    "InspectResult",
    "NameCluster",
    "Survey",
    "canonical_key",
    "cluster_names",
    "identity_form",
    "inspect_sources",
    "template_rows",
]
