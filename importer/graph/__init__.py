"""Talking to Microsoft Graph: the HTTP client, the retry policy and sign-in.

``client`` sends (plain requests, ``$batch``, paging), ``retry`` decides what to retry and how
long to wait, ``auth`` turns the configured sign-in method into a token provider, and ``wire``
holds the records they exchange.
"""

from __future__ import annotations

from importer.graph.client import MAX_BATCH_SIZE, GraphClient, TokenProvider
from importer.graph.retry import (
    RETRY_STATUSES,
    RetryAfterGate,
    backoff_delay,
    exceeds_wait_cap,
    is_transient_status,
    parse_retry_after,
    with_retries,
)
from importer.graph.wire import HttpStats, SubRequest, SubResponse, skills_path

__all__ = [
    "MAX_BATCH_SIZE",
    "RETRY_STATUSES",
    "GraphClient",
    "HttpStats",
    "RetryAfterGate",
    "SubRequest",
    "SubResponse",
    "TokenProvider",
    "backoff_delay",
    "exceeds_wait_cap",
    "is_transient_status",
    "parse_retry_after",
    "skills_path",
    "with_retries",
]
