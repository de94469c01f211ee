"""Agents and routing: specialists act, a coordinator routes, routers decide.

- `routing`: what every router shares (the agent card, the decision, `validate_choice`);
- `routers`: routers by name (`register_router`, `router_names`, `make_router`,
  the `agentfactory.routers` entry-point group);
- `rule_router` / `rules/`, `claude_router`, `ollama_router`: the built-in backends;
- `cassette`: record and replay any backend's answers;
- `specialists`, `coordinator`: the agents themselves.

Only the router registry is re-exported here: importing this package loads no
LLM SDK and no environment.
"""

from __future__ import annotations

from . import routers
from .routers import ENTRY_POINT_GROUP, make_router, register_router, router_factory, router_names, unregister_router

__all__ = list(routers.__all__)
