"""The vocabulary of a skill row: Graph's enums, their loose spellings, and cell rules.

Everything here is a pure function over strings, shared by the input side (validation of
what an HR admin typed) and the client side (lenient parsing of what Graph answers).

Enum values match their canonical Graph names ignoring case, spaces, ``_`` and ``-``
("ADVANCED PROFESSIONAL", "able to mentor"), then the ``values:`` synonyms of the config.
An unknown value names the allowed ones and, when something is close, a "did you mean".
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from importer.errors import ConfigError, EnumValueError
from importer.vocabulary import PROFICIENCY_LEVELS, NumericScale, as_number, split_synonyms

__all__ = [
    "ALLOWED_AUDIENCES",
    "AUDIENCE_FLAGS",
    "COLLABORATION_TAGS",
    "INVISIBLE_CHARACTERS",
    "PROFICIENCY_LEVELS",
    "EnumNormaliser",
    "escape_hidden",
    "find_control_character",
    "find_invisible_character",
    "loose_key",
    "normalise_audiences",
    "parse_audiences",
    "parse_proficiency",
    "quote_value",
    "user_problem",
    "web_url_problem",
]

#: collaborationTags allowed values.
COLLABORATION_TAGS: tuple[str, ...] = (
    "askMeAbout",
    "ableToMentor",
    "wantsToLearn",
    "wantsToImprove",
)

#: allowedAudiences (a flags enum) member -> flag value.
AUDIENCE_FLAGS: dict[str, int] = {
    "me": 0,
    "family": 1,
    "contacts": 2,
    "groupMembers": 4,
    "organization": 8,
    "federatedOrganizations": 16,
    "everyone": 32,
}

#: allowedAudiences members accepted as input, in flag order.
ALLOWED_AUDIENCES: tuple[str, ...] = tuple(AUDIENCE_FLAGS)

_UNKNOWN_FUTURE = "unknownFutureValue"

# Words people use for levels that are not synonyms we would silently accept, but are worth
# suggesting ("Guru" is not a typo of anything, yet the admin almost certainly meant expert).
_HINTS: dict[str, str] = {
    "guru": "expert",
    "master": "expert",
    "specialist": "expert",
    "advanced": "advancedProfessional",
    "senior": "advancedProfessional",
    "intermediate": "generalProfessional",
    "professional": "generalProfessional",
    "basic": "elementary",
    "novice": "elementary",
    "junior": "limitedWorking",
    "limited": "limitedWorking",
    "mentor": "ableToMentor",
    "learn": "wantsToLearn",
    "improve": "wantsToImprove",
    "ask": "askMeAbout",
    "org": "organization",
    "company": "organization",
    "internal": "organization",
    "public": "everyone",
    "all": "everyone",
    "private": "me",
    "self": "me",
}

_LOOSE_DROP = re.compile(r"[\s_\-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
# Characters that could change a request path or query if a UPN were placed in a URL, plus
# whitespace and `%` (a pre-encoded value would be decoded by the server into something else).
_UPN_FORBIDDEN = re.compile(r"[/\\?%\s\x00-\x1f\x7f-\x9f]")
_DOMAIN = re.compile(r"(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}")
_MAX_QUOTED = 60
#: Characters that take no room on screen or reorder what is around them, as the body of a
#: regular expression character class: bidirectional controls (U+202E makes "exe.txt" show as
#: "txt.exe"), zero-width and other format characters, and the blank "letters" used to fake
#: empty names. A skill name holding one looks like another name, so duplicates slip past and
#: report lines can be spoofed.
#: The zero-width joiner and non-joiner are not in it: they are part of spelling in Persian,
#: Indic scripts and emoji sequences, and reorder nothing. Validation accepts them only between
#: two such characters (letters, marks or symbols from U+0590 on).
INVISIBLE_CHARACTERS = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200e\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\u2800\u3164\ufeff\uffa0\ufff9-\ufffb"
    "\U0001d173-\U0001d17a\U000e0000-\U000e007f"
)
_JOINERS = "\u200c\u200d"
_INVISIBLE = re.compile(f"[{INVISIBLE_CHARACTERS}{_JOINERS}]")
_SCRIPT_START = 0x0590
# What messages and reports show instead of an invisible or control character.
_ESCAPED = re.compile(f"{_CONTROL.pattern[:-1]}{_INVISIBLE.pattern[1:]}")


def loose_key(text: str) -> str:
    """Fold an enum spelling for comparison: case, spaces, ``_`` and ``-`` ignored."""
    return _LOOSE_DROP.sub("", text).casefold()


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def escape_hidden(value: str) -> str:
    """``value`` with control and invisible characters written as escapes (``\\u202e``).

    What reports and messages show, so that a cell can neither break a line nor reorder or
    hide the text around it. Returns the same object when there is nothing to escape.
    """
    if value.isascii() and value.isprintable():
        return value
    return _ESCAPED.sub(_escape, value)


def quote_value(value: str) -> str:
    """Quote a cell for a message: control and invisible characters escaped, long values
    shortened."""
    shown = value if len(value) <= _MAX_QUOTED else value[: _MAX_QUOTED - 1] + "…"
    return f"'{escape_hidden(shown)}'"


def find_control_character(value: str) -> str | None:
    """Return the first control character in ``value`` (escaped, e.g. ``\\n``), or None."""
    match = _CONTROL.search(value)
    if match is None:
        return None
    return match.group().encode("unicode_escape").decode("ascii")


def _is_script_character(char: str) -> bool:
    return ord(char) >= _SCRIPT_START and unicodedata.category(char)[0] in "LMS"


def find_invisible_character(value: str) -> str | None:
    """Name the first invisible or bidirectional-control character in ``value``, or None.

    Returns e.g. ``U+202E RIGHT-TO-LEFT OVERRIDE``. A zero-width joiner or non-joiner between
    two letters, marks or symbols of scripts that spell with them (Persian, Indic, emoji) is
    not reported; between Latin letters it is.
    """
    if value.isascii():
        return None
    for match in _INVISIBLE.finditer(value):
        char, at = match.group(), match.start()
        if (
            char in _JOINERS
            and 0 < at < len(value) - 1
            and _is_script_character(value[at - 1])
            and _is_script_character(value[at + 1])
        ):
            continue
        return f"U+{ord(char):04X} {unicodedata.name(char, 'FORMAT CHARACTER')}"
    return None


class EnumNormaliser:
    """Maps the spellings of one enum to its canonical Graph names.

    Args:
        field: the canonical field name, for messages and config errors.
        canonical: the allowed canonical names.
        synonyms: the config's ``values:`` for this field. They go on top of the built-in
            word synonyms key by key (see ``importer.vocabulary``); numbers and ranges
            are compared as numbers. Keys are matched loosely; targets may be any loose
            spelling of a canonical name, or "" for "no value".

    Raises:
        ConfigError: a synonym points at something that is not a canonical name, or
            redefines a canonical name as another one.
    """

    def __init__(self, field: str, canonical: Iterable[str], synonyms: Mapping[str, str]) -> None:
        self.field = field
        self.canonical = tuple(canonical)
        self._lookup: dict[str, str] = {loose_key(name): name for name in self.canonical}
        by_canonical = dict(self._lookup)

        def resolve(spelling: str, target: str) -> str:
            if not str(target).strip():
                return ""
            resolved = by_canonical.get(loose_key(str(target)))
            if resolved is None:
                raise ConfigError(
                    f"values.{field}.{spelling}: {target!r} is not one of "
                    f'{", ".join(self.canonical)} (or "" for no value)'
                )
            return resolved

        words, scale = split_synonyms(field, synonyms)
        for spelling, target in words.items():
            key = loose_key(str(spelling))
            resolved = resolve(spelling, target)
            if key in by_canonical and by_canonical[key] != resolved:
                raise ConfigError(
                    f"values.{field}.{spelling}: {spelling!r} is already the name "
                    f"{by_canonical[key]!r}; it cannot mean {target!r}"
                )
            self._lookup[key] = resolved
        #: The numbers and ranges, with canonical targets.
        self.scale = NumericScale(
            {n: resolve(_shown_number(n), t) for n, t in scale.exact.items()},
            tuple(
                (lo, hi, resolve(f"{_shown_number(lo)}-{_shown_number(hi)}", t))
                for lo, hi, t in scale.ranges
            ),
        )
        self._hints = {k: v for k, v in _HINTS.items() if v in by_canonical.values()}

    def __call__(self, value: str) -> str:
        """Return the canonical name for ``value`` (already trimmed, non-empty).

        Returns "" when a synonym says the value means "no value".

        Raises:
            EnumValueError: no spelling matches; the message carries a suggestion if any.
        """
        found = self._lookup.get(loose_key(value))
        if found is not None:
            return found
        number = as_number(value)
        if number is not None:
            found = self.scale.lookup(number)
            if found is not None:
                return found
        raise EnumValueError(
            self.field, value, self.canonical, self.suggest(value), shown=quote_value(value)
        )

    def beyond_scale(self, value: str) -> bool:
        """True when ``value`` is a number outside this enum's numeric scale."""
        number = as_number(value)
        return number is not None and self.scale.beyond(number)

    def suggest(self, value: str) -> str | None:
        """The closest canonical name to an unknown value, or None if nothing is close."""
        key = loose_key(value)
        if key in self._hints:
            return self._hints[key] or None
        close = difflib.get_close_matches(key, list(self._lookup), n=1, cutoff=0.6)
        return (self._lookup[close[0]] or None) if close else None


