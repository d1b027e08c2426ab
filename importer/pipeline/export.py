"""``export_skills``: the skills in Graph today, one row per skill, into a CSV or workbook.

People come from the directory (``--all``: every user, page by page) or from a file of user
values (``--users``: any ``input.user_key``, resolved through the directory like ``run``'s).
Their skills are listed through the run's ``Batcher`` (first pages in ``$batch``, the same
retry, throttling and pacing), a page of people at a time, and written as they come: memory
holds one page of people and their skills, whatever the size of the tenant.

Export reads only and writes no report folder, only the file asked for. It takes the run lock of
the target and tenant all the same: an export taken while a run writes would mix the states before
and after that run, which is no backup at all (exit 4, as for a second run).
"""

from __future__ import annotations

import asyncio
import csv
import functools
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from importer.config import Settings
from importer.errors import ConfigError, DirectoryAccessError, ExitCode, GraphError, InputError
from importer.lock import RunLock
from importer.pipeline.signals import stop_on_signals
from importer.progress import LISTING, RunProgress
from importer.read.headers import USER_ALIASES
from importer.records import header_key
from importer.report.export_file import EXPORT_SUFFIXES, ExportFile, skill_cells

if TYPE_CHECKING:
    from importer.graph.batcher import Batcher
    from importer.graph.client import GraphClient

__all__ = ["ExportResult", "export_skills", "read_user_values"]

logger = logging.getLogger(__name__)

#: People listed per step: one directory page (Graph's largest ``$top``).
PAGE = 999


@dataclass(slots=True)
class ExportResult:
    """What the export did, for the CLI.

    Attributes:
        exit_code, reason: as for ``run``: 1 when some people could not be listed or found,
            130 when Ctrl-C or SIGTERM stopped it (no file is left behind).
        path: the file written.
        people: people whose skills were listed.
        skills: rows written.
        warnings: one per person not exported (not found, ambiguous, listing failed).
    """

    exit_code: int
    reason: str
    path: Path
    people: int = 0
    skills: int = 0
    warnings: list[str] = field(default_factory=list)


def read_user_values(path: Path) -> list[str]:
    """The user values of a ``--users`` file: the first cell of each line, in order, once each.

    A first line naming a user column (``user``, ``userPrincipalName``, ``mail``...) is a
    header; an export file fed back works as it is.

    Raises:
        InputError: the file cannot be read.
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            lines = [row[0].strip() for row in csv.reader(handle) if row and row[0].strip()]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 CSV text"
        raise InputError(
            f"{path}: cannot read the users file ({reason}); nothing was read"
        ) from None
    aliases = {header_key(name) for names in USER_ALIASES.values() for name in names}
    if lines and header_key(lines[0]) in aliases:
        lines = lines[1:]
    return list(dict.fromkeys(lines))


async def export_skills(
    settings: Settings,
    output: Path,
    *,
    users_file: Path | None = None,
    progress: RunProgress | None = None,
) -> ExportResult:
    """Write the skills of everyone (``users_file`` None) or of the file's people to ``output``.

    Raises:
        ConfigError: ``output`` is neither ``.csv`` nor ``.xlsx``, or cannot be written.
        InputError: the users file cannot be read.
    """
    from importer.targets import check_target

    if output.suffix.lower() not in EXPORT_SUFFIXES:
        raise ConfigError(f"-o {output}: write a .csv or .xlsx file")
    check_target(settings)
    values = read_user_values(users_file) if users_file is not None else None
    with RunLock.for_settings(settings):
        return await _export_locked(settings, output, values, progress)


async def _export_locked(
    settings: Settings,
    output: Path,
    values: Sequence[str] | None,
    progress: RunProgress | None,
) -> ExportResult:
    from importer.graph.auth import close_token_provider, make_token_provider, sign_in_first
    from importer.targets import open_graph

    progress = progress if progress is not None else RunProgress()
    result = ExportResult(ExitCode.OK, "", output)
    token_provider = await sign_in_first(make_token_provider(settings))
    try:
        try:
            target = ExportFile(output)
        except OSError as exc:
            raise ConfigError(f"-o {output}: cannot be written ({exc.strerror})") from None
        with target:
            async with open_graph(settings, token_provider) as client:
                work = asyncio.ensure_future(
                    _export(settings, client, values, target, progress, result)
                )
                with stop_on_signals(functools.partial(_cancel, work)):
                    await asyncio.wait({work})
            if work.cancelled():
                target.abandon()
                result.exit_code = ExitCode.INTERRUPTED
                result.reason = f"interrupted: {output} was not written"
                return result
            work.result()
            target.done()
    finally:
        await close_token_provider(token_provider)
    result.skills = target.rows
    if result.warnings:
        result.exit_code = ExitCode.ROWS_FAILED
        result.reason = f"{len(result.warnings)} person(s) not exported: see the warnings"
    else:
        result.reason = f"{result.skills} skill(s) of {result.people} person(s) exported"
    return result


def _cancel(work: asyncio.Future[None]) -> None:
    work.cancel()


async def _export(
    settings: Settings,
    client: GraphClient,
    values: Sequence[str] | None,
    target: ExportFile,
    progress: RunProgress,
    result: ExportResult,
) -> None:
    from importer.graph.batcher import Batcher
    from importer.graph.pacing import AdaptivePacer

    run = settings.run
    pacer = AdaptivePacer(sleep=asyncio.sleep, max_wait_s=run.max_retry_wait_s)
    async with Batcher(
        client, batch_size=run.batch_size, concurrency=run.concurrency, pacer=pacer
    ) as batcher:
        people = (
            _directory(client, settings)
            if values is None
            else _resolved(client, settings, values, result)
        )
        # The next page of people is read while the current one's skills are listed.
        listing: asyncio.Task[list[list[dict[str, Any]] | BaseException]] | None = None
        held: list[tuple[str, str]] = []
        progress.start(LISTING, None, "people")
        async for page in people:
            if listing is not None:
                _write(settings, held, await listing, target, result)
                progress.advance(len(held), phase=LISTING)
            held = page
            listing = asyncio.create_task(_list_page(client, batcher, page, run.concurrency))
        if listing is not None:
            _write(settings, held, await listing, target, result)
            progress.advance(len(held), phase=LISTING)


async def _list_page(
    client: GraphClient, batcher: Batcher, page: Sequence[tuple[str, str]], concurrency: int
) -> list[list[dict[str, Any]] | BaseException]:
    """The skills of one page of people, in the page's order (an error for a failed listing)."""
    from importer.graph.client import skills_path

    limit = asyncio.Semaphore(max(1, concurrency * 40))

    async def one(user_id: str) -> list[dict[str, Any]]:
        async with limit:
            first = functools.partial(batcher.submit, "GET", skills_path(user_id))
            return await client.list_skills(user_id, first_page=first)

    return await asyncio.gather(*(one(user_id) for user_id, _upn in page), return_exceptions=True)


