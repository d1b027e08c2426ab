"""``connector setup``: make the people-data connection ready for runs; safe to repeat.

Steps, each skipped when already done:

1. create the connection (``contentCategory: people``) when it is missing; an existing
   connection of another category is refused (pick another ``connector.connection_id``);
2. register the schema when the connection has none or another one (``PATCH .../schema``,
   answered 202 with the operation to watch);
3. wait until the schema is ready, polling the operation (or the connection's ``state`` when
   an earlier setup started it), at most ``wait_s`` seconds; a schema that is not ready by
   then ends setup with a clear message (rerun it later: it picks up where it stopped);
4. register the connection as a profile source (``sourceId`` = the connection id).

What only an admin can do (consent, the source's priority) is returned as ``admin_steps``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from importer.config import Settings
from importer.connector.items import connection_body, connection_path, schema_body
from importer.connector.probe import PERMISSIONS
from importer.errors import ExitCode, GraphError, ImporterError
from importer.graph.client import GraphClient, SubRequest, SubResponse
from importer.graph.retry import with_retries

__all__ = ["DEFAULT_WAIT_S", "SetupError", "SetupReport", "run_setup", "set_up_connector"]

#: Microsoft says a schema takes 5 to 15 minutes; setup waits this long by default.
DEFAULT_WAIT_S = 900.0
_POLL_S = (1.0, 2.0, 5.0, 10.0, 15.0)


class SetupError(ImporterError):
    """Setup could not finish (Graph refused a step, or the schema never became ready)."""

    exit_code = ExitCode.ROWS_FAILED


@dataclass(slots=True)
class SetupReport:
    """What setup did, step by step, and what an admin must still do."""

    steps: list[str] = field(default_factory=list)
    admin_steps: list[str] = field(default_factory=list)


Progress = Callable[[str], None]


async def set_up_connector(
    client: GraphClient,
    settings: Settings,
    *,
    wait_s: float = DEFAULT_WAIT_S,
    progress: Progress = lambda _line: None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> SetupReport:
    """Run the setup steps against an open v1.0 client.

    Raises:
        SetupError: a step was refused, or the schema was not ready within ``wait_s``.

    Each step done, and each poll of the schema, is told to ``progress`` as it happens.
    """
    report = SetupReport()

    def done(step: str) -> None:
        report.steps.append(step)
        progress(f"ok: {step}")

    name = settings.connector.connection_id
    path = connection_path(settings)
    answer = await _call(client, "GET", path)
    if answer.status == 404:
        created = await _call(client, "POST", "/external/connections", connection_body(settings))
        _require(created, f"create the connection '{name}'", ok=(201, 409))
        done(f"created the connection '{name}' (contentCategory people)")
    else:
        _require(answer, f"read the connection '{name}'")
        category = answer.body.get("contentCategory") if isinstance(answer.body, dict) else None
        if category not in (None, "people"):
            raise SetupError(
                f"the connection '{name}' exists with contentCategory {category!r}, not people: "
                "choose another connector.connection_id"
            )
        done(f"the connection '{name}' exists")
    schema = await _call(client, "GET", f"{path}/schema")
    operation = ""
    if schema.status == 200 and _same_schema(schema.body, schema_body()):
        done("the schema is registered")
    else:
        if schema.status != 404:
            _require(schema, "read the schema")
        patched = await _call(client, "PATCH", f"{path}/schema", schema_body())
        _require(patched, "register the schema", ok=(200, 202))
        operation = patched.headers.get("Location", "")
        done("registered the schema (personAccount, personSkills)")
    waited = await _wait_until_ready(client, path, operation, wait_s, progress, sleep, clock)
    done(f"the schema is ready (waited {waited:.0f} s)")
    source_path = f"/admin/people/profileSources(sourceId='{name}')"
    source = await _call(client, "GET", source_path)
    if source.status == 404:
        body = {"sourceId": name, "displayName": settings.connector.name, "kind": "skills-import"}
        created = await _call(client, "POST", "/admin/people/profileSources", body)
        _require(created, "register the connection as a profile source", ok=(201, 409))
        done(f"registered '{name}' as a profile source")
    else:
        _require(source, "read the profile source")
        done(f"'{name}' is registered as a profile source")
    report.admin_steps = _admin_steps(settings)
    return report


def _admin_steps(settings: Settings) -> list[str]:
    name = settings.connector.connection_id
    url = f"https://graph.microsoft.com/v1.0/admin/people/profileSources(sourceId='{name}')"
    return [
        f"The app registration needs the {PERMISSIONS}.",
        "Add the source to the prioritized profile sources (Microsoft 365 admin center, or "
        f"PATCH /admin/people/profilePropertySettings/{{id}} with {url} in "
        "prioritizedSourceUrls; first in the list wins over the other sources).",
        "Microsoft 365 may take up to 6 hours before the skills show on profile cards, in "
        "people search and in Copilot. Everything in the connection is visible to everyone in "
        "the organisation.",
    ]


async def _wait_until_ready(
    client: GraphClient,
    path: str,
    operation: str,
    wait_s: float,
    progress: Progress,
    sleep: Callable[[float], Awaitable[Any]],
    clock: Callable[[], float],
) -> float:
    """Poll until the schema is ready; return the seconds waited."""
    started = clock()
    polls = 0
    while True:
        if operation:
            answer = await _call_absolute(client, operation)
            _require(answer, "read the schema operation")
            status = answer.body.get("status") if isinstance(answer.body, dict) else None
            if status == "failed":
                error = answer.body.get("error") if isinstance(answer.body, dict) else None
                raise SetupError(f"Graph failed to register the schema: {error or 'no reason'}")
            ready = status == "completed"
        else:
            answer = await _call(client, "GET", path)
            _require(answer, "read the connection")
            ready = isinstance(answer.body, dict) and answer.body.get("state") == "ready"
        elapsed = clock() - started
        if ready:
            return elapsed
        if elapsed >= wait_s:
            raise SetupError(
                f"the schema was still provisioning after {elapsed:.0f} s (the wait is at most "
                f"{wait_s:.0f} s; Microsoft says 5 to 15 minutes): rerun `skills-import "
                "connector setup` later, it carries on from here"
            )
        progress(f"schema provisioning: {elapsed:.0f} s of at most {wait_s:.0f} s")
        step = _POLL_S[min(polls, len(_POLL_S) - 1)]
        polls += 1
        await sleep(min(step, max(0.0, wait_s - elapsed)))


def _same_schema(found: Any, wanted: dict[str, Any]) -> bool:
    if not isinstance(found, dict) or not isinstance(found.get("properties"), list):
        return False

    def shape(props: list[Any]) -> set[tuple[str, str, tuple[str, ...]]]:
        return {
            (str(p.get("name")), str(p.get("type")).casefold(), tuple(p.get("labels") or ()))
            for p in props
            if isinstance(p, dict)
        }

    return shape(wanted["properties"]) <= shape(found["properties"])


async def _call(
    client: GraphClient, method: str, url: str, body: dict[str, Any] | None = None
) -> SubResponse:
    async def once() -> SubResponse:
        answer = await client.send(SubRequest("setup", method, url, body))
        error = answer.error()
        if error is not None and error.status in (429, 503, 504):
            raise error
        return answer

    try:
        return await with_retries(once, 8, client.max_retry_wait_s, stats=client.stats)
    except GraphError as exc:
        raise SetupError(f"{method} {url}: {exc}") from None


async def _call_absolute(client: GraphClient, url: str) -> SubResponse:
    """GET the operation's absolute URL (same origin only, as for any link Graph gives)."""

    async def once() -> SubResponse:
        answer = await client.get_page(url)
        error = answer.error()
        if error is not None and error.status in (429, 503, 504):
            raise error
        return answer

    try:
        return await with_retries(once, 8, client.max_retry_wait_s, stats=client.stats)
    except GraphError as exc:
        raise SetupError(f"GET the schema operation: {exc}") from None


