"""Named factories from two sources: in-process registrations, then an entry-point group.

Agent types (a blueprint's `type:`) and routers (its `backend:`) are both looked
up this way, so a third-party package extends either with one line of
`[project.entry-points."agentfactory.<kind>s"]`, and a notebook with one
`register(...)` call. Built-ins are given as "module:attribute" text and
imported only when built, so naming `rule` never loads the Anthropic SDK.

Entry points are read on each lookup: a package installed while the kernel
runs is seen without a restart. A broken third-party package must not take the
framework down: listing warns about it and leaves it out; asking for it by name
fails with a typed error that says which package provides it.
"""

from __future__ import annotations

import difflib
import importlib
import re
import warnings
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .errors import AgentFactoryError

#: What a plug-in name may look like: it becomes a YAML value, a CLI choice and a tool name.
PLUGIN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")


class Plugins:
    """One kind of named factory (`kind` says which, in messages), extensible through entry-point `group`."""

    def __init__(self, kind: str, group: str, error: type[AgentFactoryError],
                 builtins: Mapping[str, str] | None = None) -> None:
        self.kind, self.group, self.error = kind, group, error
        self._builtins = dict(builtins or {})  # name -> "module:attribute", loaded on first use
        self._registered: dict[str, Any] = dict(self._builtins)

    def register(self, name: str, factory: Any = None, *, replace: bool = True) -> Any:
        """Make `name` buildable by `factory`; without `factory`, a decorator.

        Registering a name again replaces it (re-running a notebook cell must
        work); `replace=False` refuses that instead.
        """
        if not isinstance(name, str) or not PLUGIN_NAME.match(name):
            raise self.error(f"invalid {self.kind} name {name!r}",
                             hint="use letters, digits, '_', '-' and '.', e.g. my_agent")

        def register(obj: Any) -> Any:
            if not replace and self._registered.get(name, obj) is not obj:
                raise self.error(f"{self.kind} {name!r} is already registered",
                                 hint="pass replace=True, or unregister it first")
            self._registered[name] = obj
            return obj

        return register if factory is None else register(factory)

    def unregister(self, name: str) -> None:
        """Forget an in-process registration; a built-in comes back as it was (entry points are untouched)."""
        self._registered.pop(name, None)
        if name in self._builtins:
            self._registered[name] = self._builtins[name]

    def entry_points(self) -> list[EntryPoint]:
        return list(entry_points(group=self.group))

    def knows(self, name: str) -> bool:
        """Whether `name` can be asked for, without importing anything."""
        return name in self._registered or any(ep.name == name for ep in self.entry_points())

    def names(self) -> tuple[str, ...]:
        """Built-ins in their given order, then every other registered or installed name, sorted."""
        others = (set(self._registered) | {ep.name for ep in self.entry_points()}) - set(self._builtins)
        return (*self._builtins, *sorted(others))

    def all(self) -> dict[str, Any]:
        """Every loadable factory, by name; broken entry points are warned about and left out."""
        found: dict[str, Any] = {}
        for ep in self.entry_points():
            if ep.name not in self._registered and ep.name not in found:
                try:
                    found[ep.name] = ep.load()
                except Exception as exc:  # any import-time failure of third-party code
                    warnings.warn(f"{self.kind} {ep.name!r}{_origin(ep)} ({ep.value}) failed to load and is "
                                  f"skipped: {type(exc).__name__}: {exc}", RuntimeWarning, stacklevel=2)
        found.update({name: self.get(name) for name in self._registered})
        return dict(sorted(found.items()))

    def get(self, name: str) -> Any:
        """The factory for `name`, or the typed error naming the known ones (and the closest).

        Only the entry point of that name is loaded, so an unrelated broken
        package neither warns nor fails here.
        """
        if name in self._registered:
            obj = self._registered[name]
            return _import(obj) if isinstance(obj, str) else obj
        for ep in self.entry_points():
            if ep.name == name:
                try:
                    return ep.load()
                except Exception as exc:  # any import-time failure of third-party code
                    raise self.error(
                        f"{self.kind} {name!r} is provided by {ep.value}{_origin(ep)} but failed to load: "
                        f"{type(exc).__name__}: {exc}",
                        hint="fix or reinstall the package that provides it",
                    ) from exc
        raise self.unknown(name)

    def unknown(self, name: Any) -> AgentFactoryError:
        """The error for a name nothing provides: the known names, the closest one, and how to add one."""
        known = self.names()
        close = difflib.get_close_matches(str(name), known, n=1)
        listing = ", ".join(known) if known else "none registered yet"
        hint = (f"did you mean {close[0]!r}? " if close else "") + (
            f"known {self.kind}s: {listing}; third-party packages register under the {self.group!r} entry-point group")
        return self.error(f"unknown {self.kind} {name!r}", hint=hint)


def _import(spec: str) -> Any:
    module, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _origin(ep: EntryPoint) -> str:
    dist = getattr(getattr(ep, "dist", None), "name", None)
    return f" from {dist}" if dist else ""
