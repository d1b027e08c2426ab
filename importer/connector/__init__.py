"""The people-data connector target (``target.kind: connector``).

Writes each person's skills as one externalItem of a Microsoft 365 Copilot connector for people
data (Graph v1.0 ``/external/connections``), behind the same read, validate and resolve stages
as the profile target: ``items`` builds the documented shapes, ``confirmed`` remembers what Graph
confirmed, ``writer`` writes (``sending``: one retried request, ``outcomes``: what each row
became), ``setup`` prepares the connection, ``probe`` checks it.
"""

from importer.connector.confirmed import (
    ConfirmedItems,
    ItemLedger,
    Recorded,
    StateItems,
    open_confirmed_items,
)
from importer.connector.items import connection_body, person_item, schema_body
from importer.connector.writer import ConnectorWriter

__all__ = [
    "ConfirmedItems",
    "ConnectorWriter",
    "ItemLedger",
    "Recorded",
    "StateItems",
    "connection_body",
    "open_confirmed_items",
    "person_item",
    "schema_body",
]
