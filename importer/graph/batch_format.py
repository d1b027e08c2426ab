"""The JSON ``$batch`` envelope: building the request body and matching the answers by id.

Graph's rules (graph-api.md section 4): at most 20 items, ids unique (case-insensitively),
URLs relative to the API version, a ``Content-Type`` header on every item with a body, and
answers in any order. Pure functions, so the rules are tested without HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import orjson
from multidict import CIMultiDict, CIMultiDictProxy

from importer.graph.wire import REDIRECT_REFUSED, SubRequest

__all__ = [
    "MAX_BATCH_SIZE",
    "MISSING_ITEM_CODE",
    "MISSING_ITEM_STATUS",
    "Answer",
    "BatchItem",
    "batch_items",
    "check_relative_url",
    "encode_batch",
    "match_batch_answers",
    "parse_json_body",
    "refused_redirect",
    "throttled_item_retry_afters",
]

logger = logging.getLogger(__name__)

#: Graph refuses a ``$batch`` of more than 20 requests.
MAX_BATCH_SIZE = 20

#: The synthetic answer for an item Graph did not answer: like a gateway timeout, the item may
#: or may not have been carried out, and it is worth retrying (after a re-list, for a create).
MISSING_ITEM_STATUS = 504
MISSING_ITEM_CODE = "MissingBatchResponse"


class Answer(NamedTuple):
    """One HTTP answer or ``$batch`` item, before it becomes a ``SubResponse``."""

    status: int
    headers: CIMultiDictProxy[str]
    body: Any


class BatchItem(NamedTuple):
    """One item of a ``$batch`` answer: its id and its answer."""

    id: str
    answer: Answer

    @property
    def status(self) -> int:
        """The item's HTTP status."""
        return self.answer.status

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        """The item's headers (case-insensitive)."""
        return self.answer.headers


def check_relative_url(url: str) -> None:
    """Refuse an absolute URL: Graph answers such batch items 400 (the msgraph-core bug).

    Raises:
        ValueError: the URL does not start with a single ``/``.
    """
    if not url.startswith("/") or url.startswith("//"):
        raise ValueError(f"request URLs must be relative to the API version, got {url!r}")


def encode_batch(requests: Sequence[SubRequest]) -> dict[str, Any]:
    """Build the body of ``POST /$batch``.

    Raises:
        ValueError: no requests, more than 20, duplicate ids (case-insensitive) or an
            absolute URL.
    """
    if not 1 <= len(requests) <= MAX_BATCH_SIZE:
        raise ValueError(f"a $batch holds 1 to {MAX_BATCH_SIZE} requests, not {len(requests)}")
    keys = {request.id.casefold() for request in requests}
    if len(keys) != len(requests):
        raise ValueError("request ids in one $batch must be unique (case-insensitive)")
    items = []
    for request in requests:
        check_relative_url(request.url)
        item: dict[str, Any] = {"id": request.id, "method": request.method, "url": request.url}
        if request.body is not None:
            item["headers"] = {"Content-Type": "application/json"}
            item["body"] = request.body
        items.append(item)
    return {"requests": items}


def batch_items(body: Any) -> Iterator[BatchItem]:
    """Yield the readable items of a ``$batch`` answer body, in the order Graph sent them."""
    raw_items = body.get("responses") if isinstance(body, Mapping) else None
    for raw in raw_items if isinstance(raw_items, list) else []:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("status"), int):
            continue
        headers = raw.get("headers")
        item_headers: CIMultiDict[str] = CIMultiDict(
            {str(k): str(v) for k, v in headers.items()} if isinstance(headers, Mapping) else {}
        )
        yield BatchItem(
            str(raw.get("id", "")),
            Answer(raw["status"], CIMultiDictProxy(item_headers), raw.get("body")),
        )


def throttled_item_retry_afters(body: Any) -> list[str]:
    """The raw ``Retry-After`` values of the 429 items of a ``$batch`` answer body.

    A cheap scan (no header dicts built), run while the connection is still held, so that the
    gate closes before the connection can be reused.
    """
    raw_items = body.get("responses") if isinstance(body, Mapping) else None
    values: list[str] = []
    for raw in raw_items if isinstance(raw_items, list) else []:
        if isinstance(raw, Mapping) and raw.get("status") == 429:
            headers = raw.get("headers")
            if isinstance(headers, Mapping):
                values.extend(str(v) for k, v in headers.items() if k.lower() == "retry-after")
    return values


def match_batch_answers(requests: Sequence[SubRequest], body: Any) -> list[Answer]:
    """Return the answer to each request, in the order of ``requests``.

    Items are matched by id, case-insensitively (Graph answers in any order). An item missing
    from the answer, or unreadable, becomes a synthetic 504 ``MissingBatchResponse``; answers
    to ids that were not asked are ignored.
    """
    by_id: dict[str, Answer] = {}
    for item in batch_items(body):
        by_id.setdefault(item.id.casefold(), item.answer)
    answers = []
    for request in requests:
        answer = by_id.get(request.id.casefold())
        if answer is None:
            logger.warning("$batch answer has no item %r: treating it as a timeout", request.id)
            answer = _missing_item(request.id)
        answers.append(answer)
    return answers


def _missing_item(item_id: str) -> Answer:
    body = {
        "error": {
            "code": MISSING_ITEM_CODE,
            "message": f"the $batch answer held no response for item {item_id!r}",
        }
    }
    return Answer(MISSING_ITEM_STATUS, CIMultiDictProxy(CIMultiDict()), body)


def parse_json_body(raw: bytes) -> Any:
    """An answer's body as JSON, or None when empty or unreadable (never raises)."""
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except ValueError:
        # orjson's JSONDecodeError (a ValueError) covers bad UTF-8 and nesting past 1,024 too.
        return None


def refused_redirect(status: int, headers: CIMultiDictProxy[str]) -> Answer:
    """A 3xx answer as the failure it is: redirects are never followed."""
    target = urlsplit(headers.get("Location", "")).hostname or "an unnamed address"
    body = {
        "error": {
            "code": REDIRECT_REFUSED,
            "message": f"Graph answered with a redirect to {target}, which is never followed",
        }
    }
    return Answer(status, headers, body)
