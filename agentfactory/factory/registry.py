"""BlueprintRegistry: the built-in blueprints plus the user's folder, with CRUD on disk.

Two folders, one namespace:

- built-ins ship as package data (`agentfactory/blueprints/*.yaml`) and are read-only;
- the user folder (`AGENTFACTORY_BLUEPRINTS`, else the platform config dir) holds
  the user's own blueprints and shadowing copies of built-ins.

The file name is the blueprint's name (`<name>.yaml`). Both folders are re-read on
every call, so a YAML file dropped into the user folder (or edited by hand, or
written by another kernel) is seen at once; they are small files, this is cheap.

A broken user file does not break the registry: it is skipped by `list()` and
reported in `problems`, while `get(name)` raises its error. A broken file still
claims its name: if it shadows a built-in, the built-in is not used silently in
its place (the user meant to change it); `delete(name)` removes the broken file
and restores the built-in.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import platformdirs

from ..core.errors import BlueprintError
from ..core.vocabulary import BUILTIN_TYPES
from .blueprint import YAML_SUFFIXES, Blueprint, default_actions
from .blueprint_yaml import load_blueprint, write_blueprint
from .validation import validate_blueprint
from .discovery import ENTRY_POINT_GROUP, get_agent_type

ENV_VAR = "AGENTFACTORY_BLUEPRINTS"

# Fields holding a mapping are merged by update(), so `update(n, cache={"ttl_s": 60})`
# keeps capacity_mb; every other field is replaced.
_MERGED_FIELDS = ("store", "cache", "rewards")


def default_user_dir() -> Path:
    """`$AGENTFACTORY_BLUEPRINTS`, else `<user config dir>/agentfactory/blueprints`."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir("agentfactory")) / "blueprints"


def builtin_blueprint_dir() -> Path:
    """The folder of the built-in blueprints (package data)."""
    return Path(str(resources.files("agentfactory.blueprints")))


@dataclass(frozen=True)
class _Entry:
    path: Path
    builtin: bool
    blueprint: Blueprint | None = None
    error: BlueprintError | None = None


def _scan(folder: Path, *, builtin: bool) -> tuple[dict[str, _Entry], list[BlueprintError]]:
    entries: dict[str, _Entry] = {}
    problems: list[BlueprintError] = []
    if not folder.is_dir():
        return entries, problems
    # Sorted, so `x.yaml` beats `x.yml` and the outcome does not depend on the OS.
    files = sorted(
        (p for p in folder.iterdir() if p.suffix in YAML_SUFFIXES and not p.name.startswith(".")),
        key=lambda p: (p.stem, YAML_SUFFIXES.index(p.suffix)),
    )
    for path in files:
        if path.stem in entries:
            problems.append(
                BlueprintError(
                    f"{path}: ignored, {entries[path.stem].path.name} already defines blueprint {path.stem!r}",
                    hint=f"keep one of the two files and delete {path.name}",
                )
            )
            continue
        try:
            entries[path.stem] = _Entry(path, builtin, blueprint=load_blueprint(path, match_filename=True))
        except BlueprintError as exc:
            entries[path.stem] = _Entry(path, builtin, error=exc)
            problems.append(exc)
    return entries, problems


def check_type(bp: Blueprint) -> Blueprint:
    """`bp` if its `type` names an agent type that exists now, else a one-line `BlueprintError`.

    Checked when a blueprint is written, so a typo is refused at once instead of
    being saved and breaking every later `run` and `parse`.
    """
    if bp.type not in BUILTIN_TYPES:
        try:
            get_agent_type(bp.type)
        except BlueprintError as exc:
            close = difflib.get_close_matches(bp.type, BUILTIN_TYPES, n=1)
            raise BlueprintError(
                f"blueprint {bp.name!r}: {exc.message}; nothing was saved",
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + f"use one of {', '.join(BUILTIN_TYPES)}, or a type a plug-in registers ({ENTRY_POINT_GROUP!r})",
            ) from None
    return bp


def _copy(err: BlueprintError) -> BlueprintError:
    # A fresh instance each time, so raising it twice does not pile up tracebacks.
    return BlueprintError(err.message, hint=err.hint)


