"""One connector request, sent through the run's batcher (or alone) and retried by the shared
policy (``importer.graph.retry``: 429 with its Retry-After, 503, 504, lost answers).

PUT and DELETE of an item are idempotent, so a retry after an answer that never came, or a
commit followed by a 504, writes the same item again and never a second one.
"""

from __future__ import annotations

from typing import Any

from importer.config import RunSettings
from importer.errors import GraphError, NotSentError
from importer.graph.batcher import Batcher
from importer.graph.client import GraphClient, SubRequest, SubResponse
from importer.graph.retry import with_retries
from importer.graph.stopping import Sleep

__all__ = ["RetriedSender", "Tries"]


class Tries:
    """The attempts of one request that left, and Graph's last refusal."""

    __slots__ = ("last", "sent")

    def __init__(self) -> None:
        self.sent = 0
        self.last: GraphError | None = None


class RetriedSender:
    """Sends requests for the connector writer; ``batcher`` is set while one is running."""

    def __init__(self, client: GraphClient, run: RunSettings, sleep: Sleep) -> None:
        self._client = client
        self._run = run
        self._sleep = sleep
        self.batcher: Batcher | None = None

    async def send(
        self,
        method: str,
        url: str,
        body: dict[str, Any] | None = None,
        tries: Tries | None = None,
    ) -> SubResponse:
        """One request, retried; the final answer (a refusal other than 429/503/504 included).

        ``tries`` counts the attempts that left and keeps the last refusal.

        Raises:
            GraphError: retries spent, the wait too long, or no answer; ``NotSentError`` when
                the run is stopping.
        """
        tries = tries if tries is not None else Tries()

        async def once() -> SubResponse:
            try:
                answer = await self._attempt(method, url, body)
            except NotSentError:
                raise
            except GraphError as exc:
                tries.sent += 1
                tries.last = exc
                raise
            tries.sent += 1
            error = answer.error()
            if error is not None and error.status in (429, 503, 504):
                tries.last = error
                raise error
            return answer

        return await with_retries(
            once,
            self._run.max_attempts,
            self._run.max_retry_wait_s,
            sleep=self._sleep,
            stats=self._client.stats,
        )

    async def _attempt(self, method: str, url: str, body: dict[str, Any] | None) -> SubResponse:
        if self.batcher is not None:
            return await self.batcher.submit(method, url, body)
        return await self._client.send(SubRequest("connector", method, url, body))
