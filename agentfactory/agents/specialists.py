"""Specialist agents: each owns the actions its blueprint declares, nothing else.

An agent never turns an action it does not own into another one: it refuses
with the name of the agent that does. Built-in types register themselves in
the agent-type registry, the same way third-party types do through the
`agentfactory.agents` entry-point group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core.actions import Action
from ..core.errors import RoutingError
from ..env import IOWarpEnv
from ..factory import Blueprint
from .routing import AgentCard


def agent_name(blueprint_name: str) -> str:
    """`ingestor_agent` -> `ingestor`: the name routing and trajectories use."""
    return blueprint_name.removesuffix("_agent") or blueprint_name


class SpecialistAgent:
    """Executes the actions it declares on its environment (and so its store)."""

    def __init__(self, blueprint: Blueprint, env: IOWarpEnv) -> None:
        self.blueprint = blueprint
        self.name = agent_name(blueprint.name)
        self.actions = tuple(blueprint.actions)
        self.env = env

    @property
    def card(self) -> AgentCard:
        return AgentCard(name=self.name, description=self.blueprint.description, actions=list(self.actions))

    def check(self, action: Action, peers: Sequence["SpecialistAgent"] = ()) -> None:
        if action.action not in self.actions:
            owners = [p.name for p in peers if action.action in p.actions]
            raise RoutingError(
                f"agent {self.name!r} does not handle {action.action!r}",
                hint=f"{' or '.join(owners)} does" if owners else f"{self.name} handles {', '.join(self.actions)}",
            )

    def act(self, action: Action, *, command: str | None = None, extra: dict[str, Any] | None = None):
        """One Gymnasium step of this agent's environment."""
        self.check(action)
        return self.env.step(action, agent=self.name, command=command, extra=extra)

