"""Which tenant a run writes to, as the confirmed state tells targets apart.

A Graph cloud is its URL plus the tenant id the access token was issued for (its ``tid``
claim; ``auth.tenant_id`` when the token carries none). A sandbox (built-in or on loopback) is
its database: it answers ``GET /organization`` with the id its database was made with, so a
database deleted and made again is another tenant, and a state recorded for the old one is
never used for the new one. When the tenant cannot be told, ``""``: the run keeps no state.
"""

from __future__ import annotations

import asyncio
import logging
import re

from importer.config import Settings
from importer.errors import GraphError
from importer.graph import GraphClient, SubRequest, SubResponse, TokenProvider, with_retries
from importer.graph.providers import describe_token

__all__ = ["state_target", "tenant_of"]

logger = logging.getLogger(__name__)

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def state_target(settings: Settings) -> str:
    """The endpoint as the state names it: ``sandbox`` for any sandbox, else the cloud URL."""
    return "sandbox" if settings.target.is_sandbox else settings.target.graph.lower()


async def tenant_of(settings: Settings, client: GraphClient, token_provider: TokenProvider) -> str:
    """The tenant id the run writes to, or ``""`` when it cannot be told for sure."""
    if settings.target.is_sandbox:
        return await _sandbox_tenant(settings, client)
    claims = describe_token(await token_provider(False))
    tenant = str(claims.get("tid", "")).strip().lower()
    if _GUID.match(tenant):
        return tenant
    configured = settings.auth.tenant_id.strip().lower()
    return configured if _GUID.match(configured) else ""


async def _sandbox_tenant(settings: Settings, client: GraphClient) -> str:
    async def once() -> SubResponse:
        answer = await client.send(SubRequest("organization", "GET", "/organization?$select=id"))
        error = answer.error()
        if error is not None:
            raise error
        return answer

    try:
        answer = await with_retries(
            once,
            settings.run.max_attempts,
            settings.run.max_retry_wait_s,
            sleep=client.stopping.sleeper(asyncio.sleep),
            stats=client.stats,
        )
    except GraphError as exc:
        logger.warning("the sandbox did not say which database it serves (%s)", exc)
        return ""
    body = answer.body
    value = body.get("value") if isinstance(body, dict) else None
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return str(value[0].get("id", ""))
    return ""
