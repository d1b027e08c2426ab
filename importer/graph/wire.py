"""What travels over the wire to Graph: sub-requests, their answers, paths and HTTP counters.

Kept apart from the client so the retry module and the dispatcher can use these records
without importing aiohttp.
"""

from __future__ import annotations

import functools
import http
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from importer.errors import GraphError, PermanentGraphError, TransientGraphError
from importer.records import record

__all__ = [
    "NEXT_LINK_REFUSED",
    "REDIRECT_REFUSED",
    "RETRY_STATUSES",
    "SIGN_IN_FAILED",
    "UNREADABLE_ANSWER",
    "HttpStats",
    "SubRequest",
    "SubResponse",
    "TokenProvider",
    "describe_unexpected",
    "error_from_answer",
    "is_transient_status",
    "request_id_of",
    "skills_path",
]

#: ``force_refresh`` -> a bearer token. Never logged.
TokenProvider = Callable[[bool], Awaitable[str]]

#: Statuses worth retrying (throttled, unavailable, gateway timeout). 500 is not: Graph's SDKs
#: do not retry it either.
RETRY_STATUSES = frozenset({429, 503, 504})


#: Error codes the importer gives failures it found itself (Graph's own codes are PascalCase
#: too, so the report reads the same): each has its own error type in the report.
NEXT_LINK_REFUSED = "NextLinkRefused"
REDIRECT_REFUSED = "RedirectRefused"
SIGN_IN_FAILED = "SignInFailed"
UNREADABLE_ANSWER = "UnreadableAnswer"


def describe_unexpected(error: BaseException) -> str:
    """Name an unforeseen exception by its type and where it was raised, never its message.

    A message may quote a header, a token or a body; the type and the innermost frame are
    enough to find the bug.
    """
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return type(error).__name__
    last = frames[-1]
    return f"{type(error).__name__} at {Path(last.filename).name}:{last.lineno}"


def is_transient_status(status: int) -> bool:
    """Return True when a response with this status is worth retrying (429, 503, 504)."""
    return status in RETRY_STATUSES


def skills_path(user: str, skill_id: str | None = None) -> str:
    """Build the relative path of a user's skills collection, or of one skill.

    The user (object id or userPrincipalName) and the skill id each become exactly one
    percent-encoded path segment: ``#EXT#`` guests, apostrophes, ``@``, ``/`` and non-ASCII
    characters can never change which resource the request addresses.

    Args:
        user: the user's object id or userPrincipalName, as written in the input.
        skill_id: Graph's id of one skill, or None for the collection.

    Returns:
        A path relative to the API version, e.g. ``/users/ann%40contoso.com/profile/skills``.
    """
    path = f"/users/{_user_segment(user)}/profile/skills"
    if skill_id is not None:
        path += f"/{_segment(skill_id)}"
    return path


def _segment(value: str) -> str:
    encoded = quote(value, safe="")
    # "." and ".." are the only segments that percent-encoding leaves able to move the path.
    return encoded.replace(".", "%2E") if encoded in {".", ".."} else encoded


#: Every request of a user's rows encodes the same user: quoting it once per user, not once per
#: request, was a tenth of the importer's CPU on a large run.
_user_segment = functools.lru_cache(maxsize=1 << 16)(_segment)


@record
class SubRequest:
    """One request, sent alone or as an item of a ``$batch``.

    Attributes:
        id: unique within one batch (compared case-insensitively, as Graph does).
        method: GET, POST, PATCH or DELETE.
        url: relative to the API version, e.g. from ``skills_path``; never absolute.
        body: the JSON body, if any.
    """

    id: str
    method: str
    url: str
    body: dict[str, Any] | None = None


@record
class SubResponse:
    """The answer to one ``SubRequest``.

    Attributes:
        id: the id of the request it answers.
        status: the HTTP status of this item (a 429 inside a 200 batch is an item status).
        body: the parsed JSON body, or None.
        headers: the item's headers; lookups are case-insensitive.
        request_id: Graph's request-id, for support tickets ("" if none).
        retry_after: the item's Retry-After in seconds, None if absent or unreadable.
    """

    id: str
    status: int
    body: Any
    headers: Mapping[str, str]
    request_id: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    def error(self) -> GraphError | None:
        """Return this answer as an error, or None when it is a success.

        Returns:
            None for 2xx; ``TransientGraphError`` for 429/503/504; ``PermanentGraphError``
            for anything else. Each carries status, Graph's code and message, the request id
            and the Retry-After.
        """
        if self.ok:
            return None
        return error_from_answer(self.status, self.body, self.request_id, self.retry_after)


def _graph_error_object(body: Any) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            return error
    return {}


def request_id_of(body: Any, headers: Mapping[str, str]) -> str:
    """Find Graph's request-id: in ``error.innerError`` first, else in the headers."""
    inner = _graph_error_object(body)
    for key in ("innerError", "innererror"):
        details = inner.get(key)
        if isinstance(details, Mapping) and details.get("request-id"):
            return str(details["request-id"])
    return headers.get("request-id", "") or headers.get("client-request-id", "")


def error_from_answer(
    status: int,
    body: Any,
    request_id: str,
    retry_after: float | None,
    *,
    sent: bool = True,
) -> GraphError:
    """Map a non-2xx answer to the exception the rest of the importer understands.

    Graph's ``error.code`` and ``error.message`` are kept when present; the profile API
    sometimes answers ``UnknownError`` with an empty message, so the status phrase stands in.

    Args:
        status: the HTTP status.
        body: the parsed body (Graph's error body or anything else).
        request_id: Graph's request-id, if known.
        retry_after: the answer's Retry-After in seconds, if any.
        sent: False only when the request certainly had no effect.
    """
    error = _graph_error_object(body)
    code = str(error.get("code") or "")
    message = str(error.get("message") or "")
    if not message:
        try:
            message = http.HTTPStatus(status).phrase
        except ValueError:
            message = "unexpected status"
    cls = TransientGraphError if is_transient_status(status) else PermanentGraphError
    return cls(
        message,
        status=status,
        code=code,
        request_id=request_id,
        retry_after=retry_after,
        sent=sent,
    )


@dataclass
class HttpStats:
    """HTTP figures of one run, for summary.json and the progress bar.

    Attributes:
        requests: HTTP exchanges sent (a ``$batch`` counts one).
        batches: ``$batch`` POSTs sent.
        sub_requests: items sent inside batches plus plain requests.
        throttled: 429 answers seen, items and plain.
        retries: retries made, by the retry helper and by the dispatcher.
    """

    requests: int = 0
    batches: int = 0
    sub_requests: int = 0
    throttled: int = 0
    retries: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counters as a plain dict (field name -> value)."""
        return asdict(self)
