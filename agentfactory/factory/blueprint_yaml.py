"""Blueprints as YAML files: strict reading (no duplicate keys), atomic writing.

YAML errors are reported with the file, line and column, because a blueprint is
edited by hand; a file is written whole or not at all, because other kernels
scan the folder while we write.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import BlueprintError
from ..core.files import atomic_write
from .blueprint import Blueprint
from .validation import validate_blueprint


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (PyYAML otherwise keeps the last silently)."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def parse_blueprint(text: str, *, source: str = "<string>", default_name: str | None = None) -> Blueprint:
    """Parse YAML text into a Blueprint; `default_name` fills a missing `name`."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise BlueprintError(
            f"{source}{where}: invalid YAML: {problem}",
            hint=f"check indentation, colons and quoting near line {mark.line + 1}" if mark else "check the syntax",
        ) from None
    if data is None:
        raise BlueprintError(
            f"{source}: the file is empty",
            hint="a blueprint needs at least name, description and type",
        )
    if isinstance(data, Mapping) and default_name is not None and "name" not in data:
        data = {"name": default_name, **data}
    return validate_blueprint(data, source=source)


def load_blueprint(path: str | os.PathLike[str], *, match_filename: bool = False) -> Blueprint:
    """Read one blueprint file. A missing `name` is taken from the file name.

    With `match_filename` (what the registry uses) a `name` that differs from the
    file name is an error, so `get(name)` always finds the file that defines it.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BlueprintError(
            f"{path}: cannot read: {exc.strerror or exc}", hint="check the path and permissions"
        ) from None
    except UnicodeDecodeError:
        raise BlueprintError(f"{path}: not UTF-8 text", hint="save the blueprint as UTF-8 YAML") from None
    bp = parse_blueprint(text, source=str(path), default_name=path.stem)
    if match_filename and bp.name != path.stem:
        raise BlueprintError(
            f"{path}: field 'name': {bp.name!r} does not match the file name {path.name!r}",
            hint=f"rename the file to {bp.name}{path.suffix} or set name: {path.stem}",
        )
    return bp


def dump_blueprint(bp: Blueprint) -> str:
    """YAML text for a blueprint; `parse_blueprint(dump_blueprint(bp)) == bp`."""
    return yaml.safe_dump(bp.to_dict(), sort_keys=False, allow_unicode=True, default_flow_style=False, width=88)


def write_blueprint(bp: Blueprint, path: str | os.PathLike[str]) -> Path:
    """Write a blueprint atomically (`core.files.atomic_write`).

    A reader (another kernel, `list()` in a loop) sees the old file or the new one,
    never half of one; a failed write leaves no temp file behind.
    """
    path = Path(path)
    with atomic_write(path) as out:  # its ".name.*.tmp" file is one the registry's scan skips
        out.write(dump_blueprint(bp).encode("utf-8"))
    return path
