"""Every credential a URL can carry, masked for display and scrubbed from messages.

A database SOURCE is a URL, and a URL can carry a password in three places:

- its user info: ``postgresql://user:S3cret@host/db``;
- its query string, under keys such as ``password``, ``pwd``, ``secret``, ``token`` (any case,
  also inside longer names such as ``access_token`` or ``client_secret``);
- an ODBC connection string passed whole (``mssql+pyodbc:///?odbc_connect=...``), which holds
  ``PWD=...;`` or ``Password=...;``, usually URL-encoded (``PWD%3DS3cret%3B``), and whose value
  may be braced (``PWD={S3;cret}``).

``mask_url`` gives the URL as shown anywhere (screen, log, report, summary, error): the same
text with every such value replaced by ``***``. ``url_secrets`` gives the values themselves, in
each form they may take, so that a driver's message quoting the connection string can be
scrubbed before it becomes an error. Pure string work: nothing here needs SQLAlchemy.
"""

from __future__ import annotations

import re
from urllib.parse import quote, quote_plus, unquote_plus

__all__ = ["MASK", "mask_text", "mask_url", "scrub", "url_secrets"]

#: What a masked value shows.
MASK = "***"

# A query key naming a credential: password, passwd, pwd, secret, token, api key, access key,
# credential, signature (an Azure SAS ``sig``), in any case and inside longer names.
_SECRET_KEY = re.compile(
    r"pass(?:word|wd)?|pwd|secret|token|credential|api_?key|access_?key|private_?key|^sig$|^key$",
    re.IGNORECASE,
)
# An ODBC attribute holding a password: ``PWD=value;`` or ``Password={va;lue}``. A braced value
# ends at a lone ``}`` (``}}`` is an escaped brace); an unbraced one at the ``;`` that starts
# the next ``KEY=`` attribute, so that an unbraced password holding ``;`` is masked whole.
_ODBC_SECRET = re.compile(
    r"(?P<key>(?:^|;)\s*(?:pwd|password)\s*=\s*)"
    r"(?P<value>\{(?:[^}]|\}\})*\}?|(?:[^;]|;(?![\w ]+=)(?=.))*)",
    re.IGNORECASE,
)
_ODBC_KEY = re.compile(r"odbc_?connect", re.IGNORECASE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<info>[^/?#]*)@")
# A URL inside free text: a scheme, then everything up to white space or a closing quote.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")


def _mask_odbc(text: str) -> str:
    return _ODBC_SECRET.sub(lambda m: m.group("key") + MASK, text)


def _odbc_secrets(text: str) -> list[str]:
    found: list[str] = []
    for match in _ODBC_SECRET.finditer(text):
        value = match.group("value").strip()
        if value:
            found.append(value)
            if value.startswith("{"):
                found.append(value[1:-1].replace("}}", "}") if value.endswith("}") else value[1:])
    return found


def _mask_query(query: str) -> str:
    parts = []
    for part in re.split(r"([&;])", query):
        key, equals, value = part.partition("=")
        name = unquote_plus(key)
        if equals and value and _ODBC_KEY.fullmatch(name.strip()):
            # Shown decoded: the connection string is then readable, its password masked.
            value = quote_plus(_mask_odbc(unquote_plus(value)), safe="=;{}*: ")
        elif equals and value and _SECRET_KEY.search(name):
            value = MASK
        parts.append(f"{key}{equals}{value}")
    return "".join(parts)


def mask_url(text: str) -> str:
    """``text`` (a URL, or anything given as a SOURCE) with every credential shown as ``***``.

    The user info keeps its user name (``user:***@host``); query values under a credential key
    become ``***``; an ``odbc_connect`` string keeps its attributes but its ``PWD``. Text that is
    not a URL is returned unchanged.
    """
    if not _SCHEME.match(text):
        return text
    match = _USERINFO.match(text)
    if match is not None:
        user, colon, _ = match.group("info").partition(":")
        text = f"{match.group('scheme')}{user}{':' + MASK if colon else ''}@{text[match.end() :]}"
    head, mark, query = text.partition("?")
    if not mark:
        return text
    query, hash_mark, fragment = query.partition("#")
    return f"{head}?{_mask_query(query)}{hash_mark}{fragment}"


def mask_text(text: str) -> str:
    """Free text (a message, a log line) with every URL in it masked as ``mask_url`` does."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: mask_url(m.group()), text)


def url_secrets(text: str) -> list[str]:
    """Every credential value ``text`` (a URL) carries, in each form it may be written.

    The user info's password and the values of credential keys, as written and decoded; the
    ``PWD`` of an ``odbc_connect`` string, decoded, braced and unbraced. Empty values are left
    out. For scrubbing messages that quote the URL or the connection string (``scrub``).
    """
    found: list[str] = []
    if not _SCHEME.match(text):
        return found
    match = _USERINFO.match(text)
    if match is not None:
        _, colon, password = match.group("info").partition(":")
        if colon and password:
            found += [password, unquote_plus(password)]
    _, mark, query = text.partition("?")
    for part in re.split(r"[&;]", query.partition("#")[0]) if mark else ():
        key, equals, value = part.partition("=")
        name = unquote_plus(key).strip()
        if not (equals and value):
            continue
        if _ODBC_KEY.fullmatch(name):
            found += _odbc_secrets(unquote_plus(value))
        elif _SECRET_KEY.search(name):
            found += [value, unquote_plus(value)]
    return list(dict.fromkeys(secret for secret in found if secret))


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with each secret, as written, URL-encoded or plus-encoded, replaced by ``***``.

    Longer secrets first, so that a secret containing another is replaced whole. URLs left in
    the text are masked too.
    """
    for secret in sorted(secrets, key=len, reverse=True):
        for form in dict.fromkeys((secret, quote(secret, safe=""), quote_plus(secret))):
            text = text.replace(form, MASK)
    return mask_text(text)
