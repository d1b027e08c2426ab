"""The one exception tree of skills-import.

Row problems are never exceptions: they are ``RowOutcome`` records with a kebab-case
``error_type``. These exceptions are for conditions under which the whole run (or one HTTP
exchange, before it is turned into a row outcome) cannot go on::

    ImporterError                 any failure of the importer; the CLI turns it into one line
    ├── ConfigError               config.yaml, environment or flags are wrong        (exit 2)
    ├── InputError                an input file cannot be read as a table           (exit 2)
    ├── AuthError                 no usable credential, sign-in needed               (exit 2)
    ├── LockError                 another run holds the run lock                     (exit 4)
    ├── SafetyAbortError          a safety guard stopped the run before harm        (exit 3)
    └── GraphError                an HTTP exchange with Graph failed
        ├── TransientGraphError   worth retrying: 429, 503, 504, timeouts, resets
        └── PermanentGraphError   not worth retrying: other 4xx, 500

Every error's text is safe to print: no token, secret or Authorization header ever goes in.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConfigError",
    "GraphError",
    "ImporterError",
    "InputError",
    "LockError",
    "PermanentGraphError",
    "SafetyAbortError",
    "TransientGraphError",
]


class ImporterError(Exception):
    """Base of every error the importer raises on purpose.

    Attributes:
        exit_code: the process exit code the CLI uses for this error (DESIGN section 2).
    """

    exit_code: int = 2


class ConfigError(ImporterError):
    """The configuration is unusable: unknown key, wrong type, impossible combination.

    The message names the key and the file it came from.
    """

    exit_code = 2


class InputError(ImporterError):
    """An input file cannot be read as a table (missing, empty, corrupt, no usable header).

    Args:
        message: what is wrong, written for an HR admin.
        path: the file.
        sheet: the sheet of a workbook, if the problem is in one sheet.
    """

    exit_code = 2

    def __init__(self, message: str, *, path: str = "", sheet: str = "") -> None:
        self.path = path
        self.sheet = sheet
        where = path + (f" [sheet {sheet!r}]" if sheet else "")
        super().__init__(f"{where}: {message}" if where else message)


class AuthError(ImporterError):
    """No credential could be obtained (for example: not signed in for an unattended run)."""

    exit_code = 2


class LockError(ImporterError):
    """Another run holds the run lock; nothing was sent."""

    exit_code = 4


class SafetyAbortError(ImporterError):
    """A safety guard stopped the run (invalid-row ratio, delete ratio, systemic 401/403)."""

    exit_code = 3


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

    exit_code = 1

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
