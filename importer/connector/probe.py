"""Is the connection usable? The run's first question, and ``check``'s steps for the connector.

``connection_problem`` is asked before a run writes any item: a missing connection, a schema
still provisioning or a refused read stops the run with every row ``not-sent`` and the reason.
``connector_steps`` is what ``check`` reports for ``target.kind: connector``: the connection,
its schema state, the permission to write items (a DELETE of an item no one has: 404 means
allowed, 403 refused; nothing is changed) and the profile source.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from importer.config import Settings
from importer.connector.items import connection_path, item_path
from importer.errors import GraphError
from importer.graph.client import SubResponse

__all__ = ["PERMISSIONS", "SETUP_HINT", "Step", "connection_problem", "connector_steps"]

SETUP_HINT = "run `skills-import connector setup` first (with the same config)"
PERMISSIONS = (
    "application permissions ExternalConnection.ReadWrite.OwnedBy and "
    "ExternalItem.ReadWrite.OwnedBy (plus PeopleSettings.ReadWrite.All for the profile source), "
    "granted with admin consent, and an app-only sign-in (auth.method client-secret or "
    "certificate)"
)
#: An item id no person has (object ids are 32 hex digits): the write probe's target.
_PROBE_ITEM = "skillsimportcheckprobe"

Send = Callable[[str, str], Awaitable[SubResponse]]
#: One check step: (name, ok, detail, advice).
Step = tuple[str, bool | None, str, str]


async def connection_problem(send: Send, settings: Settings) -> str:
    """Why items cannot be written to the connection now ("" when they can)."""
    try:
        answer = await send("GET", connection_path(settings))
    except GraphError as exc:
        return f"the connection could not be read ({exc})"
    name = settings.connector.connection_id
    if answer.status == 404:
        return f"the connection '{name}' does not exist: {SETUP_HINT}"
    if answer.status in (401, 403):
        return f"Graph refused to read the connection '{name}' (HTTP {answer.status}): {_needs()}"
    error = answer.error()
    if error is not None:
        return f"the connection '{name}' could not be read ({error})"
    state = _field(answer, "state")
    if state != "ready":
        return f"the connection '{name}' is {state or 'not ready'}, not ready: {SETUP_HINT}"
    return ""


async def connector_steps(send: Send, settings: Settings) -> list[Step]:
    """The connector's check steps, in order; later steps are not tried after a failure."""
    name = settings.connector.connection_id
    steps: list[Step] = []
    answer, failure = await _try(send, "GET", connection_path(settings))
    if answer is None or answer.status != 200:
        status = answer.status if answer is not None else None
        advice = SETUP_HINT if status == 404 else _needs()
        steps.append(("read the connection", False, failure, advice))
        steps.extend(
            (step, None, "not tried", "")
            for step in ("schema state", "permission to write items", "profile source")
        )
        return steps
    category = _field(answer, "contentCategory")
    steps.append(("read the connection", True, f"'{name}' (contentCategory {category})", ""))
    state = _field(answer, "state")
    ready = state == "ready"
    advice = "" if ready else f"the schema is still provisioning: {SETUP_HINT}, or wait"
    steps.append(("schema state", ready, f"connection state {state}", advice))
    answer, failure = await _try(send, "DELETE", item_path(settings, _PROBE_ITEM))
    allowed = answer is not None and answer.status in (204, 404)
    steps.append(
        (
            "permission to write items",
            allowed,
            "allowed (a DELETE of an item no one has was answered, nothing changed)"
            if allowed
            else failure,
            "" if allowed else _needs(),
        )
    )
    answer, failure = await _try(send, "GET", f"/admin/people/profileSources(sourceId='{name}')")
    found = answer is not None and answer.status == 200
    advice = SETUP_HINT if answer is not None and answer.status == 404 else _needs()
    steps.append(
        ("profile source", found, "registered" if found else failure, "" if found else advice)
    )
    return steps


async def _try(send: Send, method: str, url: str) -> tuple[SubResponse | None, str]:
    try:
        answer = await send(method, url)
    except GraphError as exc:
        return None, str(exc)
    error = answer.error()
    return answer, str(error) if error is not None else f"HTTP {answer.status}"


def _field(answer: SubResponse, name: str) -> Any:
    return answer.body.get(name) if isinstance(answer.body, dict) else None


def _needs() -> str:
    return f"The app needs the {PERMISSIONS}."
