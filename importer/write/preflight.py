"""``skills-import check``: what the target lets this configuration do, before a real import.

Each step is a ``CheckResult``; a failed step says what to change. The canary skill is created
under a name no employee would use, read back, patched and deleted, so the check leaves nothing
behind when it succeeds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from importer.config import Settings
from importer.errors import ExitCode, GraphError
from importer.graph.auth import close_token_provider, describe_token, make_token_provider
from importer.graph.client import GraphClient, SubRequest, SubResponse, skills_path
from importer.orgdata.probe import key_is_email, orgdata_steps
from importer.records import Action
from importer.resolve import (
    DIRECTORY_PERMISSION,
    DirectoryAccessError,
    listing_url,
    resolve_users,
)
from importer.resolve.odata import LISTING_PAGE_SIZE
from importer.targets import open_graph, target_label
from importer.validate.schema import PROFICIENCY_LEVELS
from importer.validate.user_keys import key_of_value, user_value_problem
from importer.write.outcomes import PERMISSION_MESSAGE

__all__ = ["CheckReport", "CheckResult", "run_checks"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class CheckResult:
    """One step of the preflight.

    Attributes:
        name: what was checked.
        ok: True passed, False failed, None not tried (an earlier step failed).
        detail: what was seen (status, account, scopes).
        advice: what to change when it failed.
    """

    name: str
    ok: bool | None
    detail: str = ""
    advice: str = ""


@dataclass(slots=True)
class CheckReport:
    """Every step, in order, and the target they ran against."""

    target: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """``OK`` when every step that ran passed, ``ROWS_FAILED`` otherwise."""
        passed = all(result.ok is not False for result in self.results)
        return ExitCode.OK if passed else ExitCode.ROWS_FAILED


def _identity(claims: dict[str, Any]) -> tuple[str, bool]:
    """A one-line description of the token's principal, and whether it is app-only."""
    if not claims:
        return "a token that is not a JWT (the sandbox's fixed token, or an opaque token)", False
    app_only = claims.get("idtyp") == "app" or ("roles" in claims and "scp" not in claims)
    if app_only:
        roles = ", ".join(claims.get("roles") or []) or "none"
        name = claims.get("app_displayname") or claims.get("appid")
        return f"application {name} (app-only; roles: {roles})", True
    scopes = claims.get("scp") or "none"
    who = claims.get("upn") or claims.get("unique_name") or "an unnamed account"
    return f"{who} (delegated; scopes: {scopes})", False


def _failure(answer: SubResponse | None, error: GraphError | None) -> str:
    if error is not None:
        return str(error)
    if answer is None:
        return "no answer"
    found = answer.error()
    return str(found) if found is not None else f"HTTP {answer.status}"


def _advice(status: int | None, app_only: bool) -> str:
    if status in (401, 403):
        extra = " This token is app-only." if app_only else ""
        return PERMISSION_MESSAGE + extra
    if status == 404:
        return "Check the user's UPN or object id; the user must exist in this tenant."
    return "See the error; rerun with --log-format json for details."


async def _call(
    client: GraphClient, method: str, url: str, body: dict[str, Any] | None = None
) -> tuple[SubResponse | None, GraphError | None]:
    try:
        return await client.send(SubRequest("check", method, url, body)), None
    except GraphError as exc:
        return None, exc


async def run_checks(settings: Settings, user: str, *, probe_enums: bool = False) -> CheckReport:
    """Run every preflight step against the configured target.

    Raises:
        AuthError: no credential could be obtained at all (exit ``USAGE``).
    """
    report = CheckReport(target=target_label(settings))
    source = settings.config_path or "built-in defaults"
    report.results.append(CheckResult("configuration", True, f"loaded from {source}"))
    if settings.target.kind == "orgdata-csv" and key_is_email(settings, user):
        await _orgdata(None, settings, user, report)  # no sign-in: the run needs none either
        return report
    provider = make_token_provider(settings)
    try:
        token = await provider(False)
        who, app_only = _identity(describe_token(token))
        report.results.append(CheckResult("sign-in", True, f"signed in as {who}"))
        async with open_graph(settings, provider) as client:
            await _directory(client, report)
            if settings.target.kind == "connector":
                await _connector(client, settings, report)
            elif settings.target.kind == "orgdata-csv":
                await _orgdata(client, settings, user, report)
            else:
                user_id = await _find_user(client, settings, user, report)
                if user_id is not None:
                    await _canary(client, settings, user_id, app_only, report, probe_enums)
    finally:
        await close_token_provider(provider)
    return report


async def _connector(client: GraphClient, settings: Settings, report: CheckReport) -> None:
    """``target.kind: connector``: the connection, its schema state, the item permission and
    the profile source, instead of the profile canary."""
    from importer.connector.probe import connector_steps

    async def send(method: str, url: str) -> SubResponse:
        return await client.send(SubRequest("check", method, url))

    for name, ok, detail, advice in await connector_steps(send, settings):
        report.results.append(CheckResult(name, ok, detail, advice))


async def _orgdata(
    client: GraphClient | None, settings: Settings, user: str, report: CheckReport
) -> None:
    """``target.kind: orgdata-csv``: the library and the user's email, instead of the canary."""
    for name, ok, detail, advice in await orgdata_steps(settings, user, client):
        report.results.append(CheckResult(name, ok, detail, advice))


async def _directory(client: GraphClient, report: CheckReport) -> None:
    """Can the directory be read? Every run resolves its users there before writing."""
    url = listing_url().replace(f"$top={LISTING_PAGE_SIZE}", "$top=1")
    answer, error = await _call(client, "GET", url)
    name = "read the directory"
    if answer is not None and answer.ok and isinstance(answer.body, dict):
        report.results.append(CheckResult(name, True, "GET /users answered; users can be resolved"))
        return
    status = answer.status if answer else (error.status if error else None)
    advice = (
        DIRECTORY_PERMISSION
        if status in (401, 403)
        else "See the error; runs resolve every user through GET /users before writing."
    )
    report.results.append(CheckResult(name, False, _failure(answer, error), advice))


