"""The connector target's writer: one externalItem per person, behind the same plan as profiles.

It takes the resolved rows exactly as the profile dispatcher does (validation, mapping,
duplicates and identity resolution already happened), and shares the batcher, pacer, retry
policy, refusal guard, delete guard, stop handling and outcome rules. Per person:

- rows that ask for an audience narrower than the organisation (me, family, contacts,
  groupMembers) are ``skipped``
  (``audience-not-supported``): connector data is shown to everyone, so they are left out
  rather than published wider than asked;
- the item is built (``importer.connector.items``); the same content hash as the last
  confirmed PUT means nothing is sent and every row is ``unchanged`` (``run.delta: off``
  sends every person again);
- otherwise one idempotent PUT, retried on 429/503/504 and lost answers (a PUT repeated is the
  same item, never a second one); each row is ``created``, ``updated`` or ``unchanged`` by
  comparing its skill with the last confirmed item, and skills the item no longer holds are
  reported ``deleted``. ``run.mode: create`` never replaces an existing item.

``sync`` also deletes the items of people who are no longer in the file, under the delete
guard (checked before anything is written). Only confirmed writes are recorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence

from importer.config import Settings
from importer.connector.confirmed import ConfirmedItems, Recorded
from importer.connector.items import MAX_ITEM_BYTES, item_id_for, item_path, person_item
from importer.connector.outcomes import (
    delete_reason,
    gone_skill,
    gone_skills,
    narrower_audience,
    object_id_of,
    row_actions,
    too_large,
)
from importer.connector.probe import connection_problem
from importer.connector.sending import RetriedSender, Tries
from importer.errors import GraphError, NotSentError
from importer.graph.batcher import Batcher
from importer.graph.client import GraphClient
from importer.graph.pacing import AdaptivePacer
from importer.progress import WRITING, RunProgress
from importer.records import Action, RowOutcome, SkillRow
from importer.write.execute import as_graph_error
from importer.write.groups import UserRows
from importer.write.guards import SystemicRefusalGuard
from importer.write.outcomes import DispatchResult, outcome_for
from importer.write.stopping import StopSwitch

__all__ = ["ConnectorWriter"]

logger = logging.getLogger(__name__)


class ConnectorWriter(StopSwitch):
    """Writes every person's item; every row gets exactly one outcome.

    Args:
        client: an open ``GraphClient`` on Graph v1.0.
        settings: the run's settings (``connector``, ``run``, ``auth.tenant_id``).
        ledger: the confirmed hashes of the connection's items.
        fresh: send every person's item whatever the ledger says (``--full``,
            ``run.delta: off``); confirmations are still recorded.
        file_users: every user value of the file, case-folded (rows invalid or not
            resolved included): sync never removes the item of a person the file still names.
        dry_run: report ``would-*`` actions, send no write.
        allow_deletes: sync may delete up to this many items whatever the ratio says.
        on_outcome: called once for every row (and every item or skill removed).
        progress: the run's live counters.
    """

    def __init__(
        self,
        client: GraphClient,
        *,
        settings: Settings,
        ledger: ConfirmedItems,
        fresh: bool = False,
        file_users: set[str] | None = None,
        dry_run: bool = False,
        allow_deletes: int | None = None,
        on_outcome: Callable[[RowOutcome], None],
        progress: RunProgress | None = None,
    ) -> None:
        self._client = client
        self._settings = settings
        self._run = settings.run
        self._ledger = ledger
        self._fresh = fresh or settings.run.delta == "off"
        self._named = file_users or set()
        self._dry_run = dry_run
        self._allow_deletes = allow_deletes
        self._emit = on_outcome
        self._sleep = client.stopping.sleeper(asyncio.sleep)
        self._batcher: Batcher | None = None
        self._sender = RetriedSender(client, settings.run, self._sleep)
        self._refusals: SystemicRefusalGuard | None = None
        self._stop_reason = ""
        self.result = DispatchResult()
        self.progress = progress if progress is not None else RunProgress()

    async def run(self, users: UserRows) -> DispatchResult:
        """Write every person's item (and, in sync, remove leavers' items); every row gets
        exactly one outcome."""
        self.progress.start(WRITING, users.rows, "rows")
        self._refusals = SystemicRefusalGuard(
            users.users, can_refresh_token=self._client.can_refresh_token
        )
        problem = await connection_problem(self._sender.send, self._settings)
        if problem:
            self.result.aborted = problem
            self._hold_back(users, problem)
            return self.result
        leavers: list[str] = []
        if self._run.mode == "sync":
            seen = {
                item_id_for(rows[0].user_id)
                for chunk in users.chunks()
                for rows in chunk.values()
                if rows and rows[0].user_id
            }
            held = dict(self._ledger.items())
            leavers = sorted(
                item_id
                for item_id, written_as in held.items()
                if item_id not in seen and written_as.casefold() not in self._named
            )
            owned = len(seen | set(held))
            reason = delete_reason(
                len(leavers), owned, self._run.max_delete_ratio, self._allow_deletes
            )
            if reason:
                self.result.aborted = reason
            if reason and not self._dry_run:
                self._hold_back(users, f"not sent: {reason}")
                for item_id in leavers:
                    self._emit(gone_skill(item_id, Action.WOULD_DELETE))
                return self.result
        pacer = AdaptivePacer(sleep=self._sleep, max_wait_s=self._run.max_retry_wait_s)
        async with Batcher(
            self._client,
            batch_size=self._run.batch_size,
            concurrency=self._run.concurrency,
            pacer=pacer,
        ) as batcher:
            self._batcher = batcher
            self._sender.batcher = batcher
            if self._stop_reason:
                batcher.stop()
            limit = asyncio.Semaphore(max(1, self._run.concurrency * self._run.batch_size * 2))

            async def one(object_id: str, rows: Sequence[SkillRow]) -> None:
                async with limit:
                    await self._person(object_id, rows)

            for chunk in users.chunks():
                await asyncio.gather(*(one(*group) for group in _groups(chunk)))
            await asyncio.gather(*(self._remove(item_id) for item_id in leavers))
        return self.result

    async def _person(self, object_id: str, rows: Sequence[SkillRow]) -> None:
        kept: list[SkillRow] = []
        for row in rows:
            if narrower_audience(row.allowed_audiences):
                message = (
                    f"allowedAudiences {row.allowed_audiences!r}: a people-data connector "
                    "shows every skill to the whole organisation, so this one is left out"
                )
                self._record(
                    RowOutcome.for_row(
                        row, Action.SKIPPED, error_type="audience-not-supported", error=message
                    )
                )
            else:
                kept.append(row)
        item = person_item(object_id, kept, self._tenant())
        if item.size > MAX_ITEM_BYTES:
            for row in kept:
                self._record(too_large(row, item.size, MAX_ITEM_BYTES))
            return
        before = self._ledger.recorded(item.item_id)
        if not kept and before is None:
            return  # nothing to show and nothing shown: no empty item is made
        if before is not None and before.content_hash == item.content_hash and not self._fresh:
            for row in kept:
                self._record(outcome_for(row, Action.UNCHANGED, skill_id=item.item_id))
            return
        if before is not None and self._run.mode == "create":
            for row in kept:
                self._record(outcome_for(row, Action.UNCHANGED, skill_id=item.item_id))
            return
        if self._dry_run:
            for row, action in row_actions(kept, item, before, dry_run=True):
                self._record(outcome_for(row, action, skill_id=item.item_id))
            return
        tries = Tries()
        try:
            url = item_path(self._settings, item.item_id)
            answer = await self._sender.send("PUT", url, item.body, tries)
            error = answer.error()
            if error is not None:
                raise error
        except NotSentError as held:
            # Held back by a stop: what Graph last answered, if an attempt left, else not sent.
            for row in kept:
                if tries.last is not None:
                    failed = outcome_for(row, Action.FAILED, error=tries.last, attempts=tries.sent)
                    self._record(failed)
                else:
                    self._record(outcome_for(row, Action.NOT_SENT, error=held))
            return
        except Exception as exc:
            failure = as_graph_error(exc)
            self._note_auth(object_id, failure)
            for row in kept:
                self._record(outcome_for(row, Action.FAILED, error=failure, attempts=tries.sent))
            return
        self._note_auth(object_id, None)
        written_as = rows[0].user if rows else ""
        self._ledger.record(item.item_id, Recorded(item.content_hash, item.skills, written_as))
        for row, action in row_actions(kept, item, before, dry_run=False):
            self._record(
                outcome_for(row, action, answer=answer, skill_id=item.item_id, attempts=tries.sent)
            )
        if before is not None:
            for name in gone_skills(item, before):
                self._emit(gone_skill(item.item_id, Action.DELETED, name, object_id=object_id))

    async def _remove(self, item_id: str) -> None:
        """Delete the item of a person no longer in the file (sync)."""
        if self._dry_run or self._stop_reason:
            self._emit(gone_skill(item_id, Action.WOULD_DELETE))
            return
        try:
            answer = await self._sender.send("DELETE", item_path(self._settings, item_id))
            error = answer.error() if answer.status != 404 else None
            if error is not None:
                raise error
        except Exception as exc:
            failure = as_graph_error(exc)
            self._emit(gone_skill(item_id, Action.FAILED, error=failure))
            return
        self._ledger.forget(item_id)
        self._emit(gone_skill(item_id, Action.DELETED, status=answer.status))

    def _tenant(self) -> str:
        return "" if self._settings.target.is_sandbox else self._settings.auth.tenant_id

    def _hold_back(self, users: UserRows, reason: str) -> None:
        error = NotSentError(reason, sent=False)
        for chunk in users.chunks():
            for rows in chunk.values():
                for row in rows:
                    self._record(outcome_for(row, Action.NOT_SENT, error=error))

    def _record(self, outcome: RowOutcome) -> None:
        self.progress.count(outcome.action)
        self._emit(outcome)

    def _note_auth(self, user: str, error: GraphError | None) -> None:
        assert self._refusals is not None
        reason = self._refusals.note("write", user, error)
        if reason:
            self._abort(reason)


def _groups(chunk: Mapping[str, Sequence[SkillRow]]) -> list[tuple[str, Sequence[SkillRow]]]:
    return [(rows[0].user_id or object_id_of(key), rows) for key, rows in chunk.items() if rows]
