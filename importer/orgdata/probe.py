"""``skills-import check`` for ``target.kind: orgdata-csv``: what a run would need, nothing sent.

Instead of the profile canary: the skills library loads, and ``--user`` gets the email a run
would write (as written when it is a mail or userPrincipalName, which needs no sign-in at all;
else the directory's mail, which needs ``User.Read.All``).
"""

from __future__ import annotations

from importer.config import Settings
from importer.errors import ConfigError
from importer.graph.client import GraphClient
from importer.orgdata.library import load_library
from importer.resolve import DIRECTORY_PERMISSION, DirectoryAccessError, resolve_users
from importer.validate.user_keys import key_of_value, user_value_problem

__all__ = ["EMAIL_KEYS", "Step", "key_is_email", "orgdata_steps"]

#: One step: name, passed (None: not tried), what was seen, what to change.
Step = tuple[str, bool | None, str, str]

#: The user keys whose values are the email the upload names people by.
EMAIL_KEYS = frozenset({"mail", "userPrincipalName"})


def key_is_email(settings: Settings, user: str) -> bool:
    """True when ``user`` is the email itself (a run for such a value needs no directory)."""
    return key_of_value(user.strip(), settings.input.user_key) in EMAIL_KEYS


def _library_step(settings: Settings) -> Step:
    name = "skills library"
    try:
        library = load_library(settings.orgdata.library)
    except ConfigError as exc:
        advice = "Give orgdata.library (or --library) a People Skills library export."
        return name, False, str(exc), advice
    if library is None:
        return name, True, "none configured: names are written as the rows spell them", ""
    return name, True, f"{len(library)} skill names in {library.path}", ""


async def orgdata_steps(settings: Settings, user: str, client: GraphClient | None) -> list[Step]:
    """The orgdata-csv steps; ``client`` is None when ``--user`` needs no directory."""
    steps = [_library_step(settings)]
    name, key, value = "the user's email", settings.input.user_key, user.strip()
    problem = user_value_problem(value, key) if value else ("", "is empty")
    prop = key_of_value(value, key)
    if problem is not None:
        advice = f"Give --user as input.user_key ({key}) says, or choose another --user-key."
        steps.append((name, False, f"--user {problem[1]}", advice))
    elif prop in EMAIL_KEYS or client is None:
        steps.append((name, True, f"{value} is written as it is (no sign-in needed)", ""))
    else:
        try:
            resolution = await resolve_users([value], key, client, settings.run, keep_mail=True)
        except DirectoryAccessError:
            steps.append((name, False, f"cannot look up {prop} {value}", DIRECTORY_PERMISSION))
        else:
            users = resolution.users_for(value)[1]
            if len(users) != 1:
                found = "nobody" if not users else f"{len(users)} users"
                steps.append(
                    (name, False, f"{found} with {prop} {value}", "Check the value in Entra ID.")
                )
            elif not users[0].mail:
                steps.append(
                    (
                        name,
                        False,
                        f"{prop} {value} is {users[0].user_principal_name}, who has no mail",
                        "A run reports such people user-no-mail: the upload names people by email.",
                    )
                )
            else:
                steps.append((name, True, f"{prop} {value} is written as {users[0].mail}", ""))
    steps.append(
        ("nothing sent", True, "orgdata-csv writes upload files into the report folder", "")
    )
    return steps