def _shown_number(number: float) -> str:
    return str(int(number)) if number.is_integer() else str(number)


def normalise_audiences(value: str, normaliser: EnumNormaliser) -> str:
    """Normalise an allowedAudiences cell: one or more names separated by ``,`` or ``;``.

    Returns:
        The canonical names in flag order, without repeats, joined by ",".

    Raises:
        EnumValueError: for the first unknown name.
    """
    parts = [part.strip() for part in re.split(r"[,;]", value) if part.strip()]
    names = {normaliser(part) for part in parts} - {""}
    if not names and not parts:
        raise EnumValueError(
            normaliser.field, value, normaliser.canonical, None, shown=quote_value(value)
        )
    return ",".join(name for name in ALLOWED_AUDIENCES if name in names)


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def parse_proficiency(value: object) -> str | None:
    """Read a proficiency as Graph may answer it: a name in any case, or its number.

    Lenient by design (it parses server responses): ``None`` or "" give None, ``4`` or
    ``"4"`` give ``"expert"``, an unknown name is returned trimmed as it came so a planner
    sees that it differs from the desired value.
    """
    if value is None:
        return None
    number = _as_int(value)
    levels = (*PROFICIENCY_LEVELS, _UNKNOWN_FUTURE)
    if number is not None:
        return levels[number] if 0 <= number < len(levels) else str(number)
    text = str(value).strip()
    if not text:
        return None
    by_key = {loose_key(name): name for name in levels}
    return by_key.get(loose_key(text), text)


