"""The shapes a people-data connector sends: the connection, its schema, and one item per person.

Built exactly as Microsoft documents people-data connectors:

- the connection has ``contentCategory: people``;
- the schema has one ``string`` property labelled ``personAccount`` (who the item is about)
  and one ``stringCollection`` property labelled ``personSkills``;
- each labelled value is a JSON-serialised profile entity: ``personAccount`` a
  ``userAccountInformation`` naming the person by Entra object id
  (``externalDirectoryObjectId``), each ``personSkills`` entry a ``skillProficiency`` object
  (``displayName``, ``proficiency``, ``categories``, ``collaborationTags``, ``webUrl``; fields the
  row leaves empty are left out);
- collections carry their ``@odata.type`` (``Collection(String)``);
- people data is visible to everyone in the organisation, and the ACL must say so: one entry
  granting ``everyone`` (its value is the tenant id; ``everyone`` when none is configured).

One item per person: its id is the person's object id without hyphens (item ids are letters and
digits only), so a rerun PUTs the same item again and never makes a second one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import orjson

from importer.config import Settings
from importer.records import SkillRow

__all__ = [
    "ACCOUNT_PROPERTY",
    "MAX_ITEM_BYTES",
    "SKILLS_PROPERTY",
    "PersonItem",
    "connection_body",
    "connection_path",
    "item_id_for",
    "item_path",
    "person_item",
    "schema_body",
    "skill_fingerprint",
]

#: The largest item Graph accepts (the request body of one PUT).
MAX_ITEM_BYTES = 4 * 1024 * 1024

ACCOUNT_PROPERTY = "accountInformation"
SKILLS_PROPERTY = "skills"


def connection_path(settings: Settings) -> str:
    """``/external/connections/{id}`` (relative to the API version)."""
    return f"/external/connections/{settings.connector.connection_id}"


def item_id_for(object_id: str) -> str:
    """The item id of a person: the object id, lower case, without hyphens."""
    return object_id.replace("-", "").lower()


def item_path(settings: Settings, item_id: str) -> str:
    """``/external/connections/{id}/items/{item id}``."""
    return f"{connection_path(settings)}/items/{item_id}"


def connection_body(settings: Settings) -> dict[str, Any]:
    """The body that creates the connection (``POST /external/connections``)."""
    return {
        "id": settings.connector.connection_id,
        "name": settings.connector.name,
        "description": settings.connector.description,
        "contentCategory": "people",
    }


def schema_body() -> dict[str, Any]:
    """The schema every skills-import connection registers (``PATCH .../schema``)."""
    return {
        "baseType": "microsoft.graph.externalItem",
        "properties": [
            {"name": ACCOUNT_PROPERTY, "type": "string", "labels": ["personAccount"]},
            {"name": SKILLS_PROPERTY, "type": "stringCollection", "labels": ["personSkills"]},
        ],
    }


def _skill_entity(row: SkillRow) -> dict[str, Any]:
    entity: dict[str, Any] = {"displayName": row.display_name}
    if row.proficiency:
        entity["proficiency"] = row.proficiency
    if row.categories:
        entity["categories"] = list(row.categories)
    if row.collaboration_tags:
        entity["collaborationTags"] = list(row.collaboration_tags)
    if row.web_url:
        entity["webUrl"] = row.web_url
    return entity


def _text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def skill_fingerprint(row: SkillRow) -> str:
    """A short digest of what one row asks the item to say about one skill."""
    return hashlib.sha256(_text(_skill_entity(row)).encode()).hexdigest()[:16]


class PersonItem:
    """One person's item: its id, the body to PUT, its content hash, and per-skill digests.

    Attributes:
        item_id: see ``item_id_for``.
        body: the externalItem (``acl`` and ``properties``).
        content_hash: SHA-256 of the body: equal hashes mean nothing to send.
        size: the body's size in bytes (an item may not exceed ``MAX_ITEM_BYTES``).
        skills: each skill's name as written -> its fingerprint (for per-row outcomes; names
            compare by ``skill_key``).
    """

    __slots__ = ("body", "content_hash", "item_id", "size", "skills")

    def __init__(
        self,
        item_id: str,
        body: dict[str, Any],
        content_hash: str,
        skills: dict[str, str],
        size: int,
    ) -> None:
        self.item_id = item_id
        self.body = body
        self.content_hash = content_hash
        self.skills = skills
        self.size = size


def person_item(object_id: str, rows: Sequence[SkillRow], tenant_id: str = "") -> PersonItem:
    """Build the item of one person from their valid rows (one row per skill).

    Skills are sorted by name, so the same rows in another order give the same hash.
    """
    ordered = sorted(rows, key=lambda row: (row.skill_key, row.display_name))
    skills = [_text(_skill_entity(row)) for row in ordered]
    body: dict[str, Any] = {
        "acl": [{"type": "everyone", "value": tenant_id or "everyone", "accessType": "grant"}],
        "properties": {
            ACCOUNT_PROPERTY: _text({"externalDirectoryObjectId": object_id.lower()}),
            f"{SKILLS_PROPERTY}@odata.type": "Collection(String)",
            SKILLS_PROPERTY: skills,
        },
    }
    encoded = _text(body).encode()
    content_hash = hashlib.sha256(encoded).hexdigest()
    fingerprints = {row.display_name: skill_fingerprint(row) for row in ordered}
    return PersonItem(item_id_for(object_id), body, content_hash, fingerprints, len(encoded))
