"""The journal of a run: ``journal.jsonl`` in its report folder, one JSON object a line.

The first line is the header; every further line is one write Graph confirmed, in the order
the answers came::

    {"journal": 1, "tenant": "home-tenant", "target": "https://graph.microsoft.com",
     "kind": "profile", "sourceTag": "skills-import", "runId": "20261204T170102Z",
     "command": "run", "undoes": ""}
    {"action": "update", "user": "<object id>", "userAsWritten": "ann@contoso.com",
     "skillId": "…", "displayName": "Python", "changed": ["proficiency"],
     "before": {…the skill as Graph held it…}, "after": {…the skill as written…}}

``action`` is ``create`` (``before`` null), ``update`` (``changed`` lists the fields the write
changed) or ``delete`` (``after`` null). ``tenant`` and ``target`` name what was written to
(the same identity as the run lock), so a journal is never replayed against another tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from importer.config import Settings
from importer.errors import InputError
from importer.records import ConfirmedWrite

__all__ = [
    "FORMAT_VERSION",
    "JOURNAL_NAME",
    "JournalHeader",
    "entry_of",
    "header_for",
    "read_header",
    "target_identity",
]

#: The journal's file name in a report folder.
JOURNAL_NAME = "journal.jsonl"

#: Raised when a change makes older journals unreadable; readers refuse other versions.
FORMAT_VERSION = 1


def target_identity(settings: Settings) -> tuple[str, str, str]:
    """(tenant, target, kind) as a journal names them: what the run wrote to.

    The built-in sandbox is named by its database file, a loopback sandbox by its URL, a
    Graph cloud by its URL; the tenant is ``auth.tenant_id`` folded (``home-tenant`` when
    empty, the signed-in account's own).
    """
    target = settings.target
    if target.graph == "sandbox":
        where = f"sandbox {Path(target.sandbox_db).expanduser().resolve()}"
    else:
        where = target.graph.lower()
    tenant = settings.auth.tenant_id.strip().lower() or "home-tenant"
    return tenant, where, target.kind


@dataclass(frozen=True, slots=True)
class JournalHeader:
    """The first line of a journal: what was written to, by which run and command."""

    tenant: str
    target: str
    kind: str
    source_tag: str
    run_id: str
    command: str
    undoes: str = ""

    def as_json(self) -> dict[str, Any]:
        """The header line's object."""
        return {
            "journal": FORMAT_VERSION,
            "tenant": self.tenant,
            "target": self.target,
            "kind": self.kind,
            "sourceTag": self.source_tag,
            "runId": self.run_id,
            "command": self.command,
            "undoes": self.undoes,
        }


def header_for(settings: Settings, run_id: str, command: str, undoes: str = "") -> JournalHeader:
    """The header of a journal written by ``command`` (``run`` or ``undo``) with ``settings``."""
    tenant, target, kind = target_identity(settings)
    return JournalHeader(tenant, target, kind, settings.run.source_tag, run_id, command, undoes)


def entry_of(write: ConfirmedWrite) -> dict[str, Any]:
    """One journal line's object for a confirmed write."""
    return {
        "action": write.kind.value,
        "user": write.user,
        "userAsWritten": write.user_as_written,
        "skillId": write.skill_id,
        "displayName": write.display_name,
        "changed": list(write.changed),
        "before": dict(write.before) if write.before is not None else None,
        "after": dict(write.after) if write.after is not None else None,
    }


def _unusable(path: Path, why: str) -> InputError:
    return InputError(f"{path}: {why}; nothing was sent")


def read_header(folder: Path, settings: Settings) -> JournalHeader:
    """The header of ``folder``'s journal, checked against what ``settings`` write to.

    Raises:
        InputError: no journal, an unreadable one, or one written to another tenant, target
            or kind (exit ``USAGE``, one line).
    """
    path = folder / JOURNAL_NAME
    if not folder.is_dir():
        raise _unusable(folder, "not a report folder")
    try:
        with path.open("rb") as handle:
            first = handle.readline()
    except FileNotFoundError:
        raise _unusable(
            folder,
            f"no {JOURNAL_NAME} here: only a run that wrote to Graph keeps one "
            f"(not a dry run, not validate)",
        ) from None
    except OSError as exc:
        raise _unusable(path, f"cannot be read ({exc.strerror})") from None
    try:
        head = orjson.loads(first)
    except orjson.JSONDecodeError:
        head = None
    if not isinstance(head, dict) or head.get("journal") != FORMAT_VERSION:
        raise _unusable(path, f"not a journal of format {FORMAT_VERSION}")
    header = JournalHeader(
        str(head.get("tenant", "")),
        str(head.get("target", "")),
        str(head.get("kind", "")),
        str(head.get("sourceTag", "")),
        str(head.get("runId", "")),
        str(head.get("command", "")),
        str(head.get("undoes", "")),
    )
    tenant, target, kind = target_identity(settings)
    if (header.tenant, header.target, header.kind) != (tenant, target, kind):
        raise _unusable(
            path,
            f"written to {header.target} (tenant {header.tenant}, {header.kind}), "
            f"not to this configuration's {target} (tenant {tenant}, {kind})",
        )
    return header
