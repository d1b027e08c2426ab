"""Pack sub-requests from many users into ``$batch`` requests, a fixed number in flight.

Callers ``await submit(...)`` one sub-request and get its own ``SubResponse``; behind the scenes
``concurrency`` workers each take up to ``batch_size`` pending sub-requests, wait for the
throttling gate and the pacer, and send them as one ``$batch`` (or as a plain request when
``batch_size`` is 1). Answers come back in any order and are matched by id by the client.

A worker never dies: whatever goes wrong with one exchange fails the sub-requests it carried
(with the error, or ``UnexpectedSendError`` for the unforeseen) and the worker takes the next.
A ``$batch`` Graph refuses whole with 400 or 413 (one oversized item, say) is sent again in
halves, down to single items, so that only the offending item fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Any

from importer.errors import (
    GraphError,
    NoAnswerError,
    TransientGraphError,
    UnexpectedSendError,
)
from importer.graph.client import GraphClient, SubRequest, SubResponse
from importer.graph.pacing import AdaptivePacer
from importer.graph.wire import describe_unexpected

__all__ = ["Batcher"]

logger = logging.getLogger(__name__)

#: Whole-batch refusals that one bad item can cause: the batch is split to find it.
_SPLIT_STATUSES = frozenset({400, 413})


class _Pending:
    __slots__ = ("body", "future", "method", "url")

    def __init__(
        self,
        method: str,
        url: str,
        body: dict[str, Any] | None,
        future: asyncio.Future[SubResponse],
    ) -> None:
        self.method = method
        self.url = url
        self.body = body
        self.future = future


class Batcher:
    """Shares ``concurrency`` HTTP slots between every user's sub-requests.

    Args:
        client: the open Graph client.
        batch_size: sub-requests per ``$batch`` (1 = plain requests).
        concurrency: HTTP requests in flight at once.
        pacer: the adaptive client-side rate limit.
        linger_s: how long a worker waits for a fuller batch when fewer than ``batch_size``
            sub-requests are pending; short, so a lone request is not held up.
    """

    def __init__(
        self,
        client: GraphClient,
        *,
        batch_size: int,
        concurrency: int,
        pacer: AdaptivePacer,
        linger_s: float = 0.003,
    ) -> None:
        self._client = client
        self._batch_size = batch_size
        self._concurrency = concurrency
        self._pacer = pacer
        self._linger_s = linger_s
        self._pending: list[_Pending] = []
        self._ready = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._stopping = False

    async def __aenter__(self) -> Batcher:
        self._workers = [asyncio.create_task(self._work()) for _ in range(self._concurrency)]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    def stop(self) -> None:
        """Send nothing more: pending sub-requests fail with ``NotSentError``.

        Batches already on the wire finish normally.
        """
        self._stopping = True
        pending, self._pending = self._pending, []
        for item in pending:
            if not item.future.done():
                item.future.set_exception(self._client.stopping.not_sent())

    async def submit(
        self, method: str, url: str, body: dict[str, Any] | None = None
    ) -> SubResponse:
        """Queue one sub-request and wait for its answer.

        Raises:
            TransientGraphError: the whole exchange failed (timeout, reset, outer 429/5xx).
            PermanentGraphError: the whole exchange was refused.
            NotSentError: the run is stopping.
        """
        return await self.enqueue(method, url, body)

    def enqueue(
        self, method: str, url: str, body: dict[str, Any] | None = None
    ) -> asyncio.Future[SubResponse]:
        """Queue one sub-request; its answer (or error, as for ``submit``) comes in the future.

        For callers that wait for many answers at once without a task each.

        Raises:
            NotSentError: the run is stopping.
        """
        if self._stopping:
            raise self._client.stopping.not_sent()
        future: asyncio.Future[SubResponse] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(method, url, body, future))
        self._ready.set()
        return future

    async def _work(self) -> None:
        while True:
            await self._ready.wait()
            size = min(self._batch_size, self._pacer.batch_limit or self._batch_size)
            if len(self._pending) < size and self._linger_s:
                await asyncio.sleep(self._linger_s)
            chunk = self._pending[:size]
            del self._pending[:size]
            if not self._pending:
                self._ready.clear()
            if chunk:
                try:
                    await self._send(chunk)
                except Exception as exc:  # never let one exchange end the worker
                    _fail(chunk, UnexpectedSendError(f"unexpected {describe_unexpected(exc)}"))

    async def _send(self, chunk: list[_Pending]) -> None:
        live = [item for item in chunk if not item.future.done()]
        if not live:
            return
        requests = [
            SubRequest(str(index), item.method, item.url, item.body)
            for index, item in enumerate(live, start=1)
        ]
        try:
            await self._pacer.acquire(len(requests))
            if self._stopping:
                raise self._client.stopping.not_sent()
            if self._batch_size == 1:
                answers = [await self._client.send(requests[0])]
            else:
                answers = await self._client.send_batch(requests)
        except asyncio.CancelledError:
            _fail(live, NoAnswerError("sent, but the run ended before Graph answered"))
            raise
        except GraphError as exc:
            if exc.status in _SPLIT_STATUSES and len(live) > 1:
                logger.warning(
                    "Graph refused a $batch of %d whole (HTTP %s): sending it in halves so "
                    "that only the offending request fails",
                    len(live),
                    exc.status,
                )
                half = len(live) // 2
                await self._send(live[:half])
                await self._send(live[half:])
                return
            if isinstance(exc, TransientGraphError) and exc.status == 429:
                self._record_throttled(exc.retry_after or 1.0)
            _fail(live, exc)
            return
        throttled = [answer.retry_after or 1.0 for answer in answers if answer.status == 429]
        self._pacer.record_success(len(answers) - len(throttled))
        self._pacer.record_batch(len(answers), len(throttled))
        if throttled:
            self._record_throttled(max(throttled))
        for item, answer in zip(live, answers, strict=True):
            if not item.future.done():
                item.future.set_result(answer)

    def _record_throttled(self, retry_after: float) -> None:
        # A wait beyond the cap is given up, not waited for: the gate refuses those requests
        # at once, and pausing the pacer that long would stall every later one.
        if retry_after <= self._client.max_retry_wait_s:
            self._pacer.record_throttled(retry_after)


def _fail(items: list[_Pending], error: BaseException) -> None:
    for item in items:
        if not item.future.done():
            item.future.set_exception(error)
