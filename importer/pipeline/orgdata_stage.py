"""The ``orgdata-csv`` target inside ``run``: the validated rows -> Org data upload files.

The same validated rows as the other targets (skills map, duplicates policy, identity) become
one line per person in ``<report folder>/orgdata/``; nothing is written to Microsoft Graph.

Identity. The upload names each person by email (``Microsoft_PersonEmail``):

- when every user value is a mail or a userPrincipalName (``input.user_key`` mail or
  userPrincipalName, or auto with no object id in the file), the value is the email and the
  run needs no network and no sign-in at all;
- when any value is an object id or an employeeId, the directory is read (``GET /users``, the
  same resolve stage as the profile target: unknown, ambiguous and disabled people are
  reported as there) and each person's ``mail`` is written; a person the directory gives no
  mail is ``failed`` ``user-no-mail``.

A dry run reports every row as it would be written and writes no upload file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from importer.config import Settings
from importer.errors import ConfigError
from importer.orgdata import (
    MAX_FILE_BYTES,
    PeopleWriter,
    UploadFileError,
    UploadFiles,
    load_library,
)
from importer.pipeline.result import GraphWork, StateOptions
from importer.pipeline.signals import stop_on_signals
from importer.pipeline.spill import RowSpill, report_not_sent
from importer.progress import WRITING, RunProgress
from importer.records import Action, RowOutcome, SkillRow
from importer.report.writer import ReportWriter
from importer.validate.user_keys import key_of_value

if TYPE_CHECKING:
    from importer.graph.client import TokenProvider

__all__ = ["ORGDATA_FOLDER", "check_orgdata", "write_orgdata"]

logger = logging.getLogger(__name__)

#: The upload files' folder inside the run's report folder.
ORGDATA_FOLDER = "orgdata"

_EMAIL_KEYS = {"mail", "userPrincipalName"}

_INTERRUPTED = "interrupted"


def check_orgdata(settings: Settings) -> None:
    """Fail before any report folder when the library cannot be used.

    Raises:
        ConfigError: a library given for another target, or a library file that cannot be read.
    """
    if settings.target.kind != "orgdata-csv":
        if settings.orgdata.library is not None:
            raise ConfigError(
                f"orgdata.library / --library: a skills library applies to target.kind "
                f"orgdata-csv only (this run's target.kind is {settings.target.kind}); "
                f"remove it, or set target.kind: orgdata-csv"
            )
        return
    load_library(settings.orgdata.library)


async def write_orgdata(
    settings: Settings,
    token_provider: TokenProvider | None,
    users: RowSpill,
    writer: ReportWriter,
    *,
    dry_run: bool,
    allow_deletes: int | None,
    progress: RunProgress,
    state: StateOptions | None = None,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> GraphWork:
    """Write every held person's line; each row gets its outcome. ``allow_deletes`` is unused:
    an upload file deletes nothing. ``state`` is unused too: upload files are written whole,
    so no confirmed state applies."""
    del allow_deletes, state
    work = GraphWork()
    stopped = _Stop()

    def emit(outcome: RowOutcome) -> None:
        progress.count(outcome.action)
        writer.add(outcome)

    library = load_library(settings.orgdata.library)
    files = None if dry_run else UploadFiles(writer.path / ORGDATA_FOLDER, max_file_bytes)
    people = PeopleWriter(files, library, emit)
    progress.start(WRITING, users.rows)
    writer.on_failure(stopped)
    try:
        with stop_on_signals(stopped):
            if _needs_directory(settings, users):
                await _from_directory(
                    settings, token_provider, users, people, emit, work, stopped, progress
                )
            else:
                work.users["key"] = settings.input.user_key
                work.users["directory"] = "not read: the file gives each person's email"
                await _write_chunks(users.chunks(), _email_as_written, people, emit, stopped)
    finally:
        writer.on_failure(None)
        if files is not None:
            files.close()
    if stopped and stopped.reasons[0] != _INTERRUPTED:
        work.aborted = f"{stopped.reasons[0]}: the rest was not written"
    else:
        work.interrupted = bool(stopped)
    work.warnings.extend(_notes(people, files, dry_run))
    return work


class _Stop:
    """Why the writing stopped (the first reason counts), and the task to cancel on a stop.

    Called by Ctrl-C / SIGTERM and by a report that cannot be written: an interrupt.
    """

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.task: asyncio.Future[Any] | None = None

    def __bool__(self) -> bool:
        return bool(self.reasons)

    def __call__(self) -> None:
        self.reasons.append(_INTERRUPTED)
        if self.task is not None:
            self.task.cancel()


def _needs_directory(settings: Settings, users: RowSpill) -> bool:
    key = settings.input.user_key
    if key in _EMAIL_KEYS:
        return False
    return key != "auto" or any(
        key_of_value(value, key) not in _EMAIL_KEYS for value in users.user_values()
    )


def _email_as_written(rows: Sequence[SkillRow]) -> str:
    return rows[0].user.strip()


async def _write_chunks(
    chunks: Iterator[Mapping[str, Sequence[SkillRow]]],
    email_of: Callable[[Sequence[SkillRow]], str | None],
    people: PeopleWriter,
    emit: Callable[[RowOutcome], None],
    stopped: _Stop,
) -> None:
    """Each person's line; once stopped, the rest of the rows are reported ``not-sent``."""
    for chunk in chunks:
        # Let Ctrl-C / SIGTERM (delivered through the event loop) in between chunks.
        await asyncio.sleep(0)
        for rows in chunk.values():
            if stopped:
                for row in rows:
                    emit(
                        RowOutcome.for_row(
                            row,
                            Action.NOT_SENT,
                            error_type="not-sent",
                            error=f"not written: {stopped.reasons[0]}",
                        )
                    )
                continue
            email = email_of(rows)
            if email is None:
                continue
            try:
                people.person(email, rows)
            except UploadFileError as exc:
                stopped.reasons.append(str(exc))


