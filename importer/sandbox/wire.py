"""Graph wire shapes the sandbox answers with: the error body, request ids, timestamps."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "GraphResponse",
    "RequestContext",
    "graph_error",
    "new_context",
    "utc_timestamp",
]


@dataclass(slots=True)
class RequestContext:
    """Ids that tie one request to its answer (echoed in every error body)."""

    request_id: str
    client_request_id: str | None = None

    def inner_error(self) -> dict[str, str]:
        """The ``innerError`` object of a Graph error body."""
        inner = {
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": self.request_id,
        }
        if self.client_request_id is not None:
            inner["client-request-id"] = self.client_request_id
        return inner


def new_context(client_request_id: str | None = None) -> RequestContext:
    """A fresh context with a new request id, echoing the client's id if it sent one."""
    return RequestContext(str(uuid.uuid4()), client_request_id)


@dataclass(slots=True)
class GraphResponse:
    """One answer, before it becomes an HTTP response or a ``$batch`` item.

    Attributes:
        status: HTTP status.
        body: JSON body, None for no body (204), or text (an answer that is not JSON).
        headers: Extra headers (``Retry-After``...).
        retry_after: Seconds the client was told to wait (429 only).
        wrote: True when the request changed stored state.
        held_until: Answer only once all of these are done (creates that commit late).
    """

    status: int
    body: dict[str, Any] | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: int | None = None
    wrote: bool = False
    held_until: list[asyncio.Future[None]] = field(default_factory=list)


def graph_error(
    status: int, code: str, message: str, ctx: RequestContext, **extra_headers: str
) -> GraphResponse:
    """A Graph error answer: ``{"error": {"code", "message", "innerError": {...}}}``."""
    body = {"error": {"code": code, "message": message, "innerError": ctx.inner_error()}}
    return GraphResponse(status, body, dict(extra_headers))


def utc_timestamp(moment: datetime | None = None) -> str:
    """An ISO-8601 UTC timestamp with 7 fractional digits, the way Graph writes them."""
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
