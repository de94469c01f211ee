"""What a blueprint may name: agent types (`type:`) and routers (`backend:`).

Both come from the same two sources (`core.plugins.Plugins`), looked up in
this order:

1. in-process registrations: the built-ins, and whatever a test or a notebook
   adds with `register_agent_type(name, factory)` / `register_router(name, factory)`;
2. entry points, for third-party packages:

       [project.entry-points."agentfactory.agents"]
       summarizer = "acme_agents:SummarizerAgent"
       [project.entry-points."agentfactory.routers"]
       mistral = "acme_routing:MistralRouter"

An agent-type factory is called with the blueprint and the store; a router
factory with keyword options (`cassette`, and `model` when the blueprint names
one) and returns a `Router`. The built-in routers are the backends of
`core.vocabulary.BACKEND_NAMES`, imported only when built.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..core.errors import BlueprintError, ConfigError
from ..core.plugins import Plugins
from ..core.vocabulary import BACKEND_NAMES, BUILTIN_TYPES

ENTRY_POINT_GROUP = "agentfactory.agents"
ROUTER_ENTRY_POINT_GROUP = "agentfactory.routers"

# every built-in type but the coordinator is a specialist acting on the store
AGENT_TYPES = Plugins("agent type", ENTRY_POINT_GROUP, BlueprintError, builtins={
    name: "agentfactory.agents.specialists:SpecialistAgent" for name in BUILTIN_TYPES if name != "coordinator"
})
ROUTERS = Plugins("backend", ROUTER_ENTRY_POINT_GROUP, ConfigError, builtins={
    "rule": "agentfactory.agents.rule_router:build_rule_router",
    "claude": "agentfactory.agents.claude_router:ClaudeRouter",
    "ollama": "agentfactory.agents.ollama_router:OllamaRouter",
})
assert ROUTERS.names()[:len(BACKEND_NAMES)] == BACKEND_NAMES, "every backend the vocabulary names has a built-in router"

register_agent_type = AGENT_TYPES.register
unregister_agent_type = AGENT_TYPES.unregister
get_agent_type = AGENT_TYPES.get
agent_types = AGENT_TYPES.all

register_router = ROUTERS.register
unregister_router = ROUTERS.unregister
router_factory = ROUTERS.get
router_names = ROUTERS.names


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
    "AGENT_TYPES",
    "ENTRY_POINT_GROUP",
    "ROUTERS",
    "ROUTER_ENTRY_POINT_GROUP",
    "agent_types",
    "buildable",
    "get_agent_type",
    "register_agent_type",
    "register_router",
    "router_factory",
    "router_names",
    "unregister_agent_type",
    "unregister_router",
]
