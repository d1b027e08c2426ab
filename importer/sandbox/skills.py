"""The ``skillProficiency`` resource: checking request bodies and rendering stored skills.

Stored skills hold canonical enum names; numbers are only produced on the way out when the
``enums_as_numbers`` fault is on, as the real service has done.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AUDIENCE_FLAGS",
    "COLLABORATION_TAGS",
    "PROFICIENCY_LEVELS",
    "READ_ONLY_PROPERTIES",
    "InvalidRequestError",
    "check_skill_body",
    "render_skill",
]

PROFICIENCY_LEVELS = (
    "elementary",
    "limitedWorking",
    "generalProfessional",
    "advancedProfessional",
    "expert",
    "unknownFutureValue",
)
AUDIENCE_FLAGS = {
    "me": 0,
    "family": 1,
    "contacts": 2,
    "groupMembers": 4,
    "organization": 8,
    "federatedOrganizations": 16,
    "everyone": 32,
}
COLLABORATION_TAGS = ("askMeAbout", "ableToMentor", "wantsToLearn", "wantsToImprove")
READ_ONLY_PROPERTIES = frozenset(
    {"id", "createdDateTime", "createdBy", "lastModifiedDateTime", "lastModifiedBy"}
)
_ODATA_TYPE = "#microsoft.graph.skillProficiency"
_ALL_AUDIENCE_BITS = sum(AUDIENCE_FLAGS.values())


class InvalidRequestError(ValueError):
    """A request (body or query) the real service would answer with 400; the message says why."""


def check_skill_body(body: object, *, creating: bool) -> dict[str, Any]:
    """Validate a create or update body and return the fields to store, normalised.

    Args:
        body: The parsed JSON body.
        creating: True for POST (displayName required), False for PATCH.

    Raises:
        InvalidRequestError: Unless the body is a JSON object of known, settable, well-typed
            properties.
    """
    if not isinstance(body, dict):
        raise InvalidRequestError("The request body must be a JSON object.")
    fields: dict[str, Any] = {}
    for name, value in body.items():
        if name in READ_ONLY_PROPERTIES:
            raise InvalidRequestError(f"The property '{name}' is read-only and cannot be set.")
        checker = _CHECKERS.get(name)
        if checker is None:
            raise InvalidRequestError(
                f"The property '{name}' does not exist on type 'microsoft.graph.skillProficiency'."
            )
        fields[name] = checker(value)
    fields.pop("@odata.type", None)
    if creating and "displayName" not in fields:
        raise InvalidRequestError("The property 'displayName' is required.")
    return fields


def render_skill(skill: dict[str, Any], *, enums_as_numbers: bool) -> dict[str, Any]:
    """A stored skill as the service answers it."""
    if not enums_as_numbers:
        return skill
    out = dict(skill)
    if out.get("proficiency") is not None:
        out["proficiency"] = str(PROFICIENCY_LEVELS.index(out["proficiency"]))
    if out.get("allowedAudiences") is not None:
        names = out["allowedAudiences"].split(",")
        out["allowedAudiences"] = str(sum(AUDIENCE_FLAGS[name] for name in names))
    return out


def _display_name(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidRequestError(_type_message("displayName", "Edm.String", value))
    if not value.strip():
        raise InvalidRequestError("The property 'displayName' must not be empty.")
    return value


def _proficiency(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(_type_message("proficiency", "skillProficiencyLevel", value))
    if value in PROFICIENCY_LEVELS:
        return value
    if value.isdigit() and int(value) < len(PROFICIENCY_LEVELS):
        return PROFICIENCY_LEVELS[int(value)]
    raise InvalidRequestError(_enum_message("proficiency", value, PROFICIENCY_LEVELS))


def _allowed_audiences(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidRequestError(_type_message("allowedAudiences", "allowedAudiences", value))
    if value.strip().isdigit():
        bits = int(value)
        if bits > _ALL_AUDIENCE_BITS:
            raise InvalidRequestError(
                _enum_message("allowedAudiences", value, tuple(AUDIENCE_FLAGS))
            )
    else:
        bits = 0
        for part in value.split(","):
            name = part.strip()
            if name not in AUDIENCE_FLAGS:
                raise InvalidRequestError(
                    _enum_message("allowedAudiences", value, tuple(AUDIENCE_FLAGS))
                )
            bits |= AUDIENCE_FLAGS[name]
    # Flags are answered in declaration order; "me" (0) only stands alone.
    names = [name for name, bit in AUDIENCE_FLAGS.items() if bit and bits & bit]
    return ",".join(names) or "me"


def _string_list(name: str, value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidRequestError(_type_message(name, "Collection(Edm.String)", value))
    return list(value)


def _categories(value: object) -> list[str]:
    return _string_list("categories", value)


def _collaboration_tags(value: object) -> list[str]:
    tags = _string_list("collaborationTags", value)
    for tag in tags:
        if tag not in COLLABORATION_TAGS:
            raise InvalidRequestError(_enum_message("collaborationTags", tag, COLLABORATION_TAGS))
    return tags


def _web_url(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidRequestError(_type_message("webUrl", "Edm.String", value))
    return value


def _source(value: object) -> dict[str, Any] | None:
    # Docs type it personDataSource (type: String), the SDKs personDataSources (type: list).
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"type"}:
        raise InvalidRequestError(
            _type_message("source", "microsoft.graph.personDataSource", value)
        )
    kind = value.get("type")
    is_list = isinstance(kind, list) and all(isinstance(item, str) for item in kind)
    if kind is not None and not isinstance(kind, str) and not is_list:
        raise InvalidRequestError(_type_message("source.type", "Edm.String", kind))
    return {"type": kind}


def _inference(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    allowed = {"confidenceScore", "userHasVerifiedAccuracy"}
    if not isinstance(value, dict) or set(value) - allowed:
        raise InvalidRequestError(
            _type_message("inference", "microsoft.graph.inferenceData", value)
        )
    score = value.get("confidenceScore")
    verified = value.get("userHasVerifiedAccuracy")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
        raise InvalidRequestError(_type_message("inference.confidenceScore", "Edm.Double", score))
    if verified is not None and not isinstance(verified, bool):
        raise InvalidRequestError(
            _type_message("inference.userHasVerifiedAccuracy", "Edm.Boolean", verified)
        )
    return {"confidenceScore": score, "userHasVerifiedAccuracy": verified}


def _odata_type(value: object) -> str:
    if value != _ODATA_TYPE:
        raise InvalidRequestError(f"The @odata.type '{value}' is not '{_ODATA_TYPE}'.")
    return _ODATA_TYPE


def _type_message(name: str, expected: str, value: object) -> str:
    return f"Cannot convert the value {value!r} of property '{name}' to the type '{expected}'."


def _enum_message(name: str, value: str, allowed: tuple[str, ...]) -> str:
    return f"Invalid value '{value}' for property '{name}'; allowed: {', '.join(allowed)}."


_CHECKERS: dict[str, Any] = {
    "@odata.type": _odata_type,
    "displayName": _display_name,
    "proficiency": _proficiency,
    "allowedAudiences": _allowed_audiences,
    "categories": _categories,
    "collaborationTags": _collaboration_tags,
    "webUrl": _web_url,
    "source": _source,
    "inference": _inference,
}