#: The steps of the canary, in order.
_CANARY_STEPS = (
    "read user's skills",
    "create canary skill",
    "read canary back",
    "update canary",
    "delete canary",
)


async def _find_user(
    client: GraphClient, settings: Settings, user: str, report: CheckReport
) -> str | None:
    """The object id of ``--user``, looked up in the directory as a run looks up its users.

    ``--user`` is written as ``input.user_key`` says (an object id, a UPN, a mail address or an
    employeeId). None, with the canary steps "not tried", when it names nobody, or several.
    """
    name, key, value = "find the user", settings.input.user_key, user.strip()
    prop = key_of_value(value, key)
    problem = user_value_problem(value, key) if value else ("", "is empty")
    detail, advice = "", ""
    if problem is not None:
        detail = f"--user {problem[1]}"
        advice = f"Give --user as input.user_key ({key}) says, or choose another --user-key."
    else:
        try:
            resolution = await resolve_users([value], key, client, settings.run)
        except DirectoryAccessError:
            if prop in ("id", "userPrincipalName"):
                # Graph takes these in the URL itself: the canary can still show what writes do.
                report.results.append(
                    CheckResult(name, None, f"not looked up; the canary uses {prop} {value}")
                )
                return value
            detail, advice = f"cannot look up {prop} {value}", DIRECTORY_PERMISSION
        else:
            failure = resolution.failure_for(value)
            _, users = resolution.users_for(value)
            if failure is not None:
                detail, advice = str(failure), "See the error; then run check again."
            elif not users:
                detail = f"no user has {prop} {value}"
                advice = "Check the value in Entra ID, or the --user-key it is written as."
            elif len(users) > 1:
                names = ", ".join(other.user_principal_name or other.id for other in users)
                detail = f"{len(users)} users have {prop} {value}: {names}"
                advice = "A run reports such rows user-ambiguous; pick one of them for check."
            else:
                found = users[0]
                disabled = "" if found.account_enabled else "; the account is disabled"
                report.results.append(
                    CheckResult(
                        name,
                        True,
                        f"{prop} {value} is {found.user_principal_name or found.id} "
                        f"(id {found.id}){disabled}",
                    )
                )
                return found.id
    report.results.append(CheckResult(name, False, detail, advice))
    report.results.extend(CheckResult(step, None, "not tried") for step in _CANARY_STEPS)
    return None


async def _canary(
    client: GraphClient,
    settings: Settings,
    user: str,
    app_only: bool,
    report: CheckReport,
    probe_enums: bool,
) -> None:
    steps = _CANARY_STEPS
    answer, error = await _call(client, "GET", skills_path(user))
    if answer is None or answer.status >= 300:
        status = answer.status if answer else (error.status if error else None)
        report.results.append(
            CheckResult(steps[0], False, _failure(answer, error), _advice(status, app_only))
        )
        report.results.extend(CheckResult(step, None, "not tried") for step in steps[1:])
        return
    count = len(answer.body.get("value", [])) if isinstance(answer.body, dict) else 0
    report.results.append(CheckResult(steps[0], True, f"{count} skill(s) on the first page"))

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"skills-import canary {stamp}"
    body = {
        "displayName": name,
        "proficiency": "elementary",
        "source": {"type": settings.run.source_tag},
    }
    answer, error = await _call(client, "POST", skills_path(user), body)
    if answer is None or answer.status >= 300:
        status = answer.status if answer else (error.status if error else None)
        report.results.append(
            CheckResult(steps[1], False, _failure(answer, error), _advice(status, app_only))
        )
        report.results.extend(CheckResult(step, None, "not tried") for step in steps[2:])
        return
    skill_id = str(answer.body.get("id", "")) if isinstance(answer.body, dict) else ""
    report.results.append(CheckResult(steps[1], True, f"created {name!r} ({Action.CREATED})"))
    path = skills_path(user, skill_id)
    for step, method, payload in (
        (steps[2], "GET", None),
        (steps[3], "PATCH", {"proficiency": "expert"}),
    ):
        answer, error = await _call(client, method, path, payload)
        ok = answer is not None and answer.status < 300
        detail = f"HTTP {answer.status}" if ok and answer else _failure(answer, error)
        status = answer.status if answer else (error.status if error else None)
        report.results.append(
            CheckResult(step, ok, detail, "" if ok else _advice(status, app_only))
        )
    if probe_enums:
        await _probe_levels(client, path, report)
    answer, error = await _call(client, "DELETE", path)
    ok = answer is not None and answer.status < 300
    report.results.append(
        CheckResult(
            steps[4],
            ok,
            f"HTTP {answer.status}" if ok and answer else _failure(answer, error),
            "" if ok else f"Delete the skill {name!r} of {user} by hand.",
        )
    )


async def _probe_levels(client: GraphClient, path: str, report: CheckReport) -> None:
    """PATCH the canary to each level: the real service has rejected some documented ones."""
    for level in PROFICIENCY_LEVELS:
        answer, error = await _call(client, "PATCH", path, {"proficiency": level})
        ok = answer is not None and answer.status < 300
        report.results.append(
            CheckResult(
                f"proficiency {level}",
                ok,
                "accepted" if ok else f"rejected: {_failure(answer, error)}",
                ""
                if ok
                else f"Rows with {level} will fail; map them to another level with "
                "values: in config.yaml.",
            )
        )
