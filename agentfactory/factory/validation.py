"""Blueprint validation errors a user can act on: the file, the field, the fix.

pydantic's own messages name internal locations (`rewards.[key]`) and types; a
user editing YAML needs the field as written, what was wrong with the value,
and the closest valid choice. Every loading path ends here.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from ..core.actions import ACTION_NAMES
from ..core.errors import BlueprintError
from ..core.vocabulary import REWARD_KEYS
from .blueprint import Blueprint, CacheConfig, StoreConfig

_NESTED: dict[str, type[BaseModel]] = {"store": StoreConfig, "cache": CacheConfig}
_CHOICES: dict[str, tuple[str, ...]] = {"actions": ACTION_NAMES, "rewards": REWARD_KEYS}


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _about(root: str, leaf: str | None) -> str | None:
    """The field's description from the schema: what a valid value looks like."""
    model: type[BaseModel] = _NESTED.get(root, Blueprint) if leaf else Blueprint
    info = model.model_fields.get(leaf or root)
    return info.description if info is not None else None


def _did_you_mean(value: Any, choices: tuple[str, ...] | list[str]) -> str | None:
    close = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def _describe(err: dict[str, Any]) -> tuple[str, str, str | None]:
    """(field, problem, fix) for one pydantic error."""
    loc = tuple(err["loc"])
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    field = ctx.get("field") or _field_path(loc) or "(top level)"
    root = str(loc[0]) if loc else ""
    leaf = str(loc[1]) if len(loc) > 1 and root in _NESTED and not isinstance(loc[1], int) else None

    if kind in ("blueprint", "blueprint_field"):
        return field, ctx["message"], ctx.get("hint")
    if kind == "extra_forbidden":
        unknown = str(loc[-1])
        parent = _NESTED.get(root) if len(loc) > 1 else Blueprint
        known = list((parent or Blueprint).model_fields)
        where = f"{_field_path(loc[:-1])} " if len(loc) > 1 else ""
        guess = _did_you_mean(unknown, known)
        fix = f"{guess} {where}fields are: {', '.join(known)}" if guess else f"{where}fields are: {', '.join(known)}"
        return field, "unknown field", fix
    if kind == "missing":
        about = _about(root, leaf)
        return field, "missing (required)", f"add {field}: ..." + (f", {about}" if about else "")
    if kind == "literal_error" and root in _CHOICES:
        choices = _CHOICES[root]
        if "[key]" in loc:
            field, problem = root, f"key {value!r} is not one of {', '.join(choices)}"
        else:
            problem = f"{value!r} is not one of {', '.join(choices)}"
        return field, problem, _did_you_mean(value, choices) or f"use one of {', '.join(choices)}"
    msg = err["msg"]
    problem = (msg[:1].lower() + msg[1:]) + (f", got {value!r}" if not isinstance(value, Mapping) else "")
    about = _about(root, leaf)
    return field, problem, f"{field}: {about}" if about else None


def blueprint_error(source: str, exc: ValidationError) -> BlueprintError:
    """Turn a pydantic error into one `BlueprintError` naming source, field(s) and fix(es)."""
    problems, fixes = [], []
    for err in exc.errors(include_url=False):
        field, problem, fix = _describe(err)
        problems.append(f"field {field!r}: {problem}")
        if fix and fix not in fixes:
            fixes.append(fix)
    return BlueprintError(f"{source}: {'; '.join(problems)}", hint="; ".join(fixes) or None)


def validate_blueprint(data: Any, *, source: str = "blueprint") -> Blueprint:
    """Validate a mapping (or a Blueprint) into a Blueprint, raising `BlueprintError`."""
    if isinstance(data, Blueprint):
        return data
    if not isinstance(data, Mapping):
        raise BlueprintError(
            f"{source}: expected a mapping of fields, got {type(data).__name__}",
            hint="a blueprint is `key: value` lines: name, description, type, backend, actions, ...",
        )
    try:
        return Blueprint.model_validate(dict(data))
    except ValidationError as exc:
        raise blueprint_error(source, exc) from None
