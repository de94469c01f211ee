"""The coordinator: one routing call per command, then the owning specialist acts.

Routing and acting are both recorded: the step's row carries the routing
decision (backend, routing latency, tokens) next to the store outcome, and a
command that cannot be routed is a failed step of agent `coordinator`,
recorded on the coordinator's own env (its reward table, its counters), not
borrowed from whichever specialist happens to come first.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ..core.errors import AgentFactoryError
from ..env import IOWarpEnv
from .routing import AgentCard, RouteDecision, Router
from .specialists import SpecialistAgent


class Coordinator:
    """Routes each command to the agent that declares its action, and has that agent act.

    `env` records the steps no specialist took (a command that could not be
    routed); it shares the specialists' trajectory.
    """

    name = "coordinator"

    def __init__(self, agents: Sequence[SpecialistAgent], router: Router, *, env: IOWarpEnv) -> None:
        self.agents = {a.name: a for a in agents}
        self.router = router
        self.env = env

    @property
    def cards(self) -> list[AgentCard]:
        return [a.card for a in self.agents.values()]

    def env_for(self, decision: RouteDecision | None) -> IOWarpEnv:
        """The env that recorded the step `run` returned with `decision`: its `last_step`, its latency."""
        return self.agents[decision.agent].env if decision is not None else self.env

    def route(self, command: str) -> RouteDecision:
        return self.router.route(command, self.cards)

    def run(self, command: str) -> tuple[RouteDecision | None, tuple[Any, ...]]:
        """Route and execute one command; returns the decision and the env step."""
        started = time.perf_counter()
        try:
            decision = self.route(command)
        except AgentFactoryError as exc:
            extra = {"backend": self.router.backend, "route_latency_ms": (time.perf_counter() - started) * 1e3}
            return None, self.env.record_failure(exc, agent=self.name, command=command, extra=extra,
                                                 latency_ms=extra["route_latency_ms"])
        agent = self.agents[decision.agent]
        extra = {"backend": decision.backend, "route_latency_ms": decision.latency_ms, "tokens": decision.tokens}
        try:
            agent.check(decision.action, list(self.agents.values()))
        except AgentFactoryError as exc:
            return decision, agent.env.record_failure(exc, agent=agent.name, command=command,
                                                      action=decision.action.action, extra=extra)
        return decision, agent.act(decision.action, command=command, extra=extra)
