"""Open the run's Graph endpoint: the built-in sandbox (started in-process) or a real cloud."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

from importer.config import Settings
from importer.errors import ConfigError
from importer.graph.client import GraphClient, TokenProvider
from importer.sandbox import BUILT_IN_DIRECTORY, SandboxConfig, start_sandbox

__all__ = ["SANDBOX_NOTE", "check_target", "open_graph", "sandbox_directory", "target_label"]

_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")

SANDBOX_NOTE = "nothing was sent to Microsoft Graph"


def target_label(settings: Settings) -> str:
    """How the target is named in summaries: says plainly when it is not Microsoft Graph."""
    if settings.target.kind == "orgdata-csv":
        return "Org data upload files in the report folder (nothing was sent)"
    if settings.target.graph == "sandbox":
        return f"built-in sandbox ({SANDBOX_NOTE})"
    if settings.target.is_sandbox:
        return f"sandbox at {settings.target.graph} ({SANDBOX_NOTE})"
    return settings.target.graph


def sandbox_directory(settings: Settings) -> Path:
    """The built-in sandbox's users CSV: ``target.sandbox_directory`` when it is set anywhere
    (file, environment or flag), else the demo directory shipped inside the package, so that an
    installed ``skills-import`` works from any folder.
    """
    if "sandbox_directory" in settings.target.model_fields_set:
        return settings.target.sandbox_directory
    return BUILT_IN_DIRECTORY


def check_target(settings: Settings) -> None:
    """Fail before anything is read or sent when the built-in sandbox cannot start.

    Raises:
        ConfigError: naming the key and the path; for ``target.kind: connector`` on Microsoft
            Graph, a delegated sign-in (the connector API takes app-only tokens) or a tenant
            that is not named by its id (the items' ACL grants everyone in it by that id).
    """
    if settings.target.kind == "connector" and not settings.target.is_sandbox:
        if settings.auth.method == "device-code":
            raise ConfigError(
                "auth.method: device-code cannot write a people-data connector (Microsoft Graph "
                "takes app-only sign-ins there): use client-secret, certificate or "
                "managed-identity"
            )
        if not _GUID.match(settings.auth.tenant_id):
            raise ConfigError(
                "auth.tenant_id: target.kind connector needs the tenant's id (a GUID), not "
                "a domain name: each item's ACL grants everyone in the tenant by that id"
            )
    if settings.target.graph != "sandbox":
        return
    directory = sandbox_directory(settings)
    if not directory.is_file():
        raise ConfigError(
            f"target.sandbox_directory: {directory} not found (the sandbox's users CSV: "
            f"id,userPrincipalName,displayName)"
        )


@contextlib.asynccontextmanager
async def open_graph(
    settings: Settings, token_provider: TokenProvider
) -> AsyncIterator[GraphClient]:
    """Yield an open client for the target; start and stop the built-in sandbox around it."""
    run = settings.run
    async with contextlib.AsyncExitStack() as stack:
        if settings.target.graph == "sandbox":
            settings.target.sandbox_db.parent.mkdir(parents=True, exist_ok=True)
            check_target(settings)
            try:
                sandbox = await start_sandbox(
                    SandboxConfig(
                        db_path=str(settings.target.sandbox_db),
                        directory=sandbox_directory(settings),
                    )
                )
            except (OSError, ValueError) as exc:
                raise ConfigError(f"target.sandbox_directory / sandbox_db: {exc}") from None
            stack.push_async_callback(sandbox.close)
            base_url = sandbox.base_url
        else:
            base_url = settings.target.graph
        # The connector API is Graph v1.0, whatever api_version says for profile skills.
        version = "v1.0" if settings.target.kind == "connector" else settings.target.api_version
        client = await stack.enter_async_context(
            GraphClient(
                base_url,
                version,
                token_provider,
                concurrency=run.concurrency,
                request_timeout_s=run.request_timeout_s,
                max_attempts=run.max_attempts,
                max_retry_wait_s=run.max_retry_wait_s,
            )
        )
        yield client
