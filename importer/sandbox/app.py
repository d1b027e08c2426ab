"""The sandbox's aiohttp application: Graph routes, the token endpoint and the admin view.

Graph paths are parsed from the raw (still percent-encoded) request path, so a user id such as
``ann_contoso.com%23EXT%23%40fabrikam.onmicrosoft.com`` or one holding an encoded ``/`` is decoded
as exactly one segment, the way Graph does.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import BasicAuth, web

from importer.sandbox.admin import add_admin_routes
from importer.sandbox.auth import AuthFailure
from importer.sandbox.batch import run_batch
from importer.sandbox.engine import answer_call
from importer.sandbox.hostile import refuse_request, spoil_batch_answer, token_expired
from importer.sandbox.skill_api import INVALID_JSON, GraphCall
from importer.sandbox.state import SandboxConfig, SandboxState
from importer.sandbox.wire import GraphResponse, RequestContext, graph_error, new_context

__all__ = ["CONTEXT_KEY", "STATE_KEY", "create_app"]

STATE_KEY = web.AppKey("sandbox_state", SandboxState)
CONTEXT_KEY = web.RequestKey("sandbox_request_context", RequestContext)

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    config: SandboxConfig,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> web.Application:
    """Build the sandbox app; its store is closed when the app shuts down.

    Args:
        config: Store, directory, page size, token lifetime and the live fault config.
        clock: Monotonic seconds (throttling windows, token expiry); tests may move it by hand.
        sleep: Used for injected latency; tests pass a recorder so they never wait.
    """
    state = SandboxState(config, clock=clock, sleep=sleep)
    app = web.Application(middlewares=[_request_ids], client_max_size=16 * 1024 * 1024)
    app[STATE_KEY] = state
    for version in ("beta", "v1.0"):
        app.router.add_route("*", f"/{version}/{{tail:.*}}", _graph)
    app.router.add_post("/{tenant}/oauth2/v2.0/token", _token)
    add_admin_routes(app, state)
    app.router.add_get("/_sandbox/external/{connection}/items", _external_items)

    async def close_store(_: web.Application) -> None:
        state.close()

    app.on_cleanup.append(close_store)
    return app


@web.middleware
async def _request_ids(request: web.Request, handler: _Handler) -> web.StreamResponse:
    ctx = new_context(request.headers.get("client-request-id"))
    request[CONTEXT_KEY] = ctx
    state = request.app[STATE_KEY]
    state.stats.in_flight += 1
    state.notify_watchers()
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _stamp(exc.headers, ctx)
        raise
    finally:
        state.stats.in_flight -= 1
        state.notify_watchers()
    if not response.prepared:
        _stamp(response.headers, ctx)
    return response


def _stamp(headers: Any, ctx: RequestContext) -> None:
    headers.setdefault("request-id", ctx.request_id)
    if ctx.client_request_id is not None:
        headers.setdefault("client-request-id", ctx.client_request_id)


async def _graph(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    await state.open.wait()  # RunningSandbox.hold: tests keep a run busy for as long as they need
    ctx = request[CONTEXT_KEY]
    arrival = state.clock()
    raw_path = request.raw_path.partition("?")[0]
    _, version, *segments = raw_path.split("/")
    is_batch = segments in (["$batch"], ["%24batch"])
    body = await request.read()
    # One delay per HTTP request: a real server runs a batch's items in parallel, so a batch
    # costs about one round of latency, not twenty.
    delay = state.dice.latency_s()
    if delay > 0:
        await state.sleep(delay)
    if state.dice.hit(state.faults.reset_rate):
        state.stats.resets += 1
        return _drop_connection(request)
    refused = refuse_request(state, ctx, is_batch=is_batch, body_size=len(body))
    if refused is not None:
        _count(state, request.method, refused.status, is_batch=is_batch)
        return await _send(request, refused)
    principal = state.tokens.authenticate(request.headers.get("Authorization"))
    if not isinstance(principal, AuthFailure) and token_expired(state):
        principal = AuthFailure("Lifetime validation failed, the token is expired.")
    if isinstance(principal, AuthFailure):
        response = graph_error(401, "InvalidAuthenticationToken", principal.message, ctx)
        _count(state, request.method, response.status, is_batch=is_batch)
        return await _send(request, response)
    origin = f"{request.scheme}://{request.host}"
    if is_batch:
        if request.method != "POST":
            response = graph_error(405, "Request_BadRequest", "$batch takes POST only.", ctx)
        else:
            response = run_batch(
                state,
                body,
                version=version,
                origin=origin,
                principal=principal,
                ctx=ctx,
                arrival=arrival,
                connection=request.transport,
            )
        _count(state, request.method, response.status, is_batch=True)
        spoiled = spoil_batch_answer(state) if response.status == 200 else None
        if spoiled is not None:
            state.store.commit()
            return web.Response(text=spoiled, content_type="application/json")
    else:
        call = GraphCall(
            method=request.method,
            version=version,
            raw_segments=segments,
            query=dict(request.rel_url.query),
            body=_parse_json(body),
            origin=origin,
            principal=principal,
            ctx=ctx,
        )
        response = answer_call(state, call, arrival, request.transport)
    state.store.commit()
    if response.held_until:
        await asyncio.gather(*response.held_until)  # creates that commit late answer then
    return await _send(request, response)


def _count(state: SandboxState, method: str, status: int, *, is_batch: bool) -> None:
    if is_batch:
        state.stats.record_batch(status)
    else:
        state.stats.record(method, status)


def _parse_json(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        return INVALID_JSON


async def _send(request: web.Request, answer: GraphResponse) -> web.StreamResponse:
    ctx = request[CONTEXT_KEY]
    if answer.body is None:
        response: web.StreamResponse = web.Response(status=answer.status, headers=answer.headers)
    elif isinstance(answer.body, str):
        response = web.Response(
            status=answer.status, headers=answer.headers, text=answer.body, content_type="text/html"
        )
    else:
        response = web.Response(
            status=answer.status,
            headers=answer.headers,
            body=orjson.dumps(answer.body),
            content_type="application/json",
            charset="utf-8",
        )
    if answer.retry_after is None:
        return response
    # The Retry-After window starts when the client can know of it: once the answer is sent.
    _stamp(response.headers, ctx)
    try:
        await response.prepare(request)
        await response.write_eof()
    except ConnectionError:
        return response  # the client left: it was told nothing, so no window was announced
    request.app[STATE_KEY].gate.announce(answer.retry_after, request.transport)
    return response


def _drop_connection(request: web.Request) -> web.StreamResponse:
    transport = request.transport
    if transport is not None:
        transport.abort()
    # aiohttp cannot write this to the aborted transport and drops it quietly; the client sees
    # the connection close without an answer (ServerDisconnectedError / ClientOSError).
    return web.Response(status=500)


async def _external_items(request: web.Request) -> web.Response:
    """Admin view: every item of one external connection (``{"value": [...]}``)."""
    state = request.app[STATE_KEY]
    return web.json_response({"value": state.external.items(request.match_info["connection"])})


async def _token(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    form = await request.post()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    basic = None
    if request.headers.get("Authorization", "").lower().startswith("basic "):
        try:
            parsed = BasicAuth.decode(request.headers["Authorization"])
            basic = (parsed.login, parsed.password)
        except ValueError:
            basic = None
    status, body = state.tokens.issue(fields, basic)
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})
