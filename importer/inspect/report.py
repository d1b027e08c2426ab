"""``inspect``: survey the sources, cluster the names, write the screen and the map template.

Offline: nothing is sent anywhere. The sources' names are read as they are, before any
configured ``input.skills_map``: the template written here is what such a map starts from.
Files in ``<report.dir>/<run-id>/``:

- ``inspect.txt``: the screen, as printed;
- ``skills_map.csv``: ``from,to,count,cluster``, one row per distinct name (case and
  surrounding spaces folded), ``to`` pre-filled with the suggestion of the name's cluster.
  Clusters of several names come first, each block together; edit ``to`` (empty leaves the
  skill out), then set ``input.skills_map`` to the file.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from importer.config import Settings
from importer.inspect.clusters import NameCluster, cluster_names
from importer.inspect.survey import Survey, survey_sources
from importer.records import FIELDS
from importer.report.csv_files import neutralise, open_csv
from importer.report.writer import new_run_id

__all__ = ["InspectResult", "inspect_sources", "render_inspection", "template_rows"]

#: How many lines of each list the screen shows (the files hold everything).
SCREEN_NAMES = 15
SCREEN_CLUSTERS = 12
SCREEN_VALUES = 12


@dataclass(slots=True)
class InspectResult:
    """What ``inspect`` found and where it wrote it.

    Attributes:
        survey: the counts.
        clusters: every folded name in one cluster (several-name clusters first).
        text: the screen.
        report_dir: the folder holding inspect.txt and skills_map.csv.
    """

    survey: Survey
    clusters: list[NameCluster]
    text: str
    report_dir: Path


def template_rows(clusters: Sequence[NameCluster]) -> list[tuple[str, str, int, str]]:
    """The rows of skills_map.csv: (from, to, count, cluster number or "")."""
    rows: list[tuple[str, str, int, str]] = []
    number = 0
    for cluster in clusters:
        label = ""
        if len(cluster.names) > 1:
            number += 1
            label = str(number)
        for name, count in cluster.names:
            rows.append((name, cluster.suggested, count, label))
    return rows


def _layout(survey: Survey) -> str:
    """The layout(s) the shape stage chose, e.g. "matrix (auto: 6 columns hold levels)"."""
    kinds = dict.fromkeys(f"{d.layout} ({d.how})" for d in survey.layouts)
    return "; ".join(kinds) or "rows"


def _mapped(value: str | None) -> str:
    if value is None:
        return "unmapped"
    return value or "(empty: left as it is)"


def render_inspection(survey: Survey, clusters: Sequence[NameCluster], layout: str) -> str:
    """The screen: short, readable, every section headed."""
    lines = [f"Sources: {', '.join(survey.sources)}"]
    lines.append(
        f"Rows: {survey.rows:,} (blank rows skipped: {survey.blank_rows:,}); layout: {layout}"
    )
    lines.append("")
    lines.append("Columns")
    skills = {(d.source, d.sheet): d.skill_columns for d in survey.layouts if d.skill_columns}
    for table in survey.tables:
        where = table.source + (f" [{table.sheet}]" if table.sheet else "")
        lines.append(f"  {where}:")
        for field in FIELDS:
            if field in table.mapping:
                lines.append(f"    {field:<18} <- '{table.header[table.mapping[field]]}'")
        matrix = skills.get((table.source, table.sheet), ())
        if matrix:
            lines.append(f"    {'skill columns':<18} <- {', '.join(repr(c) for c in matrix)}")
        ignored = [c for c in table.ignored if c not in matrix]
        if ignored:
            lines.append(f"    (ignored: {', '.join(repr(c) for c in ignored)})")
    lines.append("")
    lines.append(
        f"Skill names: {len(survey.names):,} distinct ignoring case and spaces "
        f"({survey.spellings:,} spellings)"
    )
    top = sorted(survey.names.items(), key=lambda item: (-item[1], item[0]))[:SCREEN_NAMES]
    lines.extend(f"  {count:>9,}  {name}" for name, count in top)
    if len(survey.names) > SCREEN_NAMES:
        lines.append(f"  ... and {len(survey.names) - SCREEN_NAMES:,} more in skills_map.csv")
    several = [c for c in clusters if len(c.names) > 1]
    lines.append("")
    lines.append(f"Near-identical names: {len(several):,} cluster(s)")
    for cluster in several[:SCREEN_CLUSTERS]:
        members = ", ".join(f"'{name}' ({count:,})" for name, count in cluster.names[:6])
        more = f", ... {len(cluster.names) - 6} more" if len(cluster.names) > 6 else ""
        lines.append(f"  -> '{cluster.suggested}': {members}{more}")
    if len(several) > SCREEN_CLUSTERS:
        lines.append(f"  ... and {len(several) - SCREEN_CLUSTERS:,} more in skills_map.csv")
    for field, values in survey.enums.items():
        lines.append("")
        lines.append(f"Values of {field}: {len(values)} distinct")
        for value in values[:SCREEN_VALUES]:
            shown = f"'{value.value}'" if value.value else "(empty)"
            lines.append(f"  {value.count:>9,}  {shown:<28} -> {_mapped(value.maps_to)}")
        if len(values) > SCREEN_VALUES:
            lines.append(f"  ... and {len(values) - SCREEN_VALUES} more")
        unmapped = [v.value for v in values if v.maps_to is None]
        if unmapped:
            lines.append(f"  unmapped values make rows invalid: add them under values.{field}")
    lines.append("")
    lines.append(f"People: {survey.people:,}")
    for form, count in survey.identity_forms.items():
        lines.append(f"  {count:>9,}  {form}")
    if "email" in survey.identity_forms:
        lines.append(
            "  name@domain users are matched as userPrincipalName; if they are mail addresses "
            "that differ from the UPNs, set input.user_key: mail"
        )
    for warning in survey.warnings:
        lines.append(f"warning: {warning}")
    return "\n".join(lines) + "\n"


def _write_template(path: Path, clusters: Sequence[NameCluster]) -> None:
    with open_csv(path, "w") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(("from", "to", "count", "cluster"))
        for source, target, count, label in template_rows(clusters):
            writer.writerow((neutralise(source), neutralise(target), count, label))


def inspect_sources(paths: Sequence[Path | str], settings: Settings) -> InspectResult:
    """Survey the sources, cluster the names, and write inspect.txt and skills_map.csv.

    Raises:
        InputError: a source cannot be read. ConfigError: a ``values:`` synonym is wrong.
    """
    survey = survey_sources(paths, settings)
    clusters = cluster_names(survey.names)
    layout = _layout(survey)
    text = render_inspection(survey, clusters, layout)
    run_id = new_run_id(settings.report.dir, datetime.now(UTC))
    folder = settings.report.dir / run_id
    (folder / "inspect.txt").write_text(text, encoding="utf-8")
    _write_template(folder / "skills_map.csv", clusters)
    return InspectResult(survey, clusters, text, folder)
