"""Routers by name: what a blueprint's `backend:`, `%agent --backend` and the CLI may name.

The names come from the same registry mechanism as agent types
(`factory.discovery.ROUTERS`: in-process registrations, then the
`agentfactory.routers` entry-point group); this module builds one, with a
cassette when asked, so every caller records and replays the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..factory.discovery import ROUTER_ENTRY_POINT_GROUP as ENTRY_POINT_GROUP
from ..factory.discovery import register_router, router_factory, router_names, unregister_router
from .cassette import Cassette
from .routing import Router

__all__ = [
    "ENTRY_POINT_GROUP",
    "make_router",
    "register_router",
    "router_factory",
    "router_names",
    "unregister_router",
]


def make_router(backend: str, *, model: str | None = None, cassette: str | Path | None = None,
                cassette_mode: str = "auto") -> Router:
    """Build the router registered as `backend`, replaying/recording through `cassette` when given."""
    factory = router_factory(backend)
    options: dict[str, Any] = {"cassette": Cassette(cassette, mode=cassette_mode) if cassette else None}
    if model:
        options["model"] = model
    return factory(**options)