def parse_audiences(value: object) -> str | None:
    """Read allowedAudiences as Graph may answer it: names, a flags number, or None.

    ``"organization"`` stays, ``8`` or ``"8"`` gives ``"organization"``, a flags sum such as
    ``"10"`` gives ``"contacts,organization"``, ``0`` gives ``"me"``. Names come back in flag
    order joined by ","; anything unparseable is returned trimmed as it came.
    """
    if value is None:
        return None
    flags = {**AUDIENCE_FLAGS, _UNKNOWN_FUTURE: 64}
    number = _as_int(value)
    if number is not None:
        if number == 0:
            return "me"
        names = [name for name, bit in flags.items() if bit and number & bit]
        return ",".join(names) if names else str(number)
    text = str(value).strip()
    if not text:
        return None
    by_key = {loose_key(name): name for name in flags}
    parts = [by_key.get(loose_key(p)) for p in re.split(r"[,;]", text) if p.strip()]
    if not parts or any(p is None for p in parts):
        return text
    return ",".join(name for name in flags if name in parts)


def user_problem(value: str) -> str | None:
    """Why ``value`` (trimmed, non-empty) is neither a GUID nor a well-formed UPN, or None.

    A UPN goes into a request path, so anything that could change the path or query is
    refused: ``/ \\ ? %``, whitespace, control characters, leading or trailing dots, and
    ``..`` sequences. ``#`` is allowed because guest UPNs contain ``#EXT#``; the client
    percent-encodes the whole value as one path segment.
    """
    if _GUID.fullmatch(value):
        return None
    if _UPN_FORBIDDEN.search(value):
        return "contains a character not allowed in a user id (/ \\ ? %, spaces or control)"
    local, sep, domain = value.rpartition("@")
    if not sep or not local or not domain:
        return "is neither an object id (GUID) nor a userPrincipalName (name@domain)"
    if local.startswith(".") or local.endswith(".") or ".." in value or value.endswith("."):
        return "is not a well-formed userPrincipalName (misplaced dot)"
    if not _DOMAIN.fullmatch(domain):
        return f"has an invalid domain {quote_value(domain)}"
    return None


def web_url_problem(value: str) -> str | None:
    """Why ``value`` (trimmed, non-empty) is not an absolute http(s) URL with a host, or None."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() not in ("http", "https") or not host:
        return "is not an absolute http(s) URL (such as https://wiki.contoso.com/python)"
    if any(ch.isspace() for ch in value):
        return "is not a valid URL (it contains spaces; write them as %20)"
    return None
