"""The coordinator: one routing call per command, then the owning specialist acts.

Routing and acting are both recorded: the step's row carries the routing
decision (backend, routing latency, tokens) next to the store outcome, and a
command that cannot be routed is a failed step of agent `coordinator`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ..core.errors import AgentFactoryError
from .routing import RouteDecision, Router
from .specialists import SpecialistAgent


class Coordinator:
    name = "coordinator"

    def __init__(self, agents: Sequence[SpecialistAgent], router: Router) -> None:
        self.agents = {a.name: a for a in agents}
        self.router = router

    @property
    def cards(self):
        return [a.card for a in self.agents.values()]

    def route(self, command: str) -> RouteDecision:
        return self.router.route(command, self.cards)

    def run(self, command: str) -> tuple[RouteDecision | None, tuple[Any, ...]]:
        """Route and execute one command; returns the decision and the env step."""
        started = time.perf_counter()
        try:
            decision = self.route(command)
        except AgentFactoryError as exc:
            env = next(iter(self.agents.values())).env
            extra = {"backend": self.router.backend, "route_latency_ms": (time.perf_counter() - started) * 1e3}
            return None, env.record_failure(exc, agent=self.name, command=command, extra=extra,
                                            latency_ms=extra["route_latency_ms"])
        agent = self.agents[decision.agent]
        extra = {"backend": decision.backend, "route_latency_ms": decision.latency_ms, "tokens": decision.tokens}
        try:
            agent.check(decision.action, list(self.agents.values()))
        except AgentFactoryError as exc:
            return decision, agent.env.record_failure(exc, agent=agent.name, command=command,
                                                      action=decision.action.action, extra=extra)
        return decision, agent.act(decision.action, command=command, extra=extra)
