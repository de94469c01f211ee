"""The offline, deterministic router: the rule parser, then the owning agent."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ..core.errors import RoutingError
from .routing import AgentCard, RouteDecision, check_agents
from .rules import parse_command


class RuleRouter:
    backend = "rule"

    def route(self, command: str, agents: Sequence[AgentCard]) -> RouteDecision:
        started = time.perf_counter()
        cards = check_agents(agents)
        action = parse_command(command)
        owners = [c for c in cards if action.action in c.actions]
        if not owners:
            available = "; ".join(f"{c.name}: {', '.join(c.actions)}" for c in cards)
            raise RoutingError(
                f"no agent here handles {action.action!r} (understood: {action.action} {action.params_dict()})",
                hint=f"available agents: {available}",
            )
        # the most specialised owner wins: ingestor over an all-rounder like iowarp
        card = min(owners, key=lambda c: (len(c.actions), c.name))
        return RouteDecision(agent=card.name, action=action, backend=self.backend,
                             latency_ms=(time.perf_counter() - started) * 1e3)


def build_rule_router(**_options: Any) -> RuleRouter:
    """The `rule` backend's factory: offline and deterministic, so no model and nothing worth recording."""
    return RuleRouter()
