"""The one exception tree of skills-import, and its one exit-code table.

Row problems are never run-stopping exceptions: they become ``RowOutcome`` records with a
kebab-case ``error_type``. The exceptions below are for conditions under which the whole run
(or one HTTP exchange, before it is turned into a row outcome) cannot go on, plus the one
exception a validator raises for a single cell::

    ImporterError                 any failure of the importer; the CLI turns it into one line
    ├── ConfigError               config.yaml, environment or flags are wrong        (USAGE)
    ├── InputError                an input file cannot be read as a table           (USAGE)
    ├── AuthError                 no usable credential, sign-in needed               (USAGE)
    ├── LockError                 another run holds the run lock                     (LOCKED)
    ├── ScratchSpaceError         the temporary folder cannot hold the run's valid rows
    │                             (full or unwritable); found before sending          (USAGE)
    ├── DirectoryAccessError      the directory refused to be read (401/403); the run
    │                             stops before any write                        (SAFETY_ABORT)
    └── GraphError                an HTTP exchange with Graph failed
        ├── TransientGraphError   worth retrying: 429, 503, 504, timeouts, resets
        │   └── ThrottledTooLongError   Graph asked to wait longer than max_retry_wait_s
        ├── PermanentGraphError   not worth retrying: other 4xx, 500, refused links
        ├── NotSentError          the run was stopping: the request never left
        ├── NoAnswerError         sent, but the run stopped before Graph answered
        └── UnexpectedSendError   anything else that went wrong while sending (a bug, say)
    ValueError
    └── EnumValueError            one cell holds no known spelling of an enum; pydantic turns
                                  it into a validation error, so it becomes an invalid row

A safety guard (too many invalid rows, too many deletes, every write refused) is not an
exception: the run stops sending, still writes its report, and exits ``SAFETY_ABORT``.
The sandbox keeps its own request errors: it imports nothing from the importer.

``EXIT_CODES`` is the table of process exit codes; the CLI's help and the README's table are
rendered from it (a test keeps the README in step). Every error's text is safe to print: no
token, secret or Authorization header ever goes in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

__all__ = [
    "EXIT_CODES",
    "AuthError",
    "ConfigError",
    "DirectoryAccessError",
    "EnumValueError",
    "ExitCode",
    "ExitCodeInfo",
    "GraphError",
    "ImporterError",
    "InputError",
    "LockError",
    "NoAnswerError",
    "NotSentError",
    "PermanentGraphError",
    "ScratchSpaceError",
    "ThrottledTooLongError",
    "TransientGraphError",
    "UnexpectedSendError",
]


class ExitCode(IntEnum):
    """The process exit codes; what each means is in ``EXIT_CODES``."""

    OK = 0
    ROWS_FAILED = 1
    USAGE = 2
    SAFETY_ABORT = 3
    LOCKED = 4
    INTERRUPTED = 130


@dataclass(frozen=True, slots=True)
class ExitCodeInfo:
    """One line of the exit-code table: the code, a short name and what it means."""

    code: ExitCode
    name: str
    meaning: str


#: The exit codes schedulers alert on. Meanings may hold `backticks` (rendered as code in the
#: README, dropped in the CLI's help).
EXIT_CODES: tuple[ExitCodeInfo, ...] = (
    ExitCodeInfo(
        ExitCode.OK,
        "ok",
        "every row created, updated, unchanged, deleted or skipped (`validate`: every row valid)",
    ),
    ExitCodeInfo(
        ExitCode.ROWS_FAILED,
        "rows-invalid-or-failed",
        "finished, but some rows are invalid or failed: see `rejects.csv`",
    ),
    ExitCodeInfo(
        ExitCode.USAGE,
        "usage-config-or-input",
        "usage, config or input error: nothing was sent",
    ),
    ExitCodeInfo(
        ExitCode.SAFETY_ABORT,
        "safety-abort",
        "stopped by a safety guard (too many invalid rows, too many deletes, every write "
        "refused 401/403, the report folder failing once writing began)",
    ),
    ExitCodeInfo(ExitCode.LOCKED, "locked", "another run holds the lock"),
    ExitCodeInfo(
        ExitCode.INTERRUPTED,
        "interrupted",
        "Ctrl-C or SIGTERM: nothing more was sent, the report is still written",
    ),
)


class ImporterError(Exception):
    """Base of every error the importer raises on purpose.

    Attributes:
        exit_code: the process exit code the CLI uses for this error.
    """

    exit_code: int = ExitCode.USAGE


class ConfigError(ImporterError):
    """The configuration is unusable: unknown key, wrong type, impossible combination.

    The message names the key and the file it came from.
    """

    exit_code = ExitCode.USAGE


class InputError(ImporterError):
    """An input file cannot be read as a table (missing, empty, corrupt, no usable header).

    Args:
        message: what is wrong, written for an HR admin.
        path: the file.
        sheet: the sheet of a workbook, if the problem is in one sheet.
    """

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, *, path: str = "", sheet: str = "") -> None:
        self.path = path
        self.sheet = sheet
        where = path + (f" [sheet {sheet!r}]" if sheet else "")
        super().__init__(f"{where}: {message}" if where else message)


class AuthError(ImporterError):
    """No credential could be obtained (for example: not signed in for an unattended run)."""

    exit_code = ExitCode.USAGE


class LockError(ImporterError):
    """Another run holds the run lock; nothing was sent."""

    exit_code = ExitCode.LOCKED


class ScratchSpaceError(ImporterError):
    """The system temp folder cannot hold the valid rows a run keeps on disk (full, unwritable).

    The rows are put there while the input is validated, before anything is sent.
    """

    exit_code = ExitCode.USAGE


class DirectoryAccessError(ImporterError):
    """The directory refused to be read (401/403), so no user can be resolved: nothing is
    written. The pipeline reports every row ``not-sent`` and exits ``SAFETY_ABORT``."""

    exit_code = ExitCode.SAFETY_ABORT


class GraphError(ImporterError):
    """An HTTP exchange with Microsoft Graph (or the sandbox) failed.

    Args:
        message: Graph's error message, or a description of the transport failure.
        status: HTTP status, or None when no response arrived.
        code: Graph's ``error.code`` (for example ``TooManyRequests``), if any.
        request_id: Graph's ``request-id``, for support tickets.
        retry_after: seconds the server asked us to wait, if it said so.
        sent: False only when the request certainly never left (a create may then be retried
            blindly); True when the server may have acted on it.
    """

    exit_code = ExitCode.ROWS_FAILED

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "",
        request_id: str = "",
        retry_after: float | None = None,
        sent: bool = True,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        self.sent = sent
        parts = [f"HTTP {status}" if status is not None else "no response"]
        if code:
            parts.append(code)
        text = f"{' '.join(parts)}: {message}" if message else " ".join(parts)
        super().__init__(text)


class TransientGraphError(GraphError):
    """A failure worth retrying: 429, 503, 504, a timeout or a dropped connection."""


class PermanentGraphError(GraphError):
    """A failure that a retry will not fix: 400, 401 after refresh, 403, 404, 409, 500."""


class ThrottledTooLongError(TransientGraphError):
    """Graph asked to wait longer than ``run.max_retry_wait_s``: given up, never waited.

    The row fails as ``throttled-too-long``; the next run tries again.
    """


class NotSentError(GraphError):
    """The run was stopping (interrupt or safety guard), so this request was never sent."""


class NoAnswerError(GraphError):
    """The request was sent, but the run stopped before Graph answered it.

    Graph may or may not have carried it out; the next run finds out by listing.
    """


class UnexpectedSendError(GraphError):
    """Something unforeseen went wrong while sending one request (a bug, or an answer no
    parser could read). Its rows fail; the run goes on. The text names only the exception
    type, never its message, which might quote a header or a token.
    """


class EnumValueError(ValueError):
    """A cell holds no known spelling of an enum.

    A ``ValueError`` so that pydantic reports it as a validation error of the row: the row
    becomes ``invalid``, the run goes on.

    Attributes:
        field: the canonical field (``proficiency``).
        value: the offending value, as written.
        allowed: the canonical values.
        suggestion: the closest canonical value, or None when nothing is close.
        detail: the message without the field name (for "column 'Level' (proficiency): ...").
    """

    def __init__(
        self,
        field: str,
        value: str,
        allowed: Iterable[str],
        suggestion: str | None,
        *,
        shown: str,
    ) -> None:
        """``shown`` is ``value`` quoted for a message (escaped and shortened)."""
        self.field = field
        self.value = value
        self.allowed = tuple(allowed)
        self.suggestion = suggestion
        hint = f"; did you mean '{suggestion}'?" if suggestion else ""
        self.detail = f"{shown} is not one of {', '.join(self.allowed)}{hint}"
        super().__init__(f"{field} {self.detail}")
