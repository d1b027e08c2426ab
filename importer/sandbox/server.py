"""Running the sandbox on a loopback port: in-process (tests, ``run``) or blocking (the CLI)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import web

from importer.sandbox.app import STATE_KEY, create_app
from importer.sandbox.faults import FaultConfig
from importer.sandbox.state import SandboxConfig
from importer.sandbox.stats import SandboxStats

__all__ = ["RunningSandbox", "serve_forever", "start_sandbox"]

logger = logging.getLogger(__name__)


class RunningSandbox:
    """A sandbox serving on a local port; close it (or use ``async with``) when done.

    Attributes:
        base_url: ``http://127.0.0.1:PORT`` (no version segment).
        app: The aiohttp application.
        stats: Live counters.
        faults: The live fault config: mutating it changes behaviour immediately.
    """

    def __init__(self, runner: web.AppRunner, base_url: str) -> None:
        """Wrap a started runner (use :func:`start_sandbox`)."""
        self._runner = runner
        self.base_url = base_url
        self.app: web.Application = runner.app
        state = self.app[STATE_KEY]
        self.stats: SandboxStats = state.stats
        self.faults: FaultConfig = state.faults

    async def wait_until(self, condition: Callable[[SandboxStats], bool]) -> None:
        """Return once ``condition(stats)`` holds, checked as each request arrives and ends.

        For tests: ``await sandbox.wait_until(lambda s: s.writes >= 40)``, or
        ``lambda s: s.in_flight == 0`` for "every request that arrived has been answered".
        Bound it with ``asyncio.wait_for``.
        """
        state = self.app[STATE_KEY]
        if condition(state.stats):
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        state.watchers.append((condition, future))
        await future

    def hold(self) -> None:
        """Keep every Graph request that arrives from now on waiting until ``release``.

        For tests that need a run to be still busy at some point (a second run meeting its
        lock), without betting on how long it takes.
        """
        self.app[STATE_KEY].open.clear()

    def release(self) -> None:
        """Let the requests held by ``hold`` (and every later one) through."""
        self.app[STATE_KEY].open.set()

    def stats_view(self) -> dict[str, Any]:
        """The same data as ``GET /_sandbox/stats`` (counters, duplicates per user, total)."""
        return self.app[STATE_KEY].stats_view()

    async def close(self) -> None:
        """Stop serving and close the store."""
        await self._runner.cleanup()

    async def __aenter__(self) -> RunningSandbox:
        """Return self; the sandbox is already serving."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the sandbox."""
        await self.close()


async def start_sandbox(
    config: SandboxConfig, host: str = "127.0.0.1", port: int = 0
) -> RunningSandbox:
    """Serve a new sandbox on ``host:port`` (port 0 = a free one) in the running event loop."""
    runner = web.AppRunner(create_app(config), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_host, bound_port = runner.addresses[0][:2]
    base_url = f"http://{bound_host}:{bound_port}"
    logger.info("sandbox serving on %s (db %s)", base_url, config.db_path)
    return RunningSandbox(runner, base_url)


def serve_forever(
    config: SandboxConfig,
    host: str = "127.0.0.1",
    port: int = 8765,
    ready: Callable[[int], None] | None = None,
) -> None:
    """Serve the sandbox until interrupted (Ctrl+C); blocking, for ``skills-import sandbox``.

    The socket is bound and listening before ``ready`` is called with its port (port 0 = a
    free one), so a client may connect from then on.
    """
    sock = socket.create_server((host, port))
    bound = sock.getsockname()[1]
    logger.info("sandbox serving on http://%s:%d (db %s)", host, bound, config.db_path)
    if ready is not None:
        ready(bound)
    web.run_app(create_app(config), sock=sock, print=None, access_log=None)
