"""Profile sources (Graph v1.0 ``/admin/people/profileSources``), as a people connector uses them.

- ``POST /admin/people/profileSources``: ``sourceId`` (the connection id) is required and
  unique (409 otherwise); ``webUrl``, when given, must be https. Answers 201 with the source
  and a system-made ``id``.
- ``GET /admin/people/profileSources`` lists them; ``GET`` / ``DELETE``
  ``/admin/people/profileSources(sourceId='x')`` address one by its alternate key
  (404 ``itemNotFound`` when unknown).

Application tokens are accepted, as for the other people-admin writes the docs list.
"""

from __future__ import annotations

import re
import uuid

from importer.sandbox.skill_api import GraphCall, bad_request, method_not_allowed
from importer.sandbox.state import SandboxState
from importer.sandbox.wire import GraphResponse, graph_error

__all__ = ["route_people_admin"]

_BY_SOURCE_ID = re.compile(r"^profileSources\(sourceId='([^']*)'\)$")


def route_people_admin(state: SandboxState, call: GraphCall, segments: list[str]) -> GraphResponse:
    """Answer a call under ``/admin/people`` (``segments`` decoded, after the version)."""
    store = state.external
    if segments[:2] != ["admin", "people"] or len(segments) != 3:
        return bad_request(call, f"Resource not found for the segment '{segments[-1]}'.")
    if segments[2] == "profileSources":
        if call.method == "GET":
            return GraphResponse(200, {"value": store.profile_sources()})
        if call.method != "POST":
            return method_not_allowed(call)
        body = call.body
        if not isinstance(body, dict):
            return bad_request(call, "A JSON object request body is required.")
        source_id = body.get("sourceId")
        if not isinstance(source_id, str) or not source_id.strip():
            return bad_request(call, "The property 'sourceId' is required.")
        web_url = body.get("webUrl")
        if web_url is not None and (
            not isinstance(web_url, str) or not web_url.startswith("https://")
        ):
            return bad_request(call, "The property 'webUrl' must be an https URL.")
        if store.profile_source(source_id) is not None:
            return graph_error(
                409, "Conflict", f"A profile source '{source_id}' already exists.", call.ctx
            )
        source = {
            "id": str(uuid.uuid4()),
            "sourceId": source_id,
            "displayName": body.get("displayName"),
            "kind": body.get("kind"),
            "webUrl": web_url,
            "localizations": body.get("localizations") or [],
        }
        store.put_profile_source(source)
        return GraphResponse(201, source, wrote=True)
    match = _BY_SOURCE_ID.match(segments[2])
    if match is None:
        return bad_request(call, f"Resource not found for the segment '{segments[2]}'.")
    source_id = match.group(1)
    found = store.profile_source(source_id)
    if found is None:
        return graph_error(
            404, "itemNotFound", f"The profile source '{source_id}' was not found.", call.ctx
        )
    if call.method == "GET":
        return GraphResponse(200, found)
    if call.method == "DELETE":
        store.delete_profile_source(source_id)
        return GraphResponse(204, wrote=True)
    return method_not_allowed(call)
