"""Agent types: which `type:` values a blueprint may name, and what builds them.

Two sources, looked up in this order:

1. in-process registrations, `register_agent_type(name, factory)`: the built-in
   types, and whatever a test or a notebook adds;
2. the `agentfactory.agents` entry-point group, for third-party packages:

       [project.entry-points."agentfactory.agents"]
       summarizer = "acme_agents:SummarizerAgent"

A broken third-party package must not take the framework down with it, so an entry
point that fails to load is reported with `warnings.warn` and left out.
"""

from __future__ import annotations

import difflib
import warnings
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

from ..core.errors import BlueprintError
from .blueprint import _TYPE_RE

ENTRY_POINT_GROUP = "agentfactory.agents"

_F = TypeVar("_F")

_registered: dict[str, Any] = {}


def register_agent_type(name: str, factory: _F | None = None, *, replace: bool = True) -> Any:
    """Make `name` a valid blueprint `type`, built by `factory`.

    Registering a name again replaces it (re-running a notebook cell must work);
    pass `replace=False` to refuse that instead. Without `factory` it is a decorator:

        @register_agent_type("echo")
        class EchoAgent: ...
    """
    if not isinstance(name, str) or not _TYPE_RE.match(name):
        raise BlueprintError(
            f"invalid agent type name {name!r}",
            hint="use letters, digits, '_', '-' and '.', e.g. my_agent",
        )

    def register(obj: _F) -> _F:
        if not replace and name in _registered and _registered[name] is not obj:
            raise BlueprintError(
                f"agent type {name!r} is already registered",
                hint="pass replace=True, or unregister_agent_type() it first",
            )
        _registered[name] = obj
        return obj

    return register if factory is None else register(factory)


def unregister_agent_type(name: str) -> None:
    """Forget an in-process registration (entry points are untouched)."""
    _registered.pop(name, None)


def _entry_points() -> list[EntryPoint]:
    # Read on each call: a package installed (or a dist-info added to sys.path)
    # while the kernel runs is seen without a restart.
    return list(entry_points(group=ENTRY_POINT_GROUP))


def _load(ep: EntryPoint) -> tuple[bool, Any]:
    try:
        return True, ep.load()
    except Exception as exc:  # any import-time failure of third-party code
        dist = getattr(getattr(ep, "dist", None), "name", None)
        origin = f" from {dist}" if dist else ""
        warnings.warn(
            f"agent type {ep.name!r}{origin} ({ep.value}) failed to load and is skipped: "
            f"{type(exc).__name__}: {exc}",
            RuntimeWarning,
            stacklevel=3,
        )
        return False, None


def agent_types() -> dict[str, Any]:
    """Every known agent type, name -> factory, sorted by name.

    In-process registrations win over an entry point of the same name, so a
    notebook can override a third-party type without uninstalling it.
    """
    found: dict[str, Any] = {}
    for ep in _entry_points():
        if ep.name in _registered or ep.name in found:
            continue
        ok, obj = _load(ep)
        if ok:
            found[ep.name] = obj
    found.update(_registered)
    return dict(sorted(found.items()))


def get_agent_type(name: str) -> Any:
    """The factory for agent type `name`, or a `BlueprintError` naming the known types.

    Only the entry point of that name is loaded, so an unrelated broken package
    neither warns nor fails here.
    """
    if name in _registered:
        return _registered[name]
    eps = _entry_points()
    for ep in eps:
        if ep.name == name:
            ok, obj = _load(ep)
            if ok:
                return obj
            raise BlueprintError(
                f"agent type {name!r} is provided by {ep.value} but failed to load",
                hint="see the warning above for the import error; fix or reinstall the package that provides it",
            )
    known = sorted(set(_registered) | {ep.name for ep in eps})
    close = difflib.get_close_matches(name, known, n=1)
    listing = ", ".join(known) if known else "none registered yet"
    hint = (f"did you mean {close[0]!r}? " if close else "") + (
        f"known types: {listing}; third-party types register under the {ENTRY_POINT_GROUP!r} entry-point group"
    )
    raise BlueprintError(f"unknown agent type {name!r}", hint=hint)


def buildable(blueprints: list[Any]) -> list[tuple[Any, Any]]:
    """(blueprint, factory) for each blueprint whose type exists; the others are warned about and skipped.

    One bad user file (a typo in `type:`, a plug-in uninstalled since) must not
    stop every other agent from routing. When nothing is left, the first
    error is raised: there is no agent to route to, and the user needs to know why.
    """
    found, errors = [], []
    for bp in blueprints:
        try:
            found.append((bp, get_agent_type(bp.type)))
        except BlueprintError as exc:
            errors.append((bp, exc))
    if errors and not found:
        bp, exc = errors[0]
        raise BlueprintError(f"blueprint {bp.name!r}: {exc.message}", hint=exc.hint)
    for bp, exc in errors:
        warnings.warn(f"blueprint {bp.name!r} is skipped: {exc}", RuntimeWarning, stacklevel=3)
    return found


__all__ = [
    "ENTRY_POINT_GROUP",
    "buildable",
    "agent_types",
    "get_agent_type",
    "register_agent_type",
    "unregister_agent_type",
]