class BlueprintRegistry:
    """Built-in and user blueprints by name; changes persist to the user folder.

        reg = BlueprintRegistry()
        reg.names()                       # ['claude_agent', 'coordinator_agent', ...]
        reg.update("retriever_agent", cache={"ttl_s": 600})   # writes a user copy
        reg.delete("retriever_agent")     # back to the built-in
    """

    def __init__(
        self,
        user_dir: str | os.PathLike[str] | None = None,
        *,
        builtin_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.user_dir = Path(user_dir).expanduser() if user_dir is not None else default_user_dir()
        self.builtin_dir = Path(builtin_dir) if builtin_dir is not None else builtin_blueprint_dir()
        #: Errors of the files skipped by the last scan (invalid YAML, bad fields, ...).
        self.problems: list[BlueprintError] = []

    def __repr__(self) -> str:
        return f"BlueprintRegistry(user_dir={str(self.user_dir)!r})"

    # -- reading -------------------------------------------------------------
    def _scan(self) -> tuple[dict[str, _Entry], dict[str, _Entry]]:
        """(effective entries by name, built-in entries by name); refreshes `problems`."""
        builtins, builtin_problems = _scan(self.builtin_dir, builtin=True)
        users, user_problems = _scan(self.user_dir, builtin=False)
        self.problems = builtin_problems + user_problems
        return {**builtins, **users}, builtins

    def list(self) -> list[Blueprint]:
        """Every valid blueprint, user copies in place of built-ins, sorted by name."""
        entries, _ = self._scan()
        return [e.blueprint for _, e in sorted(entries.items()) if e.blueprint is not None]

    def names(self) -> list[str]:
        return [bp.name for bp in self.list()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def __iter__(self):
        return iter(self.list())

    def __len__(self) -> int:
        return len(self.list())

    def _entry(self, name: str) -> _Entry:
        entries, _ = self._scan()
        entry = entries.get(name)
        if entry is None:
            known = sorted(entries)
            close = difflib.get_close_matches(name, known, n=3)
            hint = (f"did you mean {' or '.join(repr(c) for c in close)}? " if close else "") + (
                f"known blueprints: {', '.join(known)}" if known else "no blueprints found"
            )
            raise BlueprintError(f"no blueprint named {name!r}", hint=hint)
        return entry

    def get(self, name: str) -> Blueprint:
        """The blueprint called `name`; an invalid file raises its own error."""
        entry = self._entry(name)
        if entry.error is not None:
            raise _copy(entry.error)
        assert entry.blueprint is not None
        return entry.blueprint

    def __getitem__(self, name: str) -> Blueprint:
        return self.get(name)

    def is_builtin(self, name: str) -> bool:
        """True if the package ships a blueprint called `name` (shadowed or not)."""
        return name in self._scan()[1]

    def is_shadowed(self, name: str) -> bool:
        """True if a user file replaces the built-in of that name."""
        entries, builtins = self._scan()
        return name in builtins and not entries[name].builtin

    def source(self, name: str) -> Path:
        """The file that defines `name` now (the user copy when one shadows a built-in)."""
        return self._entry(name).path

    # -- writing -------------------------------------------------------------
    def _user_path(self, name: str, entries: Mapping[str, _Entry]) -> Path:
        entry = entries.get(name)
        if entry is not None and not entry.builtin:
            return entry.path  # keep the user's own file (and its .yml suffix, if any)
        return self.user_dir / f"{name}.yaml"

    def create(self, bp: Blueprint | Mapping[str, Any], *, overwrite: bool = False) -> Path:
        """Save a new blueprint in the user folder; returns the file written.

        An existing name (user or built-in) needs `overwrite=True`; over a built-in
        that writes a shadowing user copy.
        """
        label = f"blueprint {bp.get('name', '?')!r}" if isinstance(bp, Mapping) else "blueprint"
        bp = check_type(validate_blueprint(bp, source=label))
        entries, _ = self._scan()
        if bp.name in entries and not overwrite:
            what = "a built-in blueprint" if entries[bp.name].builtin else f"a blueprint ({entries[bp.name].path})"
            raise BlueprintError(
                f"{bp.name!r} is already {what}",
                hint="pass overwrite=True to replace it, use update() to change fields, or pick another name",
            )
        return write_blueprint(bp, self._user_path(bp.name, entries))

    def update(self, name: str, /, **changes: Any) -> Blueprint:
        """Change fields of `name`, validate, persist; returns the new blueprint.

        Mappings given for `store`, `cache` and `rewards` are merged into the current
        ones (a `None` reward drops that override); other fields are replaced. If the
        actions were the type's defaults and `type` changes, they follow the new type.
        Updating a built-in writes a user copy that shadows it.
        """
        current = self.get(name)
        if changes.get("name", name) != name:
            raise BlueprintError(
                f"update cannot rename {name!r} to {changes['name']!r}",
                hint=f"create() the blueprint under the new name, then delete({name!r})",
            )
        data = current.model_dump()
        for key, value in changes.items():
            if key in _MERGED_FIELDS and isinstance(value, Mapping) and isinstance(data.get(key), dict):
                merged = {**data[key], **value}
                if key == "rewards":
                    merged = {k: v for k, v in merged.items() if v is not None}
                data[key] = merged
            else:
                data[key] = value
        if "type" in changes and "actions" not in changes and current.actions == default_actions(current.type):
            data["actions"] = None  # re-derived from the new type
        bp = validate_blueprint(data, source=f"update of blueprint {name!r}")
        if "type" in changes:
            check_type(bp)
        if bp == current:
            return current
        entries, _ = self._scan()
        write_blueprint(bp, self._user_path(name, entries))
        return bp

    def delete(self, name: str) -> None:
        """Remove a user blueprint. Deleting a shadowing copy restores the built-in;
        built-ins themselves cannot be deleted."""
        entries, _ = self._scan()
        entry = entries.get(name)
        if entry is None:
            self._entry(name)  # raises "no blueprint named ..." with suggestions
        assert entry is not None
        if entry.builtin:
            raise BlueprintError(
                f"{name!r} is a built-in blueprint and cannot be deleted",
                hint=(
                    "built-ins ship with the package and can only be shadowed: create() or update() a "
                    f"user copy named {name!r}, and delete that copy to get the built-in back"
                ),
            )
        entry.path.unlink(missing_ok=True)


__all__ = ["BlueprintRegistry", "ENV_VAR", "builtin_blueprint_dir", "check_type", "default_user_dir"]