def _require(answer: SubResponse, what: str, *, ok: tuple[int, ...] = (200,)) -> None:
    if answer.status in ok:
        return
    error = answer.error()
    if answer.status in (401, 403):
        raise SetupError(
            f"Graph refused to {what} (HTTP {answer.status}: {error}). It needs the {PERMISSIONS}."
        )
    raise SetupError(f"could not {what}: {error or f'HTTP {answer.status}'}")


async def run_setup(
    settings: Settings, *, wait_s: float = DEFAULT_WAIT_S, progress: Progress = lambda _l: None
) -> SetupReport:
    """Sign in, take the run lock of the target, open Graph v1.0 and run the setup steps.

    Raises:
        ConfigError, AuthError: before anything is sent; LockError: a run holds the lock;
        SetupError: a step failed.
    """
    from importer.graph.auth import close_token_provider, make_token_provider, sign_in_first
    from importer.lock import RunLock
    from importer.targets import check_target, open_graph

    target = settings.target.model_copy(update={"kind": "connector"})
    settings = settings.model_copy(update={"target": target})
    check_target(settings)
    with RunLock.for_settings(settings):
        provider = await sign_in_first(make_token_provider(settings))
        try:
            async with open_graph(settings, provider) as client:
                return await set_up_connector(client, settings, wait_s=wait_s, progress=progress)
        finally:
            await close_token_provider(provider)
