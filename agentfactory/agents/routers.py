"""Routers by name: what a blueprint's `backend:`, `%agent --backend` and the CLI may name.

The same two sources as agent types (`factory/discovery.py`), looked up in this order:

1. in-process registrations, `register_router(name, factory)`: the built-ins
   (`core.vocabulary.BACKEND_NAMES`) and whatever a test or a notebook adds;
2. the `agentfactory.routers` entry-point group, for third-party packages:

       [project.entry-points."agentfactory.routers"]
       mistral = "acme_routing:MistralRouter"

A factory is called with keyword options, `cassette` (a `Cassette` or None)
and, when the blueprint names one, `model`, and returns a `Router`. The
built-ins import their module only when built, so naming `rule` never loads
the Anthropic SDK or httpx.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError
from ..core.vocabulary import BACKEND_NAMES
from .cassette import Cassette
from .routing import Router

__all__ = [
    "ENTRY_POINT_GROUP",
    "RouterFactory",
    "make_router",
    "register_router",
    "router_factory",
    "router_names",
    "unregister_router",
]

ENTRY_POINT_GROUP = "agentfactory.routers"

RouterFactory = Callable[..., Router]


def _rule(**_options: Any) -> Router:
    from .rule_router import RuleRouter

    return RuleRouter()  # offline and deterministic: no model, nothing worth recording


def _claude(**options: Any) -> Router:
    from .claude_router import ClaudeRouter

    return ClaudeRouter(**options)


def _ollama(**options: Any) -> Router:
    from .ollama_router import OllamaRouter

    return OllamaRouter(**options)


_BUILT_IN: dict[str, RouterFactory] = {"rule": _rule, "claude": _claude, "ollama": _ollama}
assert tuple(_BUILT_IN) == BACKEND_NAMES, "every backend the vocabulary names has a built-in router"

_registered: dict[str, RouterFactory] = dict(_BUILT_IN)


def register_router(name: str, factory: RouterFactory | None = None, *, replace: bool = True) -> Any:
    """Make `name` a backend that `make_router` (and so blueprints, `%agent`, the CLI) can build.

    Registering a name again replaces it (re-running a notebook cell must
    work); pass `replace=False` to refuse that instead. Without `factory` it is
    a decorator.
    """
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"invalid router name {name!r}", hint="use a short word, e.g. mistral")

    def register(obj: RouterFactory) -> RouterFactory:
        if not replace and _registered.get(name, obj) is not obj:
            raise ConfigError(f"router {name!r} is already registered",
                              hint="pass replace=True, or unregister_router() it first")
        _registered[name] = obj
        return obj

    return register if factory is None else register(factory)


def unregister_router(name: str) -> None:
    """Forget an in-process registration; a built-in comes back as it was."""
    _registered.pop(name, None)
    if name in _BUILT_IN:
        _registered[name] = _BUILT_IN[name]


def _entry_points() -> list[EntryPoint]:
    # Read on each call: a package installed while the kernel runs is seen without a restart.
    return list(entry_points(group=ENTRY_POINT_GROUP))


def router_names() -> tuple[str, ...]:
    """Every backend name that can be built: the built-ins first, in the vocabulary's order, then the rest sorted."""
    others = ({ep.name for ep in _entry_points()} | set(_registered)) - set(BACKEND_NAMES)
    return (*BACKEND_NAMES, *sorted(others))


def router_factory(name: str) -> RouterFactory:
    """The factory registered for `name`, or a `ConfigError` naming the known ones (and the closest).

    Only the entry point of that name is loaded, so an unrelated broken
    package neither warns nor fails here.
    """
    if name in _registered:
        return _registered[name]
    for ep in _entry_points():
        if ep.name == name:
            try:
                return ep.load()
            except Exception as exc:  # any import-time failure of third-party code
                raise ConfigError(
                    f"router {name!r} is provided by {ep.value} but failed to load: {type(exc).__name__}: {exc}",
                    hint="fix or reinstall the package that provides it",
                ) from exc
    known = router_names()
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = (f"did you mean {close[0]!r}? " if close else "") + (
        f"known backends: {', '.join(known)}; third-party routers register under the "
        f"{ENTRY_POINT_GROUP!r} entry-point group"
    )
    raise ConfigError(f"unknown backend {name!r}", hint=hint)


def make_router(backend: str, *, model: str | None = None, cassette: str | Path | None = None,
                cassette_mode: str = "auto") -> Router:
    """Build the router registered as `backend`, replaying/recording through `cassette` when given."""
    factory = router_factory(backend)
    options: dict[str, Any] = {"cassette": Cassette(cassette, mode=cassette_mode) if cassette else None}
    if model:
        options["model"] = model
    return factory(**options)
