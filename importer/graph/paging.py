"""Following ``@odata.nextLink``: which links are safe to follow, and reading every page.

A listing page must be what Graph documents, a JSON object with a ``value`` array. Anything
else (an HTML error page with status 200, an object without ``value``, JSON nested too deep to
read) is an error worth retrying (``UnreadableAnswer``), never "no skills": read as empty, it
would make the planner create every skill again.

A next link is followed only when it points at the configured scheme, host and port and holds
nothing a URL parser might read two ways (a backslash, a space, a control character); anything
else is refused with ``NextLinkRefused``, so the token never goes elsewhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from yarl import URL

from importer.errors import PermanentGraphError, TransientGraphError
from importer.graph.wire import UNREADABLE_ANSWER, SubResponse

__all__ = ["list_pages", "next_link_problem", "origin_of"]

Origin = tuple[str, str | None, int | None]


def origin_of(url: str) -> Origin:
    """Scheme, host and port of ``url`` (default ports filled in)."""
    parts = urlsplit(url)
    try:
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    except ValueError:
        port = -1  # an unreadable port never matches the configured endpoint
    return parts.scheme, parts.hostname, port


def next_link_problem(url: str, origin: Origin) -> str:
    """Why ``url`` must not be followed ("" when it may be)."""
    if any(char == "\\" or char.isspace() or not char.isprintable() for char in url):
        return "it holds a backslash, a space or a control character"
    try:
        URL(url, encoded=True)
    except ValueError:
        return "it is not a well-formed URL"
    if origin_of(url) != origin:
        return f"it points to another host ({urlsplit(url).hostname})"
    return ""


Retrying = Callable[[Callable[[], Awaitable[SubResponse]]], Awaitable[SubResponse]]


async def list_pages(
    first_page: Callable[[], Awaitable[SubResponse]],
    get_page: Callable[[str], Awaitable[SubResponse]],
    retrying: Retrying,
) -> list[dict[str, Any]]:
    """Every item of a paged listing, each page fetched under ``retrying``.

    Raises:
        GraphError: a page failed for good, was not a listing, or a link was refused or
            repeated.
    """
    items: list[dict[str, Any]] = []
    next_url: str | None = None
    seen: set[str] = set()
    while True:

        async def once(url: str | None = next_url) -> SubResponse:
            page = await (first_page() if url is None else get_page(url))
            error = page.error()
            if error is not None:
                raise error
            if not isinstance(page.body, Mapping) or not isinstance(page.body.get("value"), list):
                raise TransientGraphError(
                    "the listing answer is not what Graph documents (a JSON object with a "
                    "'value' array)",
                    status=page.status,
                    code=UNREADABLE_ANSWER,
                    request_id=page.request_id,
                )
            return page

        body = (await retrying(once)).body
        items.extend(item for item in body["value"] if isinstance(item, dict))
        link = body.get("@odata.nextLink")
        if not isinstance(link, str) or not link:
            return items
        if link in seen:
            raise PermanentGraphError("Graph returned the same @odata.nextLink twice")
        seen.add(link)
        next_url = link
