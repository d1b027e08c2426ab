"""The row model: the rules one input row must satisfy, as a Pydantic model.

Each cell type is an ``Annotated`` type whose validator holds the rule, so the same rule
serves both the whole-row model (``SkillInput``) and the per-field adapters the hot path
uses to validate each distinct cell value once (``CELL_ADAPTERS``). Settings-dependent
parts (enum synonyms, the list separator, defaults) come in through the validation
context as a ``CellRules``.

Errors are ``PydanticCustomError`` whose type is the kebab-case ``error_type`` of the
report (``invalid-enum``, ``missing-user``...) and whose message is written for an HR admin,
without the column name (the validator adds it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationInfo
from pydantic_core import PydanticCustomError

from importer.config import Settings
from importer.errors import ConfigError, EnumValueError
from importer.validate.schema import (
    ALLOWED_AUDIENCES,
    COLLABORATION_TAGS,
    PROFICIENCY_LEVELS,
    EnumNormaliser,
    find_control_character,
    find_invisible_character,
    normalise_audiences,
    quote_value,
    web_url_problem,
)
from importer.validate.user_keys import user_value_problem

__all__ = [
    "CELL_ADAPTERS",
    "MAX_CATEGORIES",
    "MAX_CATEGORY",
    "MAX_CELL",
    "MAX_DISPLAY_NAME",
    "MAX_ENUM_CELL",
    "MAX_ROW",
    "MAX_USER",
    "MAX_WEB_URL",
    "CellRules",
    "SkillInput",
    "is_plain_name",
    "is_plain_user",
    "key_text",
]

# Size limits, in characters. Graph documents none for profile skills; these keep every value
# far inside what it accepts (one oversized value makes Graph refuse the whole $batch it travels
# in, with other people's rows) and bound the work spent on a hostile cell.

#: Longest skill name: what Graph's own UI shows comfortably and what HR systems export.
MAX_DISPLAY_NAME = 255
#: Longest user cell: an email address (mail) is at most 254; a UPN at most 113; a GUID 36.
MAX_USER = 256
#: Longest single category, and most categories in one cell.
MAX_CATEGORY = 255
MAX_CATEGORIES = 50
#: Longest webUrl (what browsers and SharePoint handle everywhere).
MAX_WEB_URL = 2048
#: Longest level, tags or audiences cell (their values are names of a few words), and longest
#: categories cell.
MAX_ENUM_CELL = 255
MAX_CELL = 4096
#: The longest row the field limits allow (the sum of the above): a full $batch of 20 rows
#: stays below 600 KB even in 4-byte characters.
MAX_ROW = MAX_USER + MAX_DISPLAY_NAME + 3 * MAX_ENUM_CELL + MAX_CELL + MAX_WEB_URL


# An everyday ASCII UPN: dot-separated local atoms, then a domain of letter/digit labels.
_PLAIN_USER = re.compile(
    r"[A-Za-z0-9_'+#-]+(?:\.[A-Za-z0-9_'+#-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}"
)


def is_plain_user(raw: str) -> bool:
    """True when a user cell is certainly valid and already normal (a fast pre-screen).

    Only a subset of what ``UserCell`` accepts, returned unchanged by it; anything else must
    go through the model.
    """
    return len(raw) <= MAX_USER and raw[:1] != "'" and _PLAIN_USER.fullmatch(raw) is not None


def is_plain_name(raw: str, skill_separator: str = ";") -> bool:
    """True when a skill-name cell is certainly valid and already normal (a fast pre-screen)."""
    return (
        0 < len(raw) <= MAX_DISPLAY_NAME
        and skill_separator not in raw
        and raw.isprintable()
        and raw[0] not in " '"
        and raw[-1] not in " )"
        and (raw.isascii() or find_invisible_character(raw) is None)
    )


@dataclass(frozen=True, slots=True)
class CellRules:
    """The settings-dependent part of the rules, passed as validation context."""

    proficiency: EnumNormaliser
    collaboration_tags: EnumNormaliser
    allowed_audiences: EnumNormaliser
    list_separator: str
    default_audiences: str | None
    #: What the user column holds (``input.user_key``); decides what a well-formed user is.
    user_key: str = "auto"
    #: Between skills in one cell; a skill name holding it looks like a list (rows layout).
    skill_separator: str = ";"

    @classmethod
    def from_settings(cls, settings: Settings) -> CellRules:
        """Build the rules of a run.

        Raises:
            ConfigError: a ``values:`` synonym or ``defaults.allowedAudiences`` names no
                canonical value.
        """
        # The built-in synonyms of each field apply whatever `values:` says; see
        # importer.vocabulary.
        audiences = EnumNormaliser(
            "allowedAudiences", ALLOWED_AUDIENCES, settings.values.allowedAudiences
        )
        default = (settings.defaults.allowedAudiences or "").strip() or None
        if default is not None:
            try:
                default = normalise_audiences(default, audiences)
            except EnumValueError as exc:
                raise ConfigError(f"defaults.allowedAudiences: {exc.detail}") from None
        return cls(
            proficiency=EnumNormaliser(
                "proficiency", PROFICIENCY_LEVELS, settings.values.proficiency
            ),
            collaboration_tags=EnumNormaliser(
                "collaborationTags", COLLABORATION_TAGS, settings.values.collaborationTags
            ),
            allowed_audiences=audiences,
            list_separator=settings.input.list_separator,
            default_audiences=default,
            user_key=settings.input.user_key,
            skill_separator=settings.input.skill_separator,
        )


def _fail(error_type: str, message: str) -> NoReturn:
    # The message goes in as context: user text may hold braces, which a template would eat.
    raise PydanticCustomError(error_type, "{message}", {"message": message})


def _rules(info: ValidationInfo) -> CellRules:
    context = info.context
    if not isinstance(context, CellRules):
        raise TypeError("validate with context=CellRules.from_settings(settings)")
    return context


#: What the report puts in front of a formula-like cell; a fixed rejects.csv fed back still
#: carries it, so exactly that one quote is taken off again.
_NEUTRALISED = ("'=", "'+", "'-", "'@", "'\t", "'\r", "'\x00")


def key_text(raw: str) -> str:
    """What a valid user or skill-name cell stands for: trimmed, without the one ``'`` that a
    report put in front of a formula-like value."""
    text = raw.strip()
    return text[1:].strip() if text.startswith(_NEUTRALISED) else text


def _clean(value: Any, limit: int = MAX_CELL) -> str:
    text = key_text("" if value is None else str(value))
    if len(text) > limit:
        _fail("too-long", f"is {len(text):,} characters long; at most {limit:,} are allowed")
    bad = find_control_character(text)
    if bad is not None:
        _fail("control-character", f"{quote_value(text)} contains a control character ({bad})")
    hidden = find_invisible_character(text)
    if hidden is not None:
        _fail(
            "invisible-character",
            f"{quote_value(text)} contains an invisible or text-direction character "
            f"({hidden}); retype the value without it",
        )
    return text


_KEY_WORDS = {
    "auto": "UPN or object id",
    "id": "object id",
    "userPrincipalName": "userPrincipalName",
    "mail": "mail address",
    "employeeId": "employee id",
}


def _user(value: Any, info: ValidationInfo) -> str:
    text = _clean(value, MAX_USER)
    key = _rules(info).user_key
    if not text:
        _fail("missing-user", f"the cell is empty; every row needs a user ({_KEY_WORDS[key]})")
    problem = user_value_problem(text, key)
    if problem is not None:
        _fail(*problem)
    return text


_LEVEL_SUFFIX = re.compile(r"\(([^()]*)\)\s*$")


def _display_name(value: Any, info: ValidationInfo) -> str:
    text = _clean(value, MAX_DISPLAY_NAME)
    if not text:
        _fail("missing-display-name", "the cell is empty; every row needs a skill name")
    rules = _rules(info)
    separator = rules.skill_separator
    suffix = _LEVEL_SUFFIX.search(text)
    level = suffix.group(1).strip() if suffix else ""
    if separator in text or (level and _is_level(level, rules)):
        what = f"the skill separator {separator!r}" if separator in text else f"a level ({level})"
        _fail(
            "looks-like-a-list",
            f"{quote_value(text)} holds {what}, so it looks like a list of skills in one cell; "
            f"if each row lists several skills, run with --layout list",
        )
    return text


def _is_level(text: str, rules: CellRules) -> bool:
    try:
        rules.proficiency(text)
    except EnumValueError:
        return rules.proficiency.beyond_scale(text)
    return True


def _proficiency(value: Any, info: ValidationInfo) -> str | None:
    text = _clean(value, MAX_ENUM_CELL)
    if not text:
        return None
    rules = _rules(info)
    try:
        return rules.proficiency(text) or None
    except EnumValueError as exc:
        if rules.proficiency.beyond_scale(text):
            _fail(
                "out-of-scale",
                f"{quote_value(text)} is beyond the numeric scale configured "
                f"({rules.proficiency.scale.describe()})",
            )
        _fail("invalid-enum", exc.detail)


def _items(text: str, separator: str) -> list[str]:
    return [item.strip() for item in text.split(separator) if item.strip()]


def _categories(value: Any, info: ValidationInfo) -> tuple[str, ...] | None:
    items = _items(_clean(value), _rules(info).list_separator)
    if len(items) > MAX_CATEGORIES:
        _fail("too-long", f"holds {len(items)} categories; at most {MAX_CATEGORIES} are allowed")
    for item in items:
        if len(item) > MAX_CATEGORY:
            _fail(
                "too-long",
                f"category {quote_value(item)} is {len(item):,} characters long; "
                f"at most {MAX_CATEGORY} are allowed",
            )
    return tuple(items) if items else None


def _collaboration_tags(value: Any, info: ValidationInfo) -> tuple[str, ...] | None:
    rules = _rules(info)
    tags: list[str] = []
    # Tag names never contain commas, so a comma separates them too ("mentor, ask me about").
    cell = _clean(value, MAX_ENUM_CELL)
    for item in _items(cell.replace(",", rules.list_separator), rules.list_separator):
        try:
            tag = rules.collaboration_tags(item)
        except EnumValueError as exc:
            _fail("invalid-enum", exc.detail)
        if tag:
            tags.append(tag)
    return tuple(dict.fromkeys(tags)) if tags else None


def _allowed_audiences(value: Any, info: ValidationInfo) -> str | None:
    rules = _rules(info)
    text = _clean(value, MAX_ENUM_CELL)
    if not text:
        return rules.default_audiences
    try:
        return normalise_audiences(text, rules.allowed_audiences) or rules.default_audiences
    except EnumValueError as exc:
        _fail("invalid-enum", exc.detail)


def _web_url(value: Any) -> str | None:
    text = _clean(value, MAX_WEB_URL)
    if not text:
        return None
    problem = web_url_problem(text)
    if problem is not None:
        _fail("invalid-url", f"{quote_value(text)} {problem}")
    return text


UserCell = Annotated[str, BeforeValidator(_user)]
DisplayNameCell = Annotated[str, BeforeValidator(_display_name)]
ProficiencyCell = Annotated[str | None, BeforeValidator(_proficiency)]
CategoriesCell = Annotated[tuple[str, ...] | None, BeforeValidator(_categories)]
CollaborationTagsCell = Annotated[tuple[str, ...] | None, BeforeValidator(_collaboration_tags)]
AllowedAudiencesCell = Annotated[str | None, BeforeValidator(_allowed_audiences)]
WebUrlCell = Annotated[str | None, BeforeValidator(_web_url)]


class SkillInput(BaseModel):
    """One input row's canonical fields, validated and normalised.

    Validate with ``SkillInput.model_validate(cells, context=CellRules.from_settings(s))``
    where ``cells`` maps canonical field names to raw cell text. An empty optional cell
    becomes None ("leave the existing value alone"), except allowedAudiences, which takes
    the configured default.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    user: UserCell
    displayName: DisplayNameCell  # noqa: N815 - Graph's property name
    proficiency: ProficiencyCell = None
    categories: CategoriesCell = None
    collaborationTags: CollaborationTagsCell = None  # noqa: N815 - Graph's property name
    allowedAudiences: AllowedAudiencesCell = Field(  # noqa: N815 - Graph's property name
        default="", validate_default=True
    )
    webUrl: WebUrlCell = None  # noqa: N815 - Graph's property name


#: One adapter per canonical field, to validate a single distinct cell value.
CELL_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "user": TypeAdapter(UserCell),
    "displayName": TypeAdapter(DisplayNameCell),
    "proficiency": TypeAdapter(ProficiencyCell),
    "categories": TypeAdapter(CategoriesCell),
    "collaborationTags": TypeAdapter(CollaborationTagsCell),
    "allowedAudiences": TypeAdapter(AllowedAudiencesCell),
    "webUrl": TypeAdapter(WebUrlCell),
}
