"""The admin view (``/_sandbox/...``) for tests and demos, plus the offline skills dump.

Not part of Graph, so no token is needed and no fault applies: the sandbox only listens on
loopback by default.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from importer.sandbox.directory import Directory, DirectoryUser
from importer.sandbox.faults import update_faults
from importer.sandbox.skills import render_skill
from importer.sandbox.state import SandboxState
from importer.sandbox.store import SkillStore

__all__ = ["add_admin_routes", "dump_user_skills", "list_all_skills"]

_PAGE = 1000


def add_admin_routes(app: web.Application, state: SandboxState) -> None:
    """Register ``/_sandbox/{stats,faults,users/{user}/skills,reset}`` on ``app``, and the
    directory's ``PUT``/``DELETE /_sandbox/directory/users/{id}`` (a user created, changed or
    deleted, as an admin would in Entra ID) and ``POST /_sandbox/directory/expire-delta-links``."""

    async def stats(_: web.Request) -> web.Response:
        return web.json_response(state.stats_view())

    async def get_faults(_: web.Request) -> web.Response:
        return web.json_response(asdict(state.faults))

    async def put_faults(request: web.Request) -> web.Response:
        try:
            changes = json.loads(await request.read())
            if not isinstance(changes, dict):
                raise ValueError("the body must be a JSON object of fault settings")
            update_faults(state.faults, changes)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(asdict(state.faults))

    async def user_skills(request: web.Request) -> web.Response:
        raw_path = request.raw_path.partition("?")[0]
        segments = raw_path.split("/")
        # /_sandbox/users/{user}/skills, the user still percent-encoded as one segment
        if len(segments) != 5 or segments[4] != "skills":
            raise web.HTTPNotFound()
        key = unquote(segments[3])
        user = state.directory.find(key)
        if user is None:
            return web.json_response({"error": f"unknown user {key!r}"}, status=404)
        return web.json_response({"value": list_all_skills(state.store, user.id.lower())})

    async def reset(_: web.Request) -> web.Response:
        state.reset()
        return web.json_response(state.stats_view())

    async def put_user(request: web.Request) -> web.Response:
        object_id = request.match_info["user_id"]
        try:
            changes = json.loads(await request.read())
            if not isinstance(changes, dict):
                raise ValueError("the body must be a JSON object of user properties")
            user = _changed_user(state.directory.by_id(object_id), object_id, changes)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        state.put_user(user)
        return web.json_response(user.graph_view())

    async def delete_user(request: web.Request) -> web.Response:
        object_id = request.match_info["user_id"]
        if not state.remove_user(object_id):
            return web.json_response({"error": f"unknown user {object_id!r}"}, status=404)
        return web.json_response({"deleted": object_id})

    async def expire_delta_links(_: web.Request) -> web.Response:
        state.user_changes.expire_links()
        return web.json_response({"epoch": state.user_changes.epoch})

    app.router.add_put("/_sandbox/directory/users/{user_id}", put_user)
    app.router.add_delete("/_sandbox/directory/users/{user_id}", delete_user)
    app.router.add_post("/_sandbox/directory/expire-delta-links", expire_delta_links)
    app.router.add_get("/_sandbox/stats", stats)
    app.router.add_get("/_sandbox/faults", get_faults)
    app.router.add_put("/_sandbox/faults", put_faults)
    app.router.add_get("/_sandbox/users/{tail:.*}", user_skills)
    app.router.add_post("/_sandbox/reset", reset)


_USER_FIELDS = {
    "userPrincipalName": "user_principal_name",
    "displayName": "display_name",
    "mail": "mail",
    "employeeId": "employee_id",
    "accountEnabled": "account_enabled",
}


def _changed_user(
    found: DirectoryUser | None, object_id: str, changes: dict[str, Any]
) -> DirectoryUser:
    """``found`` (or a new user with this id) with ``changes`` (Graph property names) applied.

    Raises:
        ValueError: an unknown property, a value of the wrong type, or a new user without a
            userPrincipalName.
    """
    fields: dict[str, Any] = {}
    for name, value in changes.items():
        field_name = _USER_FIELDS.get(name)
        if field_name is None:
            raise ValueError(f"unknown user property {name!r}")
        wanted = bool if name == "accountEnabled" else str
        if value is not None and not isinstance(value, wanted):
            raise ValueError(f"{name} must be a {wanted.__name__}")
        fields[field_name] = value if value is not None else ("" if wanted is str else True)
    if found is None:
        if not fields.get("user_principal_name"):
            raise ValueError("a new user needs a userPrincipalName")
        return DirectoryUser(id=object_id, **fields)
    return replace(found, **fields)


def list_all_skills(store: SkillStore, user_id: str) -> list[dict[str, Any]]:
    """Every skill of one user (object id, lower case), in creation order, enums as names."""
    skills: list[dict[str, Any]] = []
    after: int | None = 0
    while after is not None:
        page, after = store.list_page(user_id, after, _PAGE)
        skills.extend(render_skill(skill, enums_as_numbers=False) for skill in page)
    return skills


def dump_user_skills(db_path: str, directory: Path | None, user: str) -> list[dict[str, Any]]:
    """One user's stored skills, read straight from a sandbox database (for ``--show USER``).

    Args:
        db_path: The sandbox's SQLite file.
        directory: The users CSV to resolve a UPN; None = ``user`` is an object id.
        user: Object id or userPrincipalName (any case).

    Raises:
        FileNotFoundError: If there is no database at ``db_path``.
        LookupError: If the directory does not know ``user``.
    """
    if not Path(db_path).is_file():
        raise FileNotFoundError(f"no sandbox database at {db_path}")
    user_id = user
    if directory is not None:
        found = Directory.from_sources(directory).find(user)
        if found is None:
            raise LookupError(f"user {user!r} is not in {directory}")
        user_id = found.id
    store = SkillStore(db_path)
    try:
        return list_all_skills(store, user_id.lower())
    finally:
        store.close()
