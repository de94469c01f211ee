"""What every router shares: the agent card it sees, the decision it returns, the check it runs.

A router gets a plain-language command and the discovered agents, and in one
step picks the agent *and* fills its action. Whatever the backend (rules, Claude,
Ollama, a cassette), the answer goes through `validate_choice`, so an LLM can
never hand the coordinator an agent that does not exist or an action that agent
does not declare.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..core.actions import ACTION_NAMES, Action, action_schema, parse_action
from ..core.errors import InvalidAction, RoutingError


class AgentCard(BaseModel):
    """What a router sees of an agent: its name, what it is for, the actions it declares."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    actions: list[str] = Field(min_length=1)

    @field_validator("actions")
    @classmethod
    def _known_actions(cls, actions: list[str]) -> list[str]:
        # Each declared action becomes a JSON schema in the prompt, so an unknown
        # one would only surface later as a KeyError deep inside a backend.
        unknown = [a for a in actions if a not in ACTION_NAMES]
        if unknown:
            raise ValueError(f"unknown action(s) {', '.join(unknown)}; actions are {', '.join(ACTION_NAMES)}")
        return list(dict.fromkeys(actions))


class RouteDecision(BaseModel):
    """One routed command: which agent, which action, and what it cost to decide."""

    model_config = ConfigDict(frozen=True)

    agent: str
    action: Action
    backend: str
    latency_ms: float
    tokens: int | None = None
    attempts: int = 1
    replayed: bool = False  # True when a cassette answered instead of the backend


@runtime_checkable
class Router(Protocol):
    backend: str

    def route(self, command: str, agents: Sequence[AgentCard]) -> RouteDecision: ...


class LLMRouter:
    """The front half every LLM router shares: checks, then the cassette or a live call.

    Subclasses set `backend`, `model` and `cassette` and implement `_route_live`.
    """

    backend: str
    model: str
    cassette: Any = None

    def route(self, command: str, agents: Sequence[AgentCard]) -> RouteDecision:
        cards = check_agents(agents)
        if not command or not command.strip():
            raise RoutingError("nothing to route: the command is empty")
        if self.cassette is not None:
            return self.cassette.route(
                backend=self.backend,
                model=self.model,
                command=command,
                agents=cards,
                live=lambda: self._route_live(command, cards),
            )
        return self._route_live(command, cards)

    def _route_live(self, command: str, cards: list[AgentCard]) -> RouteDecision:
        raise NotImplementedError

    def _decision(self, card: AgentCard, action: Action, started: float, tokens: int | None,
                  attempt: int) -> RouteDecision:
        return RouteDecision(agent=card.name, action=action, backend=self.backend, tokens=tokens,
                             latency_ms=(time.perf_counter() - started) * 1000.0, attempts=attempt)


def check_agents(agents: Sequence[AgentCard]) -> list[AgentCard]:
    """The agents a router may offer, refusing an empty list or two agents with one name."""
    cards = [a if isinstance(a, AgentCard) else AgentCard.model_validate(a) for a in agents]
    if not cards:
        raise RoutingError("no agents to route to", hint="discover or register at least one agent blueprint")
    seen: set[str] = set()
    for card in cards:
        if card.name in seen:
            raise RoutingError(f"two agents are named {card.name!r}", hint="agent names must be unique")
        seen.add(card.name)
    return cards


def owners(action: str, agents: Sequence[AgentCard]) -> list[str]:
    """Names of the agents that declare `action`."""
    return [a.name for a in agents if action in a.actions]


def validate_choice(
    agent_name: Any, payload: Mapping[str, Any] | Action, agents: Sequence[AgentCard]
) -> tuple[AgentCard, Action]:
    """Check a backend's answer against the discovered agents.

    `payload` is `{"action": ..., "params": {...}}` (or the flat form `Action`
    accepts). Raises `RoutingError` for an agent nobody discovered (the message
    lists the valid ones) and `InvalidAction` for an action the agent does not
    declare (naming the agent that does) or parameters that do not validate.
    """
    names = [a.name for a in agents]
    card = next((a for a in agents if a.name == agent_name), None)
    if card is None:
        raise RoutingError(f"unknown agent {agent_name!r}", hint=f"valid agents: {', '.join(names) or 'none'}")

    if isinstance(payload, Action):
        action_name: Any = payload.action
    elif isinstance(payload, Mapping):
        action_name = payload.get("action")
    else:
        raise InvalidAction(
            f"the answer for agent {card.name!r} is {type(payload).__name__}, not an object",
            hint='answer {"action": ..., "params": {...}}',
        )

    if action_name not in card.actions:
        if action_name not in ACTION_NAMES:
            hint = f"{card.name} declares {', '.join(card.actions)}"
        else:
            others = owners(action_name, agents)
            hint = (
                f"{action_name!r} belongs to {', '.join(others)}; {card.name} declares {', '.join(card.actions)}"
                if others
                else f"no discovered agent declares {action_name!r}; {card.name} declares {', '.join(card.actions)}"
            )
        raise InvalidAction(f"agent {card.name!r} does not declare action {action_name!r}", hint=hint)

    action = parse_action(payload if isinstance(payload, Action) else dict(payload))
    return card, action


# -- prompt material shared by the LLM backends --------------------------------
def _type_name(prop: Mapping[str, Any]) -> str:
    if "anyOf" in prop:  # Optional[X] comes out as anyOf [X, null]
        kinds = [_type_name(p) for p in prop["anyOf"] if p.get("type") != "null"]
        return " | ".join(kinds) or "null"
    if prop.get("type") == "array":
        return f"list of {_type_name(prop.get('items', {}))}s"
    return str(prop.get("type", "any"))


def describe_action(name: str) -> str:
    """One line per action for a prompt: `retrieve(tag: string, blob_name: string): Read one blob ...`."""
    schema = action_schema(name)
    required = set(schema.get("required", []))
    fields = [
        f"{field}{'' if field in required else '?'}: {_type_name(prop)}"
        for field, prop in schema.get("properties", {}).items()
    ]
    return f"{name}({', '.join(fields)}): {schema.get('description', '').strip()}"


def describe_agent(card: AgentCard) -> str:
    """An agent's description followed by the actions it declares, one per line."""
    lines = [card.description.strip() or f"the {card.name} agent", "Actions:"]
    lines += [f"- {describe_action(a)}" for a in card.actions]
    return "\n".join(lines)


def normalize_payload(raw: Any) -> Any:
    """Undo the common ways a model mangles `{"action", "params"}` before validating it.

    Models sometimes send a nested object as a JSON string (`"params": "{\\"tag\\": ...}"`),
    which is the same answer in the wrong wrapping; anything else is left for
    `validate_choice` to judge.
    """
    if isinstance(raw, Mapping) and isinstance(raw.get("params"), str):
        try:
            params = json.loads(raw["params"])
        except ValueError:
            return raw
        if isinstance(params, dict):
            return {**raw, "params": params}
    return raw
