"""The profile-skills routes themselves: list, get, create, update, delete.

Works on an already-authenticated :class:`GraphCall` and answers a :class:`GraphResponse`, so the
same code serves plain requests and ``$batch`` items. Faults and throttling are applied around it
by :mod:`importer.sandbox.engine`.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, unquote

from importer.sandbox.auth import Principal
from importer.sandbox.hostile import commit_late, lagging, spoil_listing
from importer.sandbox.skills import (
    READ_ONLY_PROPERTIES,
    InvalidRequestError,
    check_skill_body,
    render_skill,
)
from importer.sandbox.state import SandboxState
from importer.sandbox.wire import GraphResponse, RequestContext, graph_error, utc_timestamp

__all__ = ["INVALID_JSON", "GraphCall", "bad_request", "method_not_allowed", "route_call"]

INVALID_JSON: Final = object()
"""Stands for a request body that was not valid JSON."""

_WRITES = frozenset({"POST", "PATCH", "DELETE"})
_SELECTABLE = READ_ONLY_PROPERTIES | {
    "displayName",
    "proficiency",
    "categories",
    "collaborationTags",
    "allowedAudiences",
    "webUrl",
    "source",
    "inference",
}
_SUPPORTED_OPTIONS = frozenset({"$top", "$skiptoken", "$select"})


@dataclass(slots=True)
class GraphCall:
    """One Graph request (plain or a ``$batch`` item), parsed.

    Attributes:
        method: Upper-case HTTP method.
        version: ``beta`` or ``v1.0``.
        raw_segments: Path segments after the version, still percent-encoded.
        query: Decoded query parameters.
        body: Parsed JSON body, None for none, or :data:`INVALID_JSON`.
        origin: ``http://host:port`` the client used (for absolute ``@odata.nextLink``).
        principal: Who the token stands for.
        ctx: Request ids for the answer.
    """

    method: str
    version: str
    raw_segments: list[str]
    query: dict[str, str]
    body: Any
    origin: str
    principal: Principal
    ctx: RequestContext

    @property
    def is_write(self) -> bool:
        """True for POST, PATCH and DELETE."""
        return self.method in _WRITES


def route_call(state: SandboxState, call: GraphCall) -> GraphResponse:
    """Answer one call against the store (no faults, no throttling)."""
    try:
        segments = [unquote(raw, errors="strict") for raw in call.raw_segments]
    except UnicodeDecodeError:
        return graph_error(400, "BadRequest", "The request path is not valid UTF-8.", call.ctx)
    shape = ["users", None, "profile", "skills"]
    for index, expected in enumerate(shape):
        if index >= len(segments) or (expected is not None and segments[index] != expected):
            missing = segments[index] if index < len(segments) else ""
            return graph_error(
                400, "BadRequest", f"Resource not found for the segment '{missing}'.", call.ctx
            )
    if len(segments) > 5:
        return graph_error(
            400, "BadRequest", f"Resource not found for the segment '{segments[5]}'.", call.ctx
        )
    skill_id = segments[4] if len(segments) == 5 else None
    allowed = ("GET", "PATCH", "DELETE") if skill_id is not None else ("GET", "POST")
    if call.method not in allowed:
        return method_not_allowed(call)
    if call.is_write and call.principal.kind == "application" and state.faults.deny_app_writes:
        return graph_error(
            403,
            "ErrorAccessDeniedForRole",
            "Microsoft.Fast.Profile.Core.Exception.ProfileAccessDeniedException",
            call.ctx,
        )
    user = state.directory.find(segments[1])
    if user is None:
        return graph_error(
            404,
            "Request_ResourceNotFound",
            f"Resource '{segments[1]}' does not exist or one of its queried reference-property"
            " objects are not present.",
            call.ctx,
        )
    user_id = user.id.lower()
    try:
        if skill_id is None:
            if call.method == "GET":
                return _list(state, call, user_id)
            return _create(state, call, user_id)
        if call.method == "GET":
            return _get(state, call, user_id, skill_id)
        if call.method == "PATCH":
            return _update(state, call, user_id, skill_id)
        return _delete(state, call, user_id, skill_id)
    except InvalidRequestError as exc:
        return graph_error(400, "BadRequest", str(exc), call.ctx)


def _list(state: SandboxState, call: GraphCall, user_id: str) -> GraphResponse:
    unsupported = [key for key in call.query if key.startswith("$")]
    unsupported = [key for key in unsupported if key not in _SUPPORTED_OPTIONS]
    if unsupported:
        raise InvalidRequestError(f"The query option '{unsupported[0]}' is not supported here.")
    page_size = state.config.page_size
    top = call.query.get("$top")
    if top is not None and (not top.isdigit() or int(top) < 1):
        raise InvalidRequestError(f"Invalid value '{top}' for $top; expected a positive integer.")
    limit = min(int(top), page_size) if top is not None else page_size
    after = _read_skiptoken(call.query.get("$skiptoken"))
    select = _read_select(call.query.get("$select"))
    skills, next_after = state.store.list_page(user_id, after, limit)
    numbers = state.faults.enums_as_numbers
    skills = lagging(state, skills)
    value = [_project(render_skill(skill, enums_as_numbers=numbers), select) for skill in skills]
    body: dict[str, Any] = {"value": value}
    if next_after is not None:
        params: list[tuple[str, str]] = [
            (key, call.query[key]) for key in ("$top", "$select") if key in call.query
        ]
        params.append(("$skiptoken", _make_skiptoken(next_after)))
        query = "&".join(f"{key}={quote(val, safe=',')}" for key, val in params)
        path = "/".join(call.raw_segments[:4])
        body["@odata.nextLink"] = f"{call.origin}/{call.version}/{path}?{query}"
    return GraphResponse(200, spoil_listing(state, body))


def _get(state: SandboxState, call: GraphCall, user_id: str, skill_id: str) -> GraphResponse:
    skill = state.store.get(user_id, skill_id)
    if skill is None:
        return _skill_not_found(call)
    select = _read_select(call.query.get("$select"))
    rendered = render_skill(skill, enums_as_numbers=state.faults.enums_as_numbers)
    return GraphResponse(200, _project(rendered, select))


def _create(state: SandboxState, call: GraphCall, user_id: str) -> GraphResponse:
    fields = check_skill_body(_json_body(call), creating=True)
    now = utc_timestamp()
    by = call.principal.identity_set()
    skill: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "displayName": None,
        "proficiency": None,
        "categories": [],
        "collaborationTags": [],
        "allowedAudiences": "organization",
        "webUrl": None,
        "source": None,
        "inference": None,
        "createdDateTime": now,
        "createdBy": by,
        "lastModifiedDateTime": now,
        "lastModifiedBy": by,
    }
    skill.update(fields)
    state.store.insert(user_id, skill)
    state.created_at[skill["id"]] = state.clock()
    stored = commit_late(state, user_id, skill)
    if stored is not None and state.faults.late_commit_answer == "at-once":
        response = graph_error(504, "UnknownError", "The gateway timed out.", call.ctx)
        response.wrote = True
        return response
    rendered = render_skill(skill, enums_as_numbers=state.faults.enums_as_numbers)
    held = [stored] if stored is not None else []
    return GraphResponse(201, rendered, wrote=True, held_until=held)


def _update(state: SandboxState, call: GraphCall, user_id: str, skill_id: str) -> GraphResponse:
    fields = check_skill_body(_json_body(call), creating=False)
    skill = state.store.get(user_id, skill_id)
    if skill is None:
        return _skill_not_found(call)
    skill.update(fields)
    skill["lastModifiedDateTime"] = utc_timestamp()
    skill["lastModifiedBy"] = call.principal.identity_set()
    state.store.replace(user_id, skill)
    rendered = render_skill(skill, enums_as_numbers=state.faults.enums_as_numbers)
    return GraphResponse(200, rendered, wrote=True)


def _delete(state: SandboxState, call: GraphCall, user_id: str, skill_id: str) -> GraphResponse:
    if not state.store.delete(user_id, skill_id):
        # Tell a repeated delete from a wrong id: the first is harmless, the second a bug.
        if (user_id, skill_id) in state.removed:
            state.stats.deletes_of_removed += 1
        else:
            state.stats.deletes_of_unknown += 1
        return _skill_not_found(call)
    state.removed.add((user_id, skill_id))
    return GraphResponse(204, wrote=True)


def _skill_not_found(call: GraphCall) -> GraphResponse:
    return graph_error(404, "itemNotFound", "The requested skill was not found.", call.ctx)


def _json_body(call: GraphCall) -> Any:
    if call.body is INVALID_JSON:
        raise InvalidRequestError(
            "Unable to read JSON request payload: the body is not valid JSON."
        )
    if call.body is None:
        raise InvalidRequestError("A JSON request body is required.")
    return call.body


def _make_skiptoken(after_seq: int) -> str:
    return base64.urlsafe_b64encode(f"after:{after_seq}".encode()).decode().rstrip("=")


def _read_skiptoken(token: str | None) -> int:
    if token is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix == "after" and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeDecodeError):
        pass
    raise InvalidRequestError("The $skiptoken is not valid; follow @odata.nextLink as given.")


def _read_select(select: str | None) -> list[str] | None:
    if select is None:
        return None
    names = [name.strip() for name in select.split(",") if name.strip()]
    for name in names:
        if name not in _SELECTABLE:
            raise InvalidRequestError(f"Could not find a property named '{name}' to $select.")
    return names


def _project(skill: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
    if select is None:
        return skill
    return {"id": skill["id"], **{name: skill.get(name) for name in select}}


def bad_request(call: GraphCall, message: str) -> GraphResponse:
    """Graph's 400 ``BadRequest`` with ``message``."""
    return graph_error(400, "BadRequest", message, call.ctx)


def method_not_allowed(call: GraphCall) -> GraphResponse:
    """Graph's 405 for a method the resource does not take."""
    return graph_error(
        405,
        "Request_BadRequest",
        f"The requested resource does not support http method '{call.method}'.",
        call.ctx,
    )
