"""The safety guards that stop a run before it does harm (exit ``SAFETY_ABORT``).

Each guard returns the reason to stop, written for an HR admin, or None. The dispatcher decides
what stopping means (nothing more is sent; what was not written is reported ``not-sent``).
"""

from __future__ import annotations

from importer.errors import GraphError, TransientGraphError
from importer.graph.wire import SIGN_IN_FAILED
from importer.write.outcomes import PERMISSION_MESSAGE, SIGN_IN_ADVICE

__all__ = ["SYSTEMIC_AUTH_USERS", "SystemicRefusalGuard", "delete_guard"]

#: How many distinct users must all be refused (401/403) before the run stops as systemic.
SYSTEMIC_AUTH_USERS = 5


class SystemicRefusalGuard:
    """Stops the run when the first users' reads, or writes, are all refused with 401/403.

    A missing permission refuses every request alike; carrying on would only fill the report
    with thousands of identical failures. Reads and writes are judged apart: a token may read
    profiles and still not be allowed to write them.

    Two failures need no majority: a sign-in that fails mid-run, and a 401 for a token that
    cannot be renewed (``auth.method: token``). Every later request would fail the same way.

    Args:
        users: how many users the run has; the verdict needs ``min(5, users)`` of them.
        can_refresh_token: False for a fixed token.
    """

    def __init__(self, users: int, *, can_refresh_token: bool = True) -> None:
        self._needed = max(1, min(SYSTEMIC_AUTH_USERS, users))
        self._can_refresh = can_refresh_token
        self._seen: dict[str, dict[str, bool]] = {"read": {}, "write": {}}

    def note(self, kind: str, user: str, error: GraphError | None) -> str | None:
        """Record the first verdict for ``user``'s ``kind`` ("read" or "write") requests.

        Returns:
            The reason to stop, once the first users were all refused; else None.
        """
        if error is not None and error.code == SIGN_IN_FAILED:
            return f"sign-in failed during the run: {error.message}"
        if error is not None and error.status == 401 and not self._can_refresh:
            return f"Graph refused the access token ({error}). {SIGN_IN_ADVICE}"
        seen = self._seen[kind]
        if user in seen or len(seen) >= self._needed:
            return None
        refused = error is not None and error.status in (401, 403)
        if error is not None and not refused and isinstance(error, TransientGraphError):
            return None  # no verdict yet for this user
        seen[user] = refused
        if len(seen) < self._needed or not all(seen.values()):
            return None
        status = error.status if error is not None else 403
        what = "reading skills" if kind == "read" else "writing skills"
        # 401 is about the token itself, 403 about what the token may do.
        advice = SIGN_IN_ADVICE if status == 401 else PERMISSION_MESSAGE
        return (
            f"{what} was refused (HTTP {status}) for every one of the first {self._needed} "
            f"users. {advice}"
        )


def delete_guard(
    deletes: int, owned: int, max_ratio: float, allow_deletes: int | None
) -> str | None:
    """The reason a sync must not delete ``deletes`` of the ``owned`` skills, or None.

    Args:
        deletes: skills the sync plan would delete.
        owned: skills carrying the source tag among the users in the file.
        max_ratio: ``run.max_delete_ratio``.
        allow_deletes: ``--allow-deletes N``: up to N deletes pass whatever the ratio.
    """
    if not deletes or (allow_deletes is not None and deletes <= allow_deletes):
        return None
    owned = max(1, owned)
    if deletes / owned <= max_ratio:
        return None
    return (
        f"sync would delete {deletes} of {owned} skills this tool owns "
        f"({deletes / owned:.0%} > max_delete_ratio {max_ratio:.0%}); nothing was written. "
        f"Check the file, or allow it for this run with --allow-deletes {deletes}"
    )