async def _from_directory(
    settings: Settings,
    token_provider: TokenProvider | None,
    users: RowSpill,
    people: PeopleWriter,
    emit: Callable[[RowOutcome], None],
    work: GraphWork,
    stopped: _Stop,
    progress: RunProgress,
) -> None:
    """Resolve every person through the directory, then write each one's directory mail."""
    from importer.graph.auth import close_token_provider, make_token_provider, sign_in_first
    from importer.pipeline.resolving import resolve_for_run
    from importer.targets import open_graph

    provider = token_provider or await sign_in_first(make_token_provider(settings))
    try:
        async with open_graph(settings, provider) as client:
            resolving = asyncio.ensure_future(
                resolve_for_run(settings, client, users, emit, work.users, progress, keep_mail=True)
            )
            # Ctrl-C, SIGTERM or a report that cannot be written stop a long directory read too.
            stopped.task = resolving
            await asyncio.wait({resolving})
            stopped.task = None
            client.gate.log.finish()
            work.http = client.stats.as_dict()
            work.throttling = client.gate.log.totals()
    finally:
        if token_provider is None:
            await close_token_provider(provider)
    if resolving.cancelled():
        report_not_sent(users, emit, "interrupted while resolving users")
        return
    resolved = resolving.result()
    if isinstance(resolved, str):
        work.aborted = resolved
        return

    def directory_mail(rows: Sequence[SkillRow]) -> str | None:
        user = resolved.directory_user(rows[0])
        if user is not None and user.mail:
            return user.mail
        for row in rows:
            emit(
                RowOutcome.for_row(
                    row,
                    Action.FAILED,
                    error_type="user-no-mail",
                    error=(
                        f"the directory holds no mail for {row.user}, and the Org data upload "
                        f"names each person by email; give the account a mailbox, or use a "
                        f"file with each person's email (input.user_key: mail)"
                    ),
                )
            )
        return None

    await _write_chunks(resolved.chunks(), directory_mail, people, emit, stopped)


def _notes(people: PeopleWriter, files: UploadFiles | None, dry_run: bool) -> list[str]:
    """What the admin must read: where the files are, and what they do not carry."""
    notes: list[str] = []
    if files is not None and files.paths:
        folder: Path = files.folder
        shown = ", ".join(
            f"{path.name} ({count} people)"
            for path, count in zip(files.paths, files.people, strict=True)
        )
        notes.append(
            f"nothing was sent: {people.people} people's skills are in {len(files.paths)} Org "
            f"data upload file(s) in {folder}: {shown}; upload them in the Microsoft 365 admin "
            f"center (Setup > Migration and imports > Organizational data)"
        )
    elif dry_run:
        notes.append(f"dry run: no upload file written ({people.people} people would be)")
    if people.not_written:
        notes.append(
            f"the Org data upload holds skill names only; not written from the source: "
            f"{', '.join(people.not_written)}"
        )
    return notes