def _write(
    settings: Settings,
    page: Sequence[tuple[str, str]],
    skills: Sequence[list[dict[str, Any]] | BaseException],
    target: ExportFile,
    result: ExportResult,
) -> None:
    tag, separator = settings.run.source_tag, settings.input.list_separator
    for (user_id, upn), listed in zip(page, skills, strict=True):
        if isinstance(listed, BaseException):
            if not isinstance(listed, Exception):
                raise listed
            result.warnings.append(f"{upn or user_id}: skills could not be listed ({listed})")
            continue
        result.people += 1
        for skill in listed:
            target.add(skill_cells(upn or user_id, skill, source_tag=tag, separator=separator))


async def _directory(
    client: GraphClient, settings: Settings
) -> AsyncIterator[list[tuple[str, str]]]:
    """Every user of the directory, a page at a time: (object id, userPrincipalName)."""
    from importer.graph.retry import with_retries
    from importer.graph.wire import SubRequest
    from importer.resolve.directory import DIRECTORY_PERMISSION

    run = settings.run
    url: str | None = None
    while True:

        async def once(link: str | None = url) -> dict[str, Any]:
            if link is None:
                request = SubRequest(
                    "users", "GET", f"/users?$select=id,userPrincipalName&$top={PAGE}"
                )
                answer = await client.send(request)
            else:
                answer = await client.get_page(link)
            error = answer.error()
            if error is not None:
                raise error
            if not isinstance(answer.body, dict) or not isinstance(answer.body.get("value"), list):
                raise InputError("the directory's answer has no 'value' array; nothing exported")
            return answer.body

        try:
            body = await with_retries(
                once, run.max_attempts, run.max_retry_wait_s, stats=client.stats
            )
        except GraphError as error:
            if error.status in (401, 403):
                raise DirectoryAccessError(
                    f"the directory cannot be read ({error}); nothing was exported. "
                    f"{DIRECTORY_PERMISSION}"
                ) from None
            raise
        page = [
            (str(item["id"]), str(item.get("userPrincipalName") or ""))
            for item in body["value"]
            if isinstance(item, dict) and item.get("id")
        ]
        if page:
            yield page
        link = body.get("@odata.nextLink")
        if not isinstance(link, str) or not link:
            return
        url = link


async def _resolved(
    client: GraphClient, settings: Settings, values: Sequence[str], result: ExportResult
) -> AsyncIterator[list[tuple[str, str]]]:
    """The people of a ``--users`` file, resolved through the directory, a page at a time."""
    from importer.resolve.directory import read_directory
    from importer.resolve.matching import MatchIndex
    from importer.resolve.stage import Resolution, wanted_values

    key = settings.input.user_key
    for start in range(0, len(values), PAGE * 10):
        chunk = values[start : start + PAGE * 10]
        wanted = wanted_values(chunk, key)
        index = MatchIndex(wanted)
        _figures, failures = await read_directory(wanted, index, client, settings.run)
        resolution = Resolution(key, index, failures)
        people: list[tuple[str, str]] = []
        seen: set[str] = set()
        for value in chunk:
            prop, users = resolution.users_for(value)
            if len(users) == 1:
                if users[0].id not in seen:
                    seen.add(users[0].id)
                    people.append((users[0].id, users[0].user_principal_name or value))
            elif users:
                names = ", ".join(u.user_principal_name or u.id for u in users)
                result.warnings.append(f"{value}: matches several users ({names}); not exported")
            else:
                failure = resolution.failure_for(value)
                why = (
                    f"could not be looked up ({failure})" if failure else f"no user has this {prop}"
                )
                result.warnings.append(f"{value}: {why}; not exported")
        for page_start in range(0, len(people), PAGE):
            yield people[page_start : page_start + PAGE]
