"""Config errors in plain words: one sentence naming where, the key, the value and what is allowed.

Pydantic's own wording ("Input should be a valid tuple") means nothing to an HR admin. Each
validation error is turned into a sentence such as::

    config.yaml: run.concurrency is 'lots', but it must be a whole number from 1 to 256.
    environment variable SKILLS_IMPORT_RUN__MODE: run.mode is 'nuke', but it must be one of
    create, upsert, sync.
    config.yaml: run.concurency is not a known key (did you mean run.concurrency?); the run
    section takes: mode, concurrency, ...

What is allowed is read off the settings model itself (its ``Literal`` choices and numeric
bounds), so the sentence cannot drift from the rule. Values are shown shortened; secrets are
never shown, and a URL's user name and password are masked (``https://***@host``).
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from importer.config.masking import mask_text

__all__ = ["describe_validation_error", "mask_credentials", "plain_problem"]

#: Settings whose values are never echoed, whatever the error.
SECRET_KEYS = frozenset({"client_secret", "access_token", "database_password", "notify_urls"})

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]*@")
_SHOWN_CHARS = 60


def mask_credentials(text: str) -> str:
    """Replace the user name and password of every URL in ``text`` with ``***``, and the
    credentials in their query strings too (``importer.config.masking``)."""
    return mask_text(_USERINFO.sub(r"\g<scheme>***@", text))


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "empty"
    if isinstance(value, str):
        text = repr(mask_credentials(value))
    elif isinstance(value, Mapping):
        text = "a section (" + ", ".join(str(key) for key in list(value)[:5]) + ")"
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(mask_credentials(str(item)) for item in value) + "]"
    else:
        text = mask_credentials(str(value))
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def _field(model: type[BaseModel], loc: Sequence[int | str]) -> tuple[FieldInfo | None, Any]:
    """The field a location points at, and its (element) annotation."""
    info: FieldInfo | None = None
    annotation: Any = model
    for part in loc:
        if isinstance(part, int):
            args = typing.get_args(annotation)
            annotation = args[0] if args else annotation
            continue
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = annotation.model_fields.get(part)
            if info is None:
                return None, None
            annotation = info.annotation
        else:
            return info, None
    return info, annotation


def _choices(annotation: Any) -> list[str]:
    """The allowed values of a Literal (also inside Optional or a tuple of them)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return [str(choice) for choice in typing.get_args(annotation)]
    if origin in (typing.Union, types.UnionType, tuple):
        for arg in typing.get_args(annotation):
            found = _choices(arg)
            if found:
                return found
    return []


def _bounds(info: FieldInfo | None) -> tuple[Any, Any, bool, bool]:
    low = high = None
    low_open = high_open = False
    for item in info.metadata if info is not None else ():
        for name, open_ in (("ge", False), ("gt", True)):
            if getattr(item, name, None) is not None:
                low, low_open = getattr(item, name), open_
        for name, open_ in (("le", False), ("lt", True)):
            if getattr(item, name, None) is not None:
                high, high_open = getattr(item, name), open_
    return low, high, low_open, high_open


def _number(kind: str, info: FieldInfo | None) -> str:
    low, high, low_open, high_open = _bounds(info)
    if low is not None and high is not None and not low_open and not high_open:
        return f"{kind} from {low:g} to {high:g}"
    parts = []
    if low is not None:
        parts.append(f"{'above' if low_open else 'at least'} {low:g}")
    if high is not None:
        parts.append(f"{'below' if high_open else 'at most'} {high:g}")
    return kind + (" " + " and ".join(parts) if parts else "")


def _allowed(error: Mapping[str, Any], info: FieldInfo | None, annotation: Any) -> str:
    kind = error["type"]
    choices = _choices(annotation)
    if choices:
        return "one of " + ", ".join(choices)
    whole = annotation is int or kind.startswith("int_")
    if kind.startswith(("int_", "float_", "greater_", "less_")) or annotation in (int, float):
        return _number("a whole number" if whole else "a number", info)
    if kind in ("tuple_type", "list_type", "set_type"):
        return "a list, e.g. [first, second]"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "a section of keys and values"
    if kind == "string_too_short":
        return "text that is not empty"
    if kind.startswith("string_"):
        return "text"
    if kind.startswith("bool_"):
        return "true or false"
    if kind.startswith("path_"):
        return "a file path"
    return ""


def plain_problem(error: Mapping[str, Any], model: type[BaseModel]) -> str:
    """One pydantic error as words: ``run.mode is 'nuke', but it must be one of ...``."""
    loc = [part for part in error["loc"] if part != "__root__"]
    key = _key(loc)
    secret = any(part in SECRET_KEYS for part in loc)
    if error["type"] == "extra_forbidden":
        return _unknown_key(loc, model)
    if error["type"] == "missing":
        return f"{key} is required but not given"
    given = "set (its value is not shown)" if secret else _shown(error.get("input"))
    info, annotation = _field(model, loc)
    if error["type"] == "value_error":
        reason = mask_credentials(str(error.get("ctx", {}).get("error", error["msg"])))
        if reason.startswith("must"):
            return f"{key} is {given}, but it {reason}"
        return f"{key} is {given}: {reason}"
    allowed = _allowed(error, info, annotation)
    if allowed:
        return f"{key} is {given}, but it must be {allowed}"
    return f"{key} is {given}, which is not allowed here ({error['msg'].lower()})"


def _key(loc: Sequence[int | str]) -> str:
    """``report.formats`` for the field; ``report.formats (item 2)`` for one of its items."""
    names = ".".join(str(part) for part in loc if not isinstance(part, int))
    items = [part for part in loc if isinstance(part, int)]
    return f"{names} (item {items[-1] + 1})" if items else names


def _unknown_key(loc: Sequence[int | str], model: type[BaseModel]) -> str:
    key = _key(loc)
    _parent, annotation = _field(model, loc[:-1]) if len(loc) > 1 else (None, model)
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return f"{key} is not a known key"
    known = [name for name in annotation.model_fields if name not in SECRET_KEYS | {"config_path"}]
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    prefix = ".".join(str(part) for part in loc[:-1])
    hint = f" (did you mean {prefix + '.' if prefix else ''}{close[0]}?)" if close else ""
    where = f"the {prefix} section takes" if prefix else "the sections are"
    return f"{key} is not a known key{hint}; {where}: {', '.join(known)}"


def describe_validation_error(exc: ValidationError, origin: str, model: type[BaseModel]) -> str:
    """The first problem of ``exc`` as one sentence starting with where it came from."""
    errors = exc.errors(include_url=False)
    sentence = f"{origin}: {plain_problem(errors[0], model)}"
    more = len(errors) - 1
    if more:
        sentence += f" (and {more} more problem{'s' if more > 1 else ''})"
    return sentence + "."
