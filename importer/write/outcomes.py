"""Turning Graph answers into row outcomes, and the live progress counters.

Kept apart from the dispatcher's control flow so both stay small.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from importer.errors import (
    GraphError,
    NoAnswerError,
    NotSentError,
    ThrottledTooLongError,
    UnexpectedSendError,
)
from importer.graph.client import SubResponse
from importer.graph.wire import (
    NEXT_LINK_REFUSED,
    REDIRECT_REFUSED,
    SIGN_IN_FAILED,
    UNREADABLE_ANSWER,
)
from importer.progress import RunProgress
from importer.records import Action, Operation, RowOutcome, SkillRow
from importer.validate.user_keys import is_object_id

__all__ = [
    "INTERRUPTED",
    "PERMISSION_MESSAGE",
    "SIGN_IN_ADVICE",
    "UNVERIFIED_DUPLICATES",
    "DispatchResult",
    "ProgressState",
    "error_type_for",
    "held_back_outcome",
    "outcome_for",
]

#: The code a ``NotSentError`` carries when Ctrl-C or SIGTERM held the request back.
INTERRUPTED = "Interrupted"

#: The code of a row whose create may have left extra copies the final sweep could not check.
UNVERIFIED_DUPLICATES = "UnverifiedDuplicates"

#: Error types of failures the importer found itself, by the code it gave them.
_OWN_CODES = {
    UNVERIFIED_DUPLICATES: "unverified-duplicates",
    NEXT_LINK_REFUSED: "next-link-refused",
    REDIRECT_REFUSED: "redirect-refused",
    SIGN_IN_FAILED: "sign-in-failed",
    UNREADABLE_ANSWER: "unreadable-answer",
}

SIGN_IN_ADVICE = (
    "Graph did not accept the access token (expired or not valid). A fixed token "
    "(auth.method: token) cannot be renewed by the importer: put a fresh one in "
    "SKILLS_IMPORT_ACCESS_TOKEN, or use a sign-in method that renews it (device-code). For "
    "other methods, sign in again (`skills-import login`) and check auth.tenant_id and "
    "target.graph."
)


@dataclass(slots=True)
class DispatchResult:
    """How the dispatch ended.

    Attributes:
        aborted: why a safety guard stopped the run ("" when none did).
        interrupted: True when ``stop()`` was called from outside (Ctrl-C, SIGTERM).
        warnings: things the planner noticed, for the run log and summary.
        owned_skills: skills carrying the source tag among the listed users (sync guard).
        sweep: what the final sweep did (``SweepFigures``), empty when it had nothing to do.
    """

    aborted: str = ""
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)
    owned_skills: int = 0
    sweep: dict[str, int] = field(default_factory=dict)


PERMISSION_MESSAGE = (
    "Writing profile skills needs a DELEGATED sign-in (auth.method: device-code, then "
    "`skills-import login`) with the User.ReadWrite.All permission granted to the app, by an "
    "account allowed to edit other users' profiles. Current Microsoft Graph docs list "
    "application permissions as not supported for profile writes, so client-secret, certificate "
    "and managed-identity sign-ins are refused."
)


#: The live counters the dispatcher updates (kept under this name for its callers).
ProgressState = RunProgress


def error_type_for(error: GraphError) -> str:
    """A kebab-case error type for the report, from the HTTP status and Graph's code."""
    if isinstance(error, NotSentError):
        return "not-sent"
    if isinstance(error, NoAnswerError):
        return "no-answer"
    if isinstance(error, ThrottledTooLongError):
        return "throttled-too-long"
    if isinstance(error, UnexpectedSendError):
        return "internal-error"
    if error.code in _OWN_CODES:
        return _OWN_CODES[error.code]
    status = error.status
    if status is None:
        return "network-error"
    if status == 404:
        return "user-not-found" if error.code == "Request_ResourceNotFound" else "not-found"
    return {
        400: "rejected-by-graph",
        401: "unauthorized",
        403: "forbidden",
        409: "conflict",
        429: "throttled",
    }.get(status, "server-error" if status >= 500 else f"http-{status}")


def _message(error: GraphError, user: str) -> str:
    kind = error_type_for(error)
    if kind == "user-not-found":
        return f"user {user!r} was not found in the directory ({error})"
    if kind == "forbidden":
        return f"Graph refused the write ({error}). {PERMISSION_MESSAGE}"
    if kind == "unauthorized":
        return f"Graph refused the access token ({error}). {SIGN_IN_ADVICE}"
    if kind == "unverified-duplicates":
        return error.message
    if kind == "throttled":
        return f"still throttled after the allowed attempts or wait ({error})"
    return str(error)


def outcome_for(
    item: Operation | SkillRow,
    action: Action,
    *,
    error: GraphError | None = None,
    answer: SubResponse | None = None,
    skill_id: str = "",
    attempts: int = 0,
) -> RowOutcome:
    """Build the outcome of one row (or of one sync delete, which has no row).

    A row that failed only because it was never sent (a guard or an interrupt held it back)
    is ``not-sent``, not ``failed``: the exit code says why, and alerts on ``failed`` stay
    meaningful.
    """
    row = item.row if isinstance(item, Operation) else item
    status: int | None = None
    request_id = error_type = message = ""
    if answer is not None:
        status, request_id = answer.status, answer.request_id
    if error is not None:
        status, request_id = error.status, error.request_id
        error_type, message = error_type_for(error), _message(error, row.user if row else item.user)
        if action is Action.FAILED and error_type == "not-sent":
            action = Action.NOT_SENT
    changes = item.changes if isinstance(item, Operation) else ""
    if action is not Action.UPDATED and action is not Action.WOULD_UPDATE:
        changes = ""
    details: dict[str, Any] = {
        "status": status,
        "skill_id": skill_id,
        "attempts": attempts,
        "error_type": error_type,
        "error": message,
        "request_id": request_id,
        "changes": changes,
    }
    if row is None:  # a sync delete: no input row behind it
        return RowOutcome(
            source="",
            sheet="",
            row=0,
            user=item.user,
            user_id=item.user if is_object_id(item.user) else "",
            display_name=item.display_name,
            action=action,
            **details,
        )
    # The user column keeps the user as written; requests may have gone by object id.
    return RowOutcome.for_row(row, action, display_name=item.display_name, **details)


def held_back_outcome(
    op: Operation, held: NotSentError, last: GraphError | None, *, unanswered: int, sent: int
) -> RowOutcome:
    """The outcome of a write whose next attempt the run's stop held back.

    Never sent: ``not-sent``. Sent, but every answer said Graph did not act (a 429, a 503, a
    refusal) and the retry was waiting: ``not-sent`` too, naming the last answer. An attempt
    left without a clear answer (a timeout, a 504, another 5xx): ``no-answer``, as it may have
    been carried out; the next run checks.

    Args:
        op: the write.
        held: the error the stop held its next attempt back with.
        last: what Graph (or the wire) last said, None if nothing left.
        unanswered: attempts that left without a clear answer.
        sent: attempts that left.
    """
    if last is None:
        return outcome_for(op, Action.NOT_SENT, error=held)
    if not unanswered:
        again = NotSentError(
            f"{held.message}; its retry was waiting (Graph last answered {last})",
            code=held.code,
            sent=False,
        )
        return outcome_for(op, Action.NOT_SENT, error=again, attempts=sent)
    unclear = NoAnswerError(
        f"sent, but the run stopped before Graph gave a clear answer (last: {last}); the next "
        "run checks whether it was carried out",
        status=last.status,
        request_id=last.request_id,
    )
    return outcome_for(op, Action.FAILED, error=unclear, attempts=sent)
