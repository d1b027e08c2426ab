"""The HTTP client for Microsoft Graph (and the sandbox): plain requests, ``$batch`` and paging.

One ``GraphClient`` per run owns one aiohttp session. It sends, it does not decide: apart from
``list_skills`` nothing here retries (the dispatcher does, with ``importer.graph.retry``), but
every request first waits on the run's ``RetryAfterGate`` and every 429 closes it.

Rules kept here:

- Redirects are never followed (a 3xx is a failure, ``RedirectRefused``): the ``$batch`` body
  (names and skills) and the token go to the configured endpoint only. For the same reason an
  ``@odata.nextLink`` to another origin, or one no URL parser reads safely, is refused
  (``NextLinkRefused``).
- Listings: see ``importer.graph.paging``.
- A 401 is answered once with a fresh token when the provider can renew it; a fixed token
  (``auth.method: token``) cannot be renewed, so its 401 is final.
- Whatever goes wrong while sending becomes a ``GraphError`` for that request: a failed
  sign-in (``SignInFailed``) or an unforeseen exception (``UnexpectedSendError``). Nothing
  escapes to kill the worker that sent it.
- ``stop()`` ends every wait at once (``NotSentError``) and gives answers on the wire a short
  grace (``importer.graph.stopping``).

Tokens: the ``Authorization`` header is built here and nowhere else. No log line, exception
text or chained exception carries it: transport errors are re-raised as our own
``TransientGraphError`` with a message built from the method, the path and the error type only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
from yarl import URL

from importer import __version__
from importer.errors import (
    GraphError,
    ImporterError,
    PermanentGraphError,
    TransientGraphError,
    UnexpectedSendError,
)
from importer.graph.batch_format import (
    MAX_BATCH_SIZE,
    Answer,
    check_relative_url,
    encode_batch,
    match_batch_answers,
    parse_json_body,
    refused_redirect,
    throttled_item_retry_afters,
)
from importer.graph.paging import list_pages, next_link_problem, origin_of
from importer.graph.retry import RetryAfterGate, parse_retry_after, with_retries
from importer.graph.stopping import StopSignal
from importer.graph.wire import (
    NEXT_LINK_REFUSED,
    SIGN_IN_FAILED,
    HttpStats,
    SubRequest,
    SubResponse,
    TokenProvider,
    describe_unexpected,
    request_id_of,
    skills_path,
)

__all__ = [
    "MAX_BATCH_SIZE",
    "GraphClient",
    "HttpStats",
    "SubRequest",
    "SubResponse",
    "TokenProvider",
    "skills_path",
]

logger = logging.getLogger(__name__)


class GraphClient:
    """An async Graph client for one run.

    Args:
        base_url: ``https://graph.microsoft.com`` (or another cloud) or ``http://127.0.0.1:PORT``.
        api_version: ``beta`` or ``v1.0``; every relative URL is appended to it.
        token_provider: ``force_refresh -> token``; called before each exchange (it caches).
        concurrency: the most connections open at once.
        request_timeout_s: total time allowed for one HTTP exchange.
        gate: the run's shared gate; if None, one capped at ``max_retry_wait_s`` is made.
        max_attempts: attempts per page in ``list_skills``.
        max_retry_wait_s: the longest wait ``list_skills`` accepts before giving up.
        sleep: the coroutine ``list_skills`` uses between retries (injected in tests).
    """

    def __init__(
        self,
        base_url: str,
        api_version: str,
        token_provider: TokenProvider,
        *,
        concurrency: int,
        request_timeout_s: float,
        gate: RetryAfterGate | None = None,
        max_attempts: int = 8,
        max_retry_wait_s: float = 600.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._root = f"{self._base}/{api_version.strip('/')}"
        self._origin = origin_of(self._base)
        self._token_provider = token_provider
        self._concurrency = concurrency
        self._timeout = aiohttp.ClientTimeout(total=request_timeout_s)
        self._max_attempts = max_attempts
        self._max_retry_wait_s = max_retry_wait_s
        self._sleep = sleep
        self._refresh_lock = asyncio.Lock()
        # Our own limit, equal to the connector's: a request waits for a free slot *before*
        # the gate, so none can sit queued in the pool while a 429 closes the gate.
        self._slots = asyncio.Semaphore(concurrency)
        self._session: aiohttp.ClientSession | None = None
        self.stats = HttpStats()
        self.gate = gate if gate is not None else RetryAfterGate(max_wait_s=max_retry_wait_s)
        self.stopping = StopSignal()

    @property
    def max_retry_wait_s(self) -> float:
        """The longest wait the run accepts (``run.max_retry_wait_s``)."""
        return self._max_retry_wait_s

    @property
    def can_refresh_token(self) -> bool:
        """False for a fixed token (``auth.method: token``): a 401 cannot be cured by a retry."""
        return bool(getattr(self._token_provider, "refreshable", True))

    def stop(self, reason: str = "the run was stopping", code: str = "") -> None:
        """Send nothing more: waits end at once, answers on the wire get a short grace.

        Args:
            reason: why, for the report of every request held back.
            code: the ``code`` of the ``NotSentError`` those requests fail with.
        """
        self.stopping.set(reason, code)

    async def __aenter__(self) -> GraphClient:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._concurrency),
            timeout=self._timeout,
            headers={"Accept": "application/json", "User-Agent": f"skills-import/{__version__}"},
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- public API ---------------------------------------------------------------------------

    async def send(self, request: SubRequest) -> SubResponse:
        """Send one plain request, without retrying.

        Waits on the gate first; a 401 is answered once with a fresh token; a 429 (or a 503
        with Retry-After) closes the gate.

        Raises:
            TransientGraphError: no response arrived (``sent=False`` only if the connection
                could not even be made).
        """
        check_relative_url(request.url)
        self.stats.sub_requests += 1
        answer = await self._exchange(request.method, self._root + request.url, request.body)
        return self._record(request.id, answer)

    async def send_batch(self, requests: Sequence[SubRequest]) -> list[SubResponse]:
        """Send 1 to 20 requests as one ``$batch`` and return the answers in request order.

        Items Graph did not answer come back as a synthetic 504 (``MissingBatchResponse``):
        like a gateway timeout, the item may or may not have been carried out.

        Raises:
            ValueError: no requests, more than 20, duplicate ids (case-insensitive) or an
                absolute URL.
            TransientGraphError: the whole batch was refused with 429/503/504, or no response
                arrived.
            PermanentGraphError: the whole batch was refused otherwise (400, 401 after a
                refresh, 403...).
        """
        envelope = encode_batch(requests)
        self.stats.batches += 1
        self.stats.sub_requests += len(requests)
        answer = await self._exchange("POST", f"{self._root}/$batch", envelope, batch=True)
        outer = self._record("$batch", answer)
        error = outer.error()
        if error is not None:
            # A refused 429 batch was not carried out; after 503/504 some items may have been.
            error.sent = answer.status != 429
            raise error
        return [
            self._record(request.id, item)
            for request, item in zip(
                requests, match_batch_answers(requests, answer.body), strict=True
            )
        ]

    async def get_page(self, url: str) -> SubResponse:
        """GET an absolute ``@odata.nextLink`` verbatim, without retrying.

        Raises:
            PermanentGraphError: ``NextLinkRefused``: the link points to another origin, or
                holds characters no safe URL has (the token is never sent anywhere but the
                configured Graph endpoint).
            TransientGraphError: as for ``send``.
        """
        problem = next_link_problem(url, self._origin)
        if problem:
            raise PermanentGraphError(
                f"refusing to follow @odata.nextLink: {problem}", code=NEXT_LINK_REFUSED
            )
        self.stats.sub_requests += 1
        answer = await self._exchange("GET", url, None)
        return self._record("page", answer)

    async def list_skills(
        self, user: str, first_page: Callable[[], Awaitable[SubResponse]] | None = None
    ) -> list[dict[str, Any]]:
        """Return every skill of one user, following ``@odata.nextLink``, retrying each page.

        Args:
            user: the user id or UPN.
            first_page: sends the GET of the first page (the dispatcher passes its batcher, so
                that first pages travel in ``$batch`` with everything else); default a plain
                request. Later pages are plain GETs of the link, as Graph requires.

        Raises:
            GraphError: a page failed for good (404 for an unknown user, an answer that is not
                a listing, retries exhausted...).
        """

        async def plain_first_page() -> SubResponse:
            return await self.send(SubRequest("list", "GET", skills_path(user)))

        return await list_pages(
            first_page or plain_first_page,
            self.get_page,
            lambda once: with_retries(
                once,
                self._max_attempts,
                self._max_retry_wait_s,
                sleep=self.stopping.sleeper(self._sleep),
                stats=self.stats,
            ),
        )

    # -- internals ----------------------------------------------------------------------------

    async def _exchange(self, method: str, url: str, body: Any, *, batch: bool = False) -> Answer:
        if self.stopping.is_set:
            raise self.stopping.not_sent()
        token = await self._token(False)
        answer = await self._http(method, url, body, token, batch)
        if answer.status == 401 and self.can_refresh_token:
            token = await self._fresh_token(token)
            answer = await self._http(method, url, body, token, batch)
        elif answer.status == 401:
            # A fixed token Graph refused stays refused: send nothing more with it.
            self.stop("Graph refused the access token, which cannot be renewed")
        return answer

    async def _token(self, force_refresh: bool) -> str:
        try:
            return await self._token_provider(force_refresh)
        except GraphError:
            raise
        except Exception as exc:
            # azure-identity can fail mid-run (network, revoked consent...). Its message may
            # be long but carries no secret; an unknown exception is named by type only.
            text = str(exc).splitlines()[0] if isinstance(exc, ImporterError) else ""
            text = text or f"sign-in failed ({type(exc).__name__})"
            # Without a token nothing more can be sent (this request did not leave either).
            self.stop(text)
            raise PermanentGraphError(text, code=SIGN_IN_FAILED, sent=False) from None

    async def _fresh_token(self, stale: str) -> str:
        # Many requests may hit 401 at once: only the first refreshes, the others reuse it.
        async with self._refresh_lock:
            current = await self._token(False)
            if current != stale:
                return current
            logger.info("Graph answered 401: getting a fresh token and trying once more")
            return await self._token(True)

    async def _http(self, method: str, url: str, body: Any, token: str, batch: bool) -> Answer:
        if self._session is None:
            raise RuntimeError("use GraphClient in `async with` before sending")
        async with self._slots:
            if self.stopping.is_set:
                raise self.stopping.not_sent()
            if self.gate.is_closed:
                await self.stopping.race(self.gate.wait())
            exchange = self._http_now(self._session, method, url, body, token, batch)
            return await self.stopping.answer_or_give_up(exchange)

    async def _http_now(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        body: Any,
        token: str,
        batch: bool,
    ) -> Answer:
        path = urlsplit(url).path
        headers = {"Authorization": f"Bearer {token}"}
        data: bytes | None = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = orjson.dumps(body)
        self.stats.requests += 1
        try:
            async with session.request(
                method, URL(url, encoded=True), data=data, headers=headers, allow_redirects=False
            ) as response:
                raw = await response.read()
                if 300 <= response.status < 400:
                    answer = refused_redirect(response.status, response.headers)
                else:
                    answer = Answer(response.status, response.headers, parse_json_body(raw))
                # Close the gate before this connection goes back to the pool: a request that
                # then reuses it must not leave inside the window this answer announced.
                self._close_gate_for(answer, batch)
        except aiohttp.ClientConnectorError as exc:
            raise TransientGraphError(
                f"{method} {path}: cannot connect ({type(exc).__name__})", sent=False
            ) from None
        except TimeoutError:
            raise TransientGraphError(
                f"{method} {path}: no answer within {self._timeout.total} s"
            ) from None
        except aiohttp.ClientError as exc:
            raise TransientGraphError(f"{method} {path}: {type(exc).__name__}") from None
        except Exception as exc:
            # A header aiohttp refuses, an answer no parser reads...: this request fails,
            # the run goes on. Only the type and place are told (the message might quote data).
            where = describe_unexpected(exc)
            logger.warning("%s %s failed unexpectedly: %s", method, path, where)
            raise UnexpectedSendError(f"{method} {path}: unexpected {where}") from None
        logger.debug("%s %s -> %d", method, path, answer.status)
        return answer

    def _close_gate_for(self, answer: Answer, batch: bool) -> None:
        waits = []
        if answer.status in (429, 503):
            waits.append(parse_retry_after(answer.headers.get("Retry-After")))
        elif batch and 200 <= answer.status < 300:
            # Item 503s do not close the gate: one busy item must not stall the whole run.
            waits.extend(map(parse_retry_after, throttled_item_retry_afters(answer.body)))
        longest = max((wait for wait in waits if wait is not None), default=None)
        if longest is not None:
            self.gate.close_for(longest)

    def _record(self, item_id: str, answer: Answer) -> SubResponse:
        retry_after = parse_retry_after(answer.headers.get("Retry-After"))
        if answer.status == 429:
            self.stats.throttled += 1
        return SubResponse(
            id=item_id,
            status=answer.status,
            body=answer.body,
            headers=answer.headers,
            request_id=request_id_of(answer.body, answer.headers),
            retry_after=retry_after,
        )
