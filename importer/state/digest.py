"""What the state compares: a digest of one person's wanted skills, and the config's fingerprint.

The digest is taken over the rows the run would plan for a person (after the skills map, value
normalisation and the duplicates policy: the validated ``SkillRow``s), in a canonical form that
ignores row order, list order and the spelling of the user, and it folds in the config
fingerprint: a change of mode, source tag, mapping or target makes every digest differ, so no
person planned under the old config can be skipped under the new one.

The fingerprint names its parts, so a run can say in one line which part changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from importer.config import Settings
from importer.records import SkillRow

__all__ = ["config_fingerprint", "fingerprint_text", "wanted_digest"]


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _file_digest(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        # The run itself reports an unreadable map; here it only must not match anything.
        return f"unreadable {path}"


def config_fingerprint(settings: Settings) -> dict[str, str]:
    """The config parts that shape what is written for a person, each as a short hash.

    Parts: ``skills_map`` (the file's content), ``values``, ``defaults``, ``columns``,
    ``input`` (user key, layout, skill columns, separators, duplicates policy), ``run.mode``,
    ``run.source_tag`` and ``target`` (endpoint, kind, API version).
    """
    read = settings.input
    return {
        "skills_map": _file_digest(read.skills_map),
        "values": _short(settings.values.model_dump()),
        "defaults": _short(settings.defaults.model_dump()),
        "columns": _short(settings.columns.model_dump()),
        "input": _short(
            {
                "user_key": read.user_key,
                "layout": read.layout,
                "skill_columns": read.skill_columns,
                "skill_separator": read.skill_separator,
                "list_separator": read.list_separator,
                "duplicates": read.duplicates,
            }
        ),
        "run.mode": settings.run.mode,
        "run.source_tag": _short(settings.run.source_tag),
        # Any sandbox is told apart by its database's id (the header's tenant), not its port.
        "target": _short(
            [
                "sandbox" if settings.target.is_sandbox else settings.target.graph,
                settings.target.kind,
                settings.target.api_version,
            ]
        ),
    }


def fingerprint_text(parts: dict[str, str]) -> str:
    """The fingerprint as one string (what every digest folds in)."""
    return json.dumps(parts, sort_keys=True)


def _canonical(row: SkillRow) -> bytes:
    # JSON of the row's wanted values (orjson, in C): unambiguous (None is not "", a list is
    # not a string) and about twice as fast as the ``repr`` of a tuple it replaces.
    categories, tags = row.categories, row.collaboration_tags
    name = row.display_name
    return orjson.dumps(
        (
            name.strip().casefold(),
            name.strip(),
            row.proficiency,
            None if categories is None else sorted(categories),
            None if tags is None else sorted(tags),
            row.allowed_audiences,
            row.web_url,
        )
    )


def wanted_digest(rows: Sequence[SkillRow], fingerprint: str) -> str:
    """The digest of one person's wanted skills under a config fingerprint.

    Order-independent: the same skills in another row order (or another list order in a
    cell) give the same digest; any change of a name, level or value gives another one.
    """
    digest = hashlib.blake2b(fingerprint.encode("utf-8"), digest_size=16)
    # JSON never holds a raw control character, so the separator cannot occur in a row.
    digest.update(b"\x1e" + b"\x1e".join(sorted(_canonical(row) for row in rows)))
    return digest.hexdigest()
