"""Hostile answers: the ways real services and servers misbehave, switched on by ``FaultConfig``.

Each function is one hook the app, the engine or the skill routes call; all are no-ops while
their fault is off:

- ``refuse_request``: redirects, expired tokens, oversized bodies, a whole ``$batch`` refused
  with any status and Retry-After (before anything is carried out);
- ``spoil_batch_answer``: a ``$batch`` answer nested deeper than JSON parsers recurse;
- ``spoil_listing`` / ``lagging``: listings that are not JSON, have no ``value`` array, carry a
  given ``@odata.nextLink``, or leave out what was written a moment ago;
- ``commit_late``: a create stored only later, answered 504 at once or only once stored.

``spoil_limit`` bounds how many answers the spoiling faults touch (counted in
``stats.spoiled``), so a test can show that a retry gets through.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from importer.sandbox.state import SandboxState
from importer.sandbox.wire import GraphResponse, RequestContext, graph_error

__all__ = [
    "commit_late",
    "lagging",
    "refuse_request",
    "spoil_batch_answer",
    "spoil_listing",
    "token_expired",
]


def _spend(state: SandboxState) -> bool:
    """True when one more answer may be spoiled (and count it)."""
    limit = state.faults.spoil_limit
    if limit and state.stats.spoiled >= limit:
        return False
    state.stats.spoiled += 1
    return True


def refuse_request(
    state: SandboxState, ctx: RequestContext, *, is_batch: bool, body_size: int
) -> GraphResponse | None:
    """An answer that refuses the whole HTTP request before it is carried out, or None."""
    faults = state.faults
    if faults.redirect_to:
        return GraphResponse(307, None, {"Location": faults.redirect_to})
    if faults.max_request_bytes and body_size > faults.max_request_bytes:
        if is_batch:
            return graph_error(400, "BadRequest", "The batch request is too large.", ctx)
        return graph_error(413, "RequestEntityTooLarge", "The request is too large.", ctx)
    if is_batch and faults.batch_status and _spend(state):
        extra = {"Retry-After": faults.batch_retry_after} if faults.batch_retry_after else {}
        return graph_error(
            faults.batch_status, "BatchRefused", "The batch was refused.", ctx, **extra
        )
    return None


def token_expired(state: SandboxState) -> bool:
    """True once ``expire_tokens_after_writes`` writes are stored: every token is refused."""
    after = state.faults.expire_tokens_after_writes
    return bool(after) and state.stats.writes >= after


def spoil_batch_answer(state: SandboxState) -> str | None:
    """The text of a deeply nested answer to send instead of a ``$batch`` answer, or None."""
    depth = state.faults.deep_json_depth
    if not depth or not _spend(state):
        return None
    return "[" * depth + "]" * depth


def spoil_listing(state: SandboxState, body: dict[str, Any]) -> dict[str, Any] | str:
    """A listing body as the faults make it: the real one, text, or one with no ``value``."""
    faults = state.faults
    if faults.next_link and "@odata.nextLink" in body:
        body = {**body, "@odata.nextLink": faults.next_link}
    if faults.listing_answer and _spend(state):
        if faults.listing_answer == "not-json":
            return "<html><body>Service temporarily busy</body></html>"
        return {"@odata.context": "https://graph.microsoft.com/beta/$metadata#skills"}
    return body


def lagging(state: SandboxState, skills: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Leave out skills created less than ``listing_lag_ms`` ago (eventual consistency)."""
    lag = state.faults.listing_lag_ms / 1000
    if lag <= 0:
        return skills
    cutoff = state.clock() - lag
    born = state.created_at
    return [skill for skill in skills if born.get(skill["id"], cutoff) <= cutoff]


def commit_late(
    state: SandboxState, user_id: str, skill: dict[str, Any]
) -> asyncio.Future[None] | None:
    """Maybe take a just-stored create back and store it again a ``late_commit_ms`` later.

    Returns:
        None when the create stays as it is; else a future done once it is stored (the
        caller answers 504 at once, or holds its 201 until then: ``late_commit_answer``).
    """
    faults = state.faults
    if not state.dice.hit(faults.late_commit_rate):
        return None
    state.store.delete(user_id, skill["id"])
    state.created_at.pop(skill["id"], None)
    loop = asyncio.get_running_loop()
    stored: asyncio.Future[None] = loop.create_future()

    def land() -> None:
        try:
            state.store.insert(user_id, skill)
            state.store.commit()
        except sqlite3.ProgrammingError:
            pass  # the sandbox was closed meanwhile
        else:
            state.created_at[skill["id"]] = state.clock()
        state.stats.late_commits_pending -= 1
        state.notify_watchers()
        if not stored.done():
            stored.set_result(None)

    state.stats.late_commits_pending += 1
    loop.call_later(state.dice.late_commit_s(), land)
    return stored
