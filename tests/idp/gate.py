"""The sandbox behind a gate that accepts only the stand-in's live access tokens.

A request with a token the stand-in issued and that has not expired is passed to the sandbox
(as its admin); anything else gets Graph's 401 ``InvalidAuthenticationToken``. The gate notes
every token it accepted, so a test can tell a cached token from a refreshed one.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from importer.sandbox import FIXED_TOKEN, RunningSandbox, SandboxConfig, create_app
from tests.idp.tokens import IssuerState

__all__ = ["GatedGraph", "gated_graph"]

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class GatedGraph:
    """A running gated sandbox.

    Attributes:
        sandbox: the sandbox (``base_url`` is the run's ``target.graph``).
        accepted: the distinct tokens the gate let through, in the order first seen.
        refused: how many requests the gate refused.
    """

    sandbox: RunningSandbox
    accepted: list[str] = field(default_factory=list)
    refused: int = 0


@contextlib.asynccontextmanager
async def gated_graph(issuer: IssuerState, config: SandboxConfig) -> AsyncIterator[GatedGraph]:
    """Serve the sandbox on a free 127.0.0.1 port behind the token gate."""
    app = create_app(config)
    gate_state: list[GatedGraph] = []

    @web.middleware
    async def gate(request: web.Request, handler: _Handler) -> web.StreamResponse:
        if request.path.startswith("/_sandbox/"):
            return await handler(request)  # the tests' own admin view
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        graph = gate_state[0]
        if scheme.lower() != "bearer" or not issuer.is_live(token):
            graph.refused += 1
            return web.json_response(
                {
                    "error": {
                        "code": "InvalidAuthenticationToken",
                        "message": "Lifetime validation failed, the token is expired.",
                    }
                },
                status=401,
            )
        if token not in graph.accepted:
            graph.accepted.append(token)
        headers = request.headers.copy()
        headers["Authorization"] = f"Bearer {FIXED_TOKEN}"
        return await handler(request.clone(headers=headers))

    app.middlewares.insert(0, gate)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    graph = GatedGraph(RunningSandbox(runner, f"http://{host}:{port}"))
    gate_state.append(graph)
    try:
        yield graph
    finally:
        await runner.cleanup()
