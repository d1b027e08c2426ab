"""Reading the directory: one paged listing, ``$filter`` lookups, or the listing then lookups.

Which one is chosen by what it costs in HTTP requests, the unit Graph throttles and bills
latency by. Lookups cost ``ceil(ceil(people / 15) / batch_size)`` requests, known up front: 15
values per filter, ``batch_size`` filters per ``$batch``. A listing costs ``ceil(tenant / 999)``
pages, and the tenant's size is not known up front. So:

- when the lookups fit in one request, they are sent: no listing can be cheaper;
- otherwise the listing starts, page by page, and is abandoned for lookups as soon as it has
  cost as many requests as the lookups would (a tenant much larger than the file). The run
  then never sends more than about twice what the better choice would have cost, and a file
  that covers a good part of the tenant (a nightly full export) is resolved by the listing.

Lookups travel through the same ``Batcher`` (``$batch``, throttling gate, adaptive pacing) and
the same retry policy as writes; listing pages are plain GETs of ``@odata.nextLink``, retried
the same way. A 401 or 403 from the directory stops the run before anything is written.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from importer.config import RunSettings
from importer.errors import DirectoryAccessError, GraphError, PermanentGraphError
from importer.graph.batcher import Batcher
from importer.graph.client import GraphClient, SubRequest, SubResponse
from importer.graph.pacing import AdaptivePacer
from importer.graph.retry import with_retries
from importer.progress import RESOLVING, RunProgress
from importer.resolve.cached import (
    CaughtUp,
    DirectoryCache,
    catch_up,
    keep_listing,
    latest_link,
    listed_user,
)
from importer.resolve.figures import DirectoryFigures
from importer.resolve.matching import MatchIndex, parse_user
from importer.resolve.odata import MAX_FILTER_VALUES, listing_url, lookup_url

__all__ = [
    "DIRECTORY_PERMISSION",
    "DirectoryAccessError",
    "DirectoryFigures",
    "lookup_requests",
    "read_directory",
]

logger = logging.getLogger(__name__)

DIRECTORY_PERMISSION = (
    "Reading the directory needs the delegated permission User.Read.All (or the "
    "User.ReadWrite.All that profile writes already need), granted to the app and consented "
    "for the tenant."
)

Sleep = Callable[[float], Awaitable[None]]


def lookup_requests(values_per_prop: Mapping[str, int], batch_size: int) -> int:
    """HTTP requests the lookups of these values cost: 15 values a filter, ``batch_size`` a
    request (filters on different properties are separate filters)."""
    filters = sum(math.ceil(count / MAX_FILTER_VALUES) for count in values_per_prop.values())
    return math.ceil(filters / max(1, batch_size))


def _chunks(values: Sequence[str], size: int) -> list[Sequence[str]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


class _Reader:
    def __init__(
        self,
        client: GraphClient,
        run: RunSettings,
        index: MatchIndex,
        sleep: Sleep,
        progress: RunProgress | None,
    ) -> None:
        self.progress = progress
        self.client = client
        self.run = run
        self.index = index
        self.sleep = sleep
        self.figures = DirectoryFigures()
        self.failures: dict[tuple[str, str], GraphError] = {}
        #: The listed users, for a snapshot (None: none is kept).
        self.listed: list[dict[str, Any]] | None = None

    async def retrying(self, call: Callable[[], Awaitable[SubResponse]]) -> dict[str, Any]:
        async def once() -> dict[str, Any]:
            answer = await call()
            error = answer.error()
            if error is not None:
                raise error
            body = answer.body
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                raise PermanentGraphError(
                    "the directory's answer has no 'value' array", status=answer.status
                )
            return body

        try:
            return await with_retries(
                once,
                self.run.max_attempts,
                self.run.max_retry_wait_s,
                sleep=self.sleep,
                stats=self.client.stats,
            )
        except GraphError as error:
            if error.status in (401, 403):
                raise DirectoryAccessError(
                    f"the directory cannot be read ({error}); nothing was written. "
                    f"{DIRECTORY_PERMISSION}"
                ) from None
            raise

    def _take(self, body: Mapping[str, Any], props: Sequence[str] | None = None) -> int:
        count = 0
        for item in body["value"]:
            user = parse_user(item)
            if user is not None:
                count += 1
                self.index.add(user, props)
        return count

    async def _next_pages(self, body: dict[str, Any], props: Sequence[str] | None) -> None:
        seen: set[str] = set()
        while isinstance(link := body.get("@odata.nextLink"), str) and link:
            if link in seen:
                raise PermanentGraphError("the directory returned the same @odata.nextLink twice")
            seen.add(link)
            body = await self.retrying(functools.partial(self.client.get_page, link))
            self._take(body, props)

    async def listing(self, budget: int) -> bool:
        """Page through the directory; False when abandoned after ``budget`` pages."""
        body = await self.retrying(
            lambda: self.client.send(SubRequest("users", "GET", listing_url()))
        )
        seen: set[str] = set()
        while True:
            self.figures.listing_pages += 1
            self.figures.directory_users += self._take(body)
            if self.listed is not None:
                self.listed.extend(filter(None, map(listed_user, body["value"])))
            if self.progress is not None:
                self.progress.set_done(RESOLVING, self.index.found)
                self.progress.tell(
                    RESOLVING,
                    f"listing the directory: page {self.figures.listing_pages}, "
                    f"{self.figures.directory_users:,} users read",
                )
            link = body.get("@odata.nextLink")
            if not isinstance(link, str) or not link:
                return True
            if self.figures.listing_pages >= budget:
                return False
            if link in seen:
                raise PermanentGraphError("the directory returned the same @odata.nextLink twice")
            seen.add(link)
            body = await self.retrying(functools.partial(self.client.get_page, link))

    async def lookups(self, wanted: Mapping[str, Sequence[str]]) -> None:
        """Send every lookup through one batcher; a failed lookup fails only its values."""
        pacer = AdaptivePacer(sleep=self.sleep, max_wait_s=self.run.max_retry_wait_s)
        async with Batcher(
            self.client,
            batch_size=self.run.batch_size,
            concurrency=self.run.concurrency,
            pacer=pacer,
        ) as batcher:
            answered = 0

            async def one(prop: str, values: Sequence[str]) -> None:
                nonlocal answered
                url = lookup_url(prop, values)
                try:
                    body = await self.retrying(lambda: batcher.submit("GET", url))
                    self._take(body, (prop,))
                    await self._next_pages(body, (prop,))
                except DirectoryAccessError:
                    raise
                except GraphError as error:
                    for value in values:
                        self.failures[(prop, value)] = error
                answered += 1
                if self.progress is not None:
                    # A failed lookup is done too: its people are reported, not looked up again.
                    self.progress.advance(len(values), phase=RESOLVING)
                    self.progress.tell(
                        RESOLVING, f"looking users up: {answered} of {len(jobs)} lookups answered"
                    )

            jobs = [
                (prop, chunk)
                for prop, values in wanted.items()
                for chunk in _chunks(values, MAX_FILTER_VALUES)
            ]
            self.figures.lookups += len(jobs)
            await asyncio.gather(*(one(prop, chunk) for prop, chunk in jobs))


async def _link_for_snapshot(
    cache: DirectoryCache | None, client: GraphClient, reader: _Reader
) -> str:
    """Before a listing that may be kept, the link that catches up from it ("" for none)."""
    if cache is None or not cache.writable:
        return ""
    try:
        link = await latest_link(client, reader.retrying)
    except GraphError as error:
        logger.warning("no directory snapshot is kept: no delta link could be had (%s)", error)
        return ""
    reader.listed = []
    return link


async def read_directory(
    wanted: Mapping[str, Sequence[str]],
    index: MatchIndex,
    client: GraphClient,
    run: RunSettings,
    *,
    sleep: Sleep = asyncio.sleep,
    progress: RunProgress | None = None,
    strategy: str = "auto",
    cache: DirectoryCache | None = None,
) -> tuple[DirectoryFigures, dict[tuple[str, str], GraphError]]:
    """Find the users holding the ``wanted`` values (property -> distinct values) into ``index``.

    ``strategy`` is ``auto`` (the rule above); ``listing`` or ``lookups`` force one way, for
    benchmarks that compare them. ``cache``: the run's directory snapshot (see ``cached``):
    with ``auto``, the snapshot plus the changes since replaces any listing or lookup; a
    complete listing makes a new one.

    Returns:
        The figures, and the values whose lookup failed for good with the error (a listing
        that fails hands over to lookups instead).

    Raises:
        DirectoryAccessError: the directory answered 401/403 (``SAFETY_ABORT``, nothing written).
    """
    reader = _Reader(client, run, index, sleep, progress)
    figures = reader.figures
    figures.people = sum(len(values) for values in wanted.values())
    if not figures.people:
        return figures, {}
    requests, subs = client.stats.requests, client.stats.sub_requests
    budget = lookup_requests({p: len(v) for p, v in wanted.items()}, run.batch_size)
    figures.lookup_budget = budget
    done = False
    if cache is not None:
        figures.listing_reason = cache.reason
        if cache.use and strategy == "auto":
            if progress is not None:
                progress.tell(RESOLVING, "reading the directory's changes since the last run")
            caught = await catch_up(cache, client, reader.retrying, index)
            if isinstance(caught, CaughtUp):
                figures.strategy, figures.delta_pages = "delta", caught.pages
                figures.changes, figures.directory_users = caught.changes, len(caught.users)
                figures.requests = client.stats.requests - requests
                figures.sub_requests = client.stats.sub_requests - subs
                return figures, {}
            figures.listing_reason = caught
    if strategy == "listing":
        budget = 2**62
    elif strategy == "lookups":
        budget = 1
    if budget > 1:
        try:
            link = await _link_for_snapshot(cache, client, reader)
            done = await reader.listing(budget)
            if done and link and reader.listed is not None and cache is not None:
                keep_listing(cache, reader.listed, link)
        except DirectoryAccessError:
            raise
        except GraphError as error:
            logger.warning("listing the directory failed (%s); looking users up instead", error)
        figures.strategy = "listing" if done else "listing, then lookups"
    if not done:
        if budget <= 1:
            figures.strategy = "lookups"
        if progress is not None:
            # Counted again from 0: the lookups ask for every value, found by the listing or not.
            progress.set_done(RESOLVING, 0)
            progress.tell(RESOLVING, "looking users up")
        await reader.lookups(wanted)
    figures.requests = client.stats.requests - requests
    figures.sub_requests = client.stats.sub_requests - subs
    return figures, reader.failures
