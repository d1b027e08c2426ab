"""External connections (Graph v1.0 ``/external/connections``): connection, schema, items.

What a people-data connector uses, answered the way Microsoft Graph documents it:

- ``POST /external/connections`` creates a connection (201; 409 if the id exists). The id is 3
  to 32 letters and digits, never starting with ``Microsoft`` nor one of the reserved names;
  ``name`` (at most 128 characters) and ``description`` are required.
- ``PATCH .../schema`` answers 202 with a ``Location`` header naming a connectionOperation; the
  schema is provisioning (``status: inprogress``, connection ``state: draft``) until
  ``SandboxConfig.schema_ready_s`` has passed on the sandbox clock, then ``completed`` /
  ``ready``; ``schema_never_ready`` keeps it provisioning forever.
- ``PUT .../items/{id}`` creates or replaces an item (200, no body): the id is letters and
  digits, at most 128; ``acl`` and ``properties`` are required, every property must be in the
  schema with its type; the body is at most 4 MB. Items before the schema is ready are refused.
- ``GET`` and ``DELETE`` of an item (200 / 204; 404 ``itemNotFound``).

Throttling, faults and ``$batch`` come from the same engine as every other route.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from importer.sandbox.external_store import ExternalStore
from importer.sandbox.skill_api import GraphCall, bad_request, method_not_allowed
from importer.sandbox.state import SandboxState
from importer.sandbox.wire import GraphResponse, graph_error

__all__ = ["MAX_ITEM_BYTES", "route_external", "schema_is_ready"]

#: The largest item body the service accepts.
MAX_ITEM_BYTES = 4 * 1024 * 1024
_MAX_PROPERTIES = 128
_CONNECTION_ID = re.compile(r"^[A-Za-z0-9]{3,32}$")
_ITEM_ID = re.compile(r"^[A-Za-z0-9]{1,128}$")
_RESERVED_IDS = frozenset(
    name.casefold()
    for name in [
        "None",
        "Directory",
        "Exchange",
        "ExchangeArchive",
        "LinkedIn",
        "Mailbox",
        "OneDriveBusiness",
        "SharePoint",
        "Teams",
        "Yammer",
        "Connectors",
        "TaskFabric",
        "PowerBI",
        "Assistant",
        "TopicEngine",
        "MSFT_All_Connectors",
    ]
)
_TYPES = {
    t.casefold(): t
    for t in [
        "string",
        "int64",
        "double",
        "dateTime",
        "boolean",
        "stringCollection",
        "int64Collection",
        "doubleCollection",
        "dateTimeCollection",
    ]
}
_ACL_TYPES = frozenset({"user", "group", "everyone", "everyoneExceptGuests", "externalGroup"})


def route_external(state: SandboxState, call: GraphCall, segments: list[str]) -> GraphResponse:
    """Answer a call under ``/external/connections`` (``segments`` decoded, after the version)."""
    store = state.external
    if segments[:2] != ["external", "connections"]:
        return bad_request(call, f"Resource not found for the segment '{segments[-1]}'.")
    rest = segments[2:]
    if not rest:
        return _collection(state, call, store)
    connection = store.connection(rest[0])
    if connection is None:
        if call.method == "GET" or len(rest) > 1 or call.method in ("PATCH", "DELETE"):
            return graph_error(
                404, "itemNotFound", f"The connection '{rest[0]}' was not found.", call.ctx
            )
        return method_not_allowed(call)
    cid = connection["id"]
    if len(rest) == 1:
        return _connection(state, call, store, connection)
    if rest[1] == "schema" and len(rest) == 2:
        return _schema(state, call, store, cid)
    if rest[1] == "operations" and len(rest) == 3 and call.method == "GET":
        return _operation(state, call, store, cid, rest[2])
    if rest[1] == "items" and len(rest) == 3:
        return _item(state, call, store, cid, rest[2])
    return bad_request(call, f"Resource not found for the segment '{rest[-1]}'.")


def schema_is_ready(state: SandboxState, connection_id: str) -> bool | None:
    """Whether the connection's schema is ready (None: no schema), moving it on if its time
    has come."""
    store = state.external
    found = store.schema(connection_id)
    if found is None:
        return None
    if found[2]:
        return True
    key = connection_id.casefold()
    now = state.clock()
    if key not in store.ready_at:
        store.ready_at[key] = now + state.config.schema_ready_s
    if state.config.schema_never_ready or now < store.ready_at[key]:
        return False
    store.mark_ready(connection_id)
    return True


def _collection(state: SandboxState, call: GraphCall, store: ExternalStore) -> GraphResponse:
    if call.method == "GET":
        return GraphResponse(200, {"value": [_render(state, c) for c in store.connections()]})
    if call.method != "POST":
        return method_not_allowed(call)
    body = call.body
    if not isinstance(body, dict):
        return bad_request(call, "A JSON object request body is required.")
    problem = _connection_problem(body)
    if problem:
        return bad_request(call, problem)
    if store.connection(body["id"]) is not None:
        return graph_error(
            409, "Conflict", f"A connection with the id '{body['id']}' already exists.", call.ctx
        )
    connection = {
        "id": body["id"],
        "name": body["name"],
        "description": body["description"],
        "contentCategory": body.get("contentCategory", "uncategorized"),
        "configuration": body.get("configuration") or {"authorizedAppIds": []},
    }
    store.put_connection(connection)
    return GraphResponse(201, _render(state, connection), wrote=True)


def _connection_problem(body: dict[str, Any]) -> str:
    connection_id = body.get("id")
    if not isinstance(connection_id, str) or not _CONNECTION_ID.match(connection_id):
        return "The connection id must be 3 to 32 letters and digits."
    if connection_id.casefold().startswith("microsoft") or connection_id.casefold() in (
        _RESERVED_IDS
    ):
        return f"The connection id '{connection_id}' is reserved."
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 128:
        return "The connection name is required, at most 128 characters."
    if not isinstance(body.get("description"), str):
        return "The connection description is required."
    return ""


def _connection(
    state: SandboxState, call: GraphCall, store: ExternalStore, connection: dict[str, Any]
) -> GraphResponse:
    if call.method == "GET":
        return GraphResponse(200, _render(state, connection))
    if call.method == "DELETE":
        store.delete_connection(connection["id"])
        return GraphResponse(204, wrote=True)
    if call.method == "PATCH" and isinstance(call.body, dict):
        for key in ("name", "description"):
            if isinstance(call.body.get(key), str):
                connection[key] = call.body[key]
        store.put_connection(connection)
        return GraphResponse(204, wrote=True)
    return method_not_allowed(call)


def _render(state: SandboxState, connection: dict[str, Any]) -> dict[str, Any]:
    ready = schema_is_ready(state, connection["id"])
    return {**connection, "state": "ready" if ready else "draft"}


def _schema(state: SandboxState, call: GraphCall, store: ExternalStore, cid: str) -> GraphResponse:
    if call.method == "GET":
        found = store.schema(cid)
        if found is None:
            return graph_error(404, "itemNotFound", "The schema was not found.", call.ctx)
        return GraphResponse(200, found[0])
    if call.method != "PATCH":
        return method_not_allowed(call)
    connection = store.connection(cid) or {}
    problem = _schema_problem(call.body, people=connection.get("contentCategory") == "people")
    if problem:
        return bad_request(call, problem)
    operation_id = str(uuid.uuid4())
    store.put_schema(cid, call.body, operation_id)
    store.ready_at[cid.casefold()] = state.clock() + state.config.schema_ready_s
    location = f"{call.origin}/{call.version}/external/connections/{cid}/operations/{operation_id}"
    return GraphResponse(202, None, {"Location": location}, wrote=True)


def _schema_problem(body: Any, *, people: bool) -> str:
    if not isinstance(body, dict) or body.get("baseType") != "microsoft.graph.externalItem":
        return "The schema baseType must be 'microsoft.graph.externalItem'."
    properties = body.get("properties")
    if not isinstance(properties, list) or not 1 <= len(properties) <= _MAX_PROPERTIES:
        return f"The schema must have 1 to {_MAX_PROPERTIES} properties."
    labels: dict[str, str] = {}
    for prop in properties:
        if not isinstance(prop, dict) or not isinstance(prop.get("name"), str):
            return "Every schema property needs a name."
        kind = _TYPES.get(str(prop.get("type", "")).casefold())
        if kind is None:
            return f"The property '{prop['name']}' has an unknown type '{prop.get('type')}'."
        for label in prop.get("labels") or []:
            if label in labels:
                return f"The label '{label}' is on more than one property."
            labels[label] = kind
    if people and labels.get("personAccount") != "string":
        return "A people connection's schema needs one string property labelled personAccount."
    if people and labels.get("personSkills", "stringCollection") != "stringCollection":
        return "The personSkills label belongs on a stringCollection property."
    return ""


def _operation(
    state: SandboxState, call: GraphCall, store: ExternalStore, cid: str, operation_id: str
) -> GraphResponse:
    found = store.schema(cid)
    if found is None or found[1] != operation_id:
        return graph_error(404, "itemNotFound", "The operation was not found.", call.ctx)
    status = "completed" if schema_is_ready(state, cid) else "inprogress"
    return GraphResponse(200, {"id": operation_id, "status": status})


def _item(
    state: SandboxState, call: GraphCall, store: ExternalStore, cid: str, item_id: str
) -> GraphResponse:
    if call.method == "GET":
        item = store.item(cid, item_id)
        if item is None:
            return _item_not_found(call, item_id)
        return GraphResponse(200, item)
    if call.method == "DELETE":
        if not store.delete_item(cid, item_id):
            return _item_not_found(call, item_id)
        return GraphResponse(204, wrote=True)
    if call.method != "PUT":
        return method_not_allowed(call)
    if not _ITEM_ID.match(item_id):
        return bad_request(call, "The item id must be 1 to 128 letters and digits.")
    if not schema_is_ready(state, cid):
        return bad_request(
            call, f"The schema of connection '{cid}' is not ready; items wait for it."
        )
    found = store.schema(cid)
    assert found is not None
    problem = _item_problem(call.body, found[0])
    if problem:
        return bad_request(call, problem)
    item = {"id": item_id, "acl": call.body["acl"], "properties": call.body["properties"]}
    if "content" in call.body:
        item["content"] = call.body["content"]
    store.put_item(cid, item)
    return GraphResponse(200, None, wrote=True)


def _item_problem(body: Any, schema: dict[str, Any]) -> str:
    if not isinstance(body, dict):
        return "A JSON object request body is required."
    if len(json.dumps(body).encode()) > MAX_ITEM_BYTES:
        return "The item is larger than 4 MB."
    acl = body.get("acl")
    if not isinstance(acl, list) or not acl:
        return "The item needs an acl with at least one entry."
    for entry in acl:
        if not isinstance(entry, dict) or entry.get("type") not in _ACL_TYPES:
            return "Every acl entry needs a type: user, group, everyone, ... ."
        if entry.get("accessType") not in ("grant", "deny") or not entry.get("value"):
            return "Every acl entry needs a value and an accessType of grant or deny."
    properties = body.get("properties")
    if not isinstance(properties, dict) or not properties:
        return "The item needs properties (at least one)."
    types = {p["name"]: _TYPES[str(p["type"]).casefold()] for p in schema["properties"]}
    for name, value in properties.items():
        if name.endswith("@odata.type"):
            continue
        if name not in types:
            return f"The property '{name}' is not in the connection's schema."
        if types[name] == "string" and not isinstance(value, str):
            return f"The property '{name}' must be a string."
        if types[name] == "stringCollection":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return f"The property '{name}' must be a collection of strings."
            if properties.get(f"{name}@odata.type") != "Collection(String)":
                return f"The collection '{name}' needs '{name}@odata.type': 'Collection(String)'."
    return ""


def _item_not_found(call: GraphCall, item_id: str) -> GraphResponse:
    return graph_error(404, "itemNotFound", f"The item '{item_id}' was not found.", call.ctx)
