"""JSON batching (``POST /{version}/$batch``), following Graph's documented rules.

- at most 20 items, ids unique case-insensitively, each with a string id, method and url:
  otherwise the whole batch is 400;
- an item url must be relative (``/users/...``, resolved under the batch's version): an absolute
  one fails that item only, with 400;
- an item with a body must carry a ``Content-Type`` header, else that item is 400;
- each item is throttled and fault-injected on its own (a throttled item is 429 with its own
  ``Retry-After`` while the batch is 200);
- ``dependsOn`` is supported minimally: items run in array order, a dependency must appear
  earlier (else 400 for the batch), and an item whose dependency failed is 424;
- answers are correlated by id and deliberately NOT in request order.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from importer.sandbox.auth import Principal
from importer.sandbox.engine import answer_call
from importer.sandbox.skill_api import GraphCall
from importer.sandbox.state import SandboxState
from importer.sandbox.wire import GraphResponse, RequestContext, graph_error, new_context

__all__ = ["MAX_BATCH_ITEMS", "run_batch"]

MAX_BATCH_ITEMS = 20


class _BadBatchError(ValueError):
    """The envelope itself is malformed: the whole batch is 400."""


@dataclass(frozen=True, slots=True)
class _Envelope:
    """What every item of one batch shares."""

    version: str
    origin: str
    principal: Principal
    arrival: float
    connection: object | None


def run_batch(
    state: SandboxState,
    raw_body: bytes,
    *,
    version: str,
    origin: str,
    principal: Principal,
    ctx: RequestContext,
    arrival: float,
    connection: object | None = None,
) -> GraphResponse:
    """Run one ``$batch`` envelope and answer it (the caller commits and applies latency).

    Items that commit late (``late_commit_answer: with-commit``) hold the whole answer: it
    carries their futures in ``held_until``, as Graph answers a batch once every item is done.

    Returns:
        200 with ``{"responses": [...]}`` (``retry_after`` set to the longest item wait, if any
        item was throttled), or 400 with a Graph error body for a malformed envelope.
    """
    try:
        items = _parse_envelope(raw_body)
    except _BadBatchError as exc:
        return graph_error(400, "BadRequest", str(exc), ctx)
    envelope = _Envelope(version, origin, principal, arrival, connection)
    statuses: dict[str, int] = {}
    answers: list[dict[str, Any]] = []
    longest_wait: int | None = None
    held: list[asyncio.Future[None]] = []
    for item in items:
        item_ctx = new_context(_header(item.get("headers"), "client-request-id") or None)
        item_ctx.client_request_id = item_ctx.client_request_id or ctx.client_request_id
        method = str(item["method"]).upper()
        response = _answer_item(state, item, method, statuses, envelope, item_ctx)
        statuses[item["id"].casefold()] = response.status
        held.extend(response.held_until)
        if response.retry_after is not None:
            longest_wait = max(longest_wait or 0, response.retry_after)
        answers.append(_render_item(item["id"], response, item_ctx))
    order = list(range(len(answers)))
    state.dice.rng.shuffle(order)
    if len(order) > 1 and order == sorted(order):
        order = order[1:] + order[:1]
    outcome = GraphResponse(
        200, {"responses": [answers[index] for index in order]}, held_until=held
    )
    outcome.retry_after = longest_wait
    return outcome


def _parse_envelope(raw_body: bytes) -> list[dict[str, Any]]:
    try:
        envelope = orjson.loads(raw_body)
    except ValueError as exc:
        raise _BadBatchError("Invalid batch payload: the body is not valid JSON.") from exc
    requests = envelope.get("requests") if isinstance(envelope, dict) else None
    if not isinstance(requests, list) or not requests:
        raise _BadBatchError("Invalid batch payload: 'requests' must be a non-empty array.")
    if len(requests) > MAX_BATCH_ITEMS:
        raise _BadBatchError(
            f"The number of batch requests ({len(requests)}) exceeds the maximum of"
            f" {MAX_BATCH_ITEMS}."
        )
    seen: set[str] = set()
    for item in requests:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(key), str) and item.get(key) for key in ("id", "method", "url")
        ):
            raise _BadBatchError(
                "Invalid batch payload: each request needs a string id, method, url."
            )
        key = item["id"].casefold()
        if key in seen:
            raise _BadBatchError(f"Batch request ids must be unique; '{item['id']}' is repeated.")
        depends = item.get("dependsOn", [])
        if not isinstance(depends, list) or not all(isinstance(dep, str) for dep in depends):
            raise _BadBatchError(f"Invalid dependsOn for request Id '{item['id']}'.")
        for dep in depends:
            if dep.casefold() not in seen:
                raise _BadBatchError(f"Invalid dependency for request Id '{item['id']}': '{dep}'.")
        seen.add(key)
    return requests


def _answer_item(
    state: SandboxState,
    item: dict[str, Any],
    method: str,
    statuses: dict[str, int],
    envelope: _Envelope,
    ctx: RequestContext,
) -> GraphResponse:
    response = _item_problem(item, statuses, ctx)
    if response is not None:
        state.stats.record(method, response.status)
        return response
    url: str = item["url"]
    path, _, query = url.partition("?")
    call = GraphCall(
        method=method,
        version=envelope.version,
        raw_segments=path.strip("/").split("/"),
        query=dict(parse_qsl(query, keep_blank_values=True)),
        body=item.get("body") if method in ("POST", "PATCH", "PUT") else None,
        origin=envelope.origin,
        principal=envelope.principal,
        ctx=ctx,
    )
    return answer_call(state, call, envelope.arrival, envelope.connection)


def _item_problem(
    item: dict[str, Any], statuses: dict[str, int], ctx: RequestContext
) -> GraphResponse | None:
    headers = item.get("headers")
    if headers is not None and not (
        isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values())
    ):
        return graph_error(400, "BadRequest", "Item headers must be an object of strings.", ctx)
    url: str = item["url"]
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith("//"):
        return graph_error(
            400,
            "BadRequest",
            "Invalid request URL: batch items take a URL relative to the batch's version,"
            " like /users/{id}/profile/skills.",
            ctx,
        )
    if item.get("body") is not None:
        if not _header(headers, "content-type"):
            return graph_error(
                400, "BadRequest", "A Content-Type header is required with a body.", ctx
            )
        if not isinstance(item["body"], dict):
            return graph_error(400, "BadRequest", "The item body must be a JSON object.", ctx)
    for dep in item.get("dependsOn", []):
        if statuses.get(dep.casefold(), 424) >= 400:
            return graph_error(
                424, "FailedDependency", f"The request it depends on ('{dep}') failed.", ctx
            )
    return None


def _header(headers: object, name: str) -> str:
    if not isinstance(headers, dict):
        return ""
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name and isinstance(value, str):
            return value
    return ""


def _render_item(item_id: str, response: GraphResponse, ctx: RequestContext) -> dict[str, Any]:
    headers = {"request-id": ctx.request_id, **response.headers}
    answer: dict[str, Any] = {"id": item_id, "status": response.status, "headers": headers}
    if response.body is not None:
        headers["Content-Type"] = "application/json"
        answer["body"] = response.body
    return answer
