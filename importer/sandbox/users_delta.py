"""``GET /users/delta``: Graph's change tracking of users, as Entra ID answers it.

- ``GET /users/delta?$select=...`` starts a round: every user, paged by ``@odata.nextLink``,
  the last page carrying an ``@odata.deltaLink``;
- ``$deltaToken=latest`` answers no users and a deltaLink at once ("sync from now");
- following a deltaLink answers the users created, changed or deleted since it was issued
  (a deleted one as ``{"id": ..., "@removed": {"reason": "deleted"}}``), paged the same way,
  ending with a new deltaLink. A changed user comes back with the selected properties; one
  never set is left out.

Query options are given in the first request only; the links carry them. A link from another
sandbox database, one expired (``POST /_sandbox/directory/expire-delta-links``, or older than
7 days) or one that cannot be read answers 400 ``syncStateNotFound``, as Graph does.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from typing import Any

import orjson

from importer.sandbox.skill_api import GraphCall, method_not_allowed
from importer.sandbox.state import SandboxState
from importer.sandbox.user_changes import Change
from importer.sandbox.users_api import UnsupportedQueryError, select_properties
from importer.sandbox.wire import GraphResponse, graph_error

__all__ = ["LINK_LIFETIME_S", "answer_users_delta"]

#: How long Graph keeps a directory object's sync state.
LINK_LIFETIME_S = 7 * 24 * 3600
_OPTIONS = frozenset({"$select", "$deltatoken", "$skiptoken"})
_EXPIRED = (
    "The sync state generation is not found. The delta token is expired or the sync state "
    "was reset; start a new round of change tracking without a token."
)


def answer_users_delta(
    state: SandboxState, call: GraphCall, wall: Callable[[], float] = time.time
) -> GraphResponse:
    """Answer ``GET /users/delta`` (the caller has checked the path)."""
    if call.method != "GET":
        return method_not_allowed(call)
    state.stats.directory_reads += 1
    if state.faults.deny_directory_reads:
        return graph_error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
            call.ctx,
        )
    if state.faults.delta_status:
        status = state.faults.delta_status
        return graph_error(status, "UnknownError", "The change tracking service failed.", call.ctx)
    query = {key.casefold(): value for key, value in call.query.items()}
    round_: dict[str, Any]
    try:
        unknown = [key for key in query if key.startswith("$") and key not in _OPTIONS]
        if unknown:
            raise UnsupportedQueryError(f"The query option '{unknown[0]}' is not supported.")
        link = query.get("$skiptoken") or query.get("$deltatoken")
        if link is None or link == "latest":
            select = list(select_properties(query.get("$select")))
            latest = state.user_changes.latest
            if link == "latest":
                return _page(state, call, [], select, since=latest, upto=latest, now=wall())
            round_ = {"s": 0, "u": latest, "a": 0, "sel": select}
        else:
            round_ = _read(state, link, wall())
    except UnsupportedQueryError as exc:
        return graph_error(400, "Request_UnsupportedQuery", str(exc), call.ctx)
    except _ExpiredError:
        return graph_error(400, "syncStateNotFound", _EXPIRED, call.ctx)
    since, after, select = int(round_["s"]), int(round_["a"]), list(round_["sel"])
    upto = int(round_.get("u", state.user_changes.latest))
    size = state.config.delta_page_size
    changes = state.user_changes.between(after, upto, size + 1, removed=since > 0)
    return _page(state, call, changes, select, since=since, upto=upto, now=wall())


class _ExpiredError(Exception):
    """The link is foreign, expired or unreadable."""


def _read(state: SandboxState, token: str, now: float) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        found = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise _ExpiredError from None
    if not isinstance(found, dict) or found.get("t") != state.store.tenant_id:
        raise _ExpiredError
    issued = found.get("at")
    if not isinstance(issued, (int, float)) or now - issued > LINK_LIFETIME_S:
        raise _ExpiredError
    if found.get("e") != state.user_changes.epoch or not isinstance(found.get("sel"), list):
        raise _ExpiredError
    return found


def _token(state: SandboxState, fields: dict[str, Any], now: float) -> str:
    data = {**fields, "t": state.store.tenant_id, "e": state.user_changes.epoch, "at": now}
    return base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")


def _page(
    state: SandboxState,
    call: GraphCall,
    changes: list[Change],
    select: list[str],
    *,
    since: int,
    upto: int,
    now: float,
) -> GraphResponse:
    size = state.config.delta_page_size
    shown = changes[:size]
    value: list[dict[str, Any]] = []
    for change in shown:
        if change.view is None:
            value.append({"id": change.user_id, "@removed": {"reason": "deleted"}})
        else:
            value.append({name: change.view[name] for name in select if name in change.view})
    base = f"{call.origin}/{call.version}/users/delta"
    body: dict[str, Any] = {
        "@odata.context": f"{call.origin}/{call.version}/$metadata#users",
        "value": value,
    }
    if len(changes) > size:
        after = shown[-1].version
        fields = {"s": since, "u": upto, "a": after, "sel": select}
        body["@odata.nextLink"] = f"{base}?$skiptoken={_token(state, fields, now)}"
    else:
        fields = {"s": upto, "a": upto, "sel": select}
        body["@odata.deltaLink"] = f"{base}?$deltatoken={_token(state, fields, now)}"
    return GraphResponse(200, body)
