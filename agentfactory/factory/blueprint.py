"""Blueprints: the YAML definition of one agent, validated by a pydantic schema.

A blueprint says what an agent is (`type`), what drives it (`backend`, `model`),
which actions it owns (`actions`, the coordinator routes by them), which store it
talks to, and how it is scored. The schema forbids unknown fields so a typo such as
`bakend: claude` fails loudly instead of silently running the default backend.

Every loading error is a `BlueprintError` whose message names the file and the
field, and whose hint says how to fix it:

    blueprints/my.yaml: field 'backend': 'gpt' is not one of rule, claude, ollama
    (use one of rule, claude, ollama)

`type` is only checked for shape here: third-party types come from entry points
(see `discovery.py`), so whether a type exists is decided when the agent is built.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ..core.actions import ACTION_NAMES, ActionName
from ..core.endpoints import parse_host_port
from ..core.errors import ConfigError
from ..core.plugins import PLUGIN_NAME
from ..core.vocabulary import ACTION_OWNERS, BACKEND_NAMES, BUILTIN_TYPES, REWARD_KEYS, RewardKey
from .discovery import ROUTERS


# The routing table of ARCHITECTURE.md: the ingestor writes and deletes, the
# retriever reads and evicts (core.vocabulary.ACTION_OWNERS); the others can be asked for anything.
_DEFAULT_ACTIONS: dict[str, tuple[str, ...]] = {
    owner: tuple(a for a in ACTION_NAMES if ACTION_OWNERS[a] == owner) for owner in set(ACTION_OWNERS.values())
}

# Names become file names (`<name>.yaml`) and LLM tool names, whose pattern is
# ^[a-zA-Z0-9_-]{1,64}$; a leading '-' would read as an option on the command line.
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")

# Strict: YAML `yes` or "0.1" as a reward is a mistake, not a number to coerce.
Reward = Annotated[float, Field(strict=True, allow_inf_nan=False)]

YAML_SUFFIXES: tuple[str, ...] = (".yaml", ".yml")


def default_actions(agent_type: str) -> list[str]:
    """Actions an agent of `agent_type` owns when its blueprint lists none.

    Types provided by entry points default to all six; their blueprint can narrow it.
    """
    return list(_DEFAULT_ACTIONS.get(agent_type, ACTION_NAMES))


def _fail(message: str, hint: str | None = None) -> PydanticCustomError:
    # Message and hint travel in ctx (not the template) so braces in user input are safe.
    return PydanticCustomError("blueprint", "{message}", {"message": message, "hint": hint})


def _check_name(value: str, what: str = "name") -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise _fail(
            f"{value!r} is not a valid {what}",
            "use 1-64 letters, digits, '_' and '-', not starting with '-', e.g. my_agent",
        )
    return value


def _check_host_port(value: str) -> str:
    try:
        parse_host_port(value, default_port=None)
    except ConfigError as exc:
        raise _fail(exc.message, exc.hint) from None
    return value


class StoreConfig(BaseModel):
    """Where the agent's two tiers live; null means the service `services.py` manages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    memcached: list[str] | None = Field(
        default=None,
        description='memcached nodes as "host:port" (a list), or null for the managed memcached',
    )
    bridge: str | None = Field(
        default=None,
        description='IOWarp bridge endpoint such as "tcp://127.0.0.1:5555", or null for the managed bridge',
    )

    @field_validator("memcached", mode="before")
    @classmethod
    def _one_node_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("memcached")
    @classmethod
    def _nodes(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise _fail(
                "empty list of memcached nodes", "list host:port nodes, or use null for the managed memcached"
            )
        return [_check_host_port(node) for node in value]

    @field_validator("bridge")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme, sep, rest = value.partition("://")
        if not sep or scheme not in ("tcp", "ipc", "inproc") or not rest:
            raise _fail(
                f"{value!r} is not a ZeroMQ endpoint",
                "write it as tcp://host:port (e.g. tcp://127.0.0.1:5555) or ipc:///path",
            )
        if scheme == "tcp":
            try:
                _check_host_port(rest)
            except PydanticCustomError:
                raise _fail(
                    f"{value!r} has no host:port", "write it as tcp://host:port, e.g. tcp://127.0.0.1:5555"
                ) from None
        return value


class CacheConfig(BaseModel):
    """How the agent uses the memcached tier."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ttl_s: int = Field(default=0, ge=0, strict=True, description="seconds a cached blob lives; 0 = no expiry")
    capacity_mb: int = Field(default=512, ge=1, strict=True, description="cache size in MiB (an integer >= 1)")


class Blueprint(BaseModel):
    """One agent definition. Load from YAML with `load_blueprint`, write with `dump_blueprint`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="agent name: letters, digits, '_' and '-' (also the file name)")
    description: str = Field(
        description="what the agent does, in words a person and an LLM router can choose by"
    )
    type: str = Field(
        description=f"agent type: one of {', '.join(BUILTIN_TYPES)}, or a type an entry point provides"
    )
    backend: str = Field(
        default="rule",
        description=f"what decides the actions: {', '.join(BACKEND_NAMES)}, or a router an entry point provides",
    )
    model: str | None = Field(default=None, description="model name for the claude or ollama backend")
    actions: list[ActionName] = Field(
        default_factory=list,
        description=f"actions the agent owns, among {', '.join(ACTION_NAMES)}; leave out for the type's defaults",
    )
    store: StoreConfig = Field(default_factory=StoreConfig, description="memcached nodes and IOWarp bridge endpoint")
    cache: CacheConfig = Field(default_factory=CacheConfig, description="cache ttl_s and capacity_mb")
    rewards: dict[RewardKey, Reward] = Field(
        default_factory=dict, description=f"reward-table overrides; keys among {', '.join(REWARD_KEYS)}"
    )
    routes_to: list[str] = Field(
        default_factory=list,
        description="coordinator only: agent names to route to; empty = every discovered agent",
    )

    @model_validator(mode="before")
    @classmethod
    def _derive_actions(cls, data: Any) -> Any:
        # Filled in before validation (not after) so the model stays frozen and
        # `actions` always holds the effective list, whatever the source.
        if isinstance(data, Mapping) and data.get("actions") is None and isinstance(data.get("type"), str):
            data = {**data, "actions": default_actions(data["type"])}
        return data

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value)

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        if not value.strip():
            raise _fail("must not be empty", "say what the agent does; the router chooses agents by it")
        return value.strip()

    @field_validator("backend")
    @classmethod
    def _backend(cls, value: str) -> str:
        # built-ins and in-process registrations are a dict lookup; only other names read the entry points
        if not ROUTERS.knows(value):
            known = ROUTERS.names()
            close = difflib.get_close_matches(value, known, n=1)
            raise _fail(f"{value!r} is not one of {', '.join(known)}",
                        f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(known)}")
        return value

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if not PLUGIN_NAME.match(value):
            raise _fail(
                f"{value!r} is not a valid agent type",
                f"use one of {', '.join(BUILTIN_TYPES)} or an entry-point type name",
            )
        return value

    @field_validator("model")
    @classmethod
    def _model(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise _fail("must not be empty", "name a model, or leave it out for the backend's default")
        return value

    @field_validator("actions")
    @classmethod
    def _actions(cls, value: list[str]) -> list[str]:
        if not value:
            raise _fail(
                "an agent must own at least one action",
                "list actions, or leave the field out for the type's defaults",
            )
        twice = sorted({a for a in value if value.count(a) > 1})
        if twice:
            raise _fail(f"{', '.join(twice)} listed more than once", "list each action once")
        return value

    @field_validator("routes_to")
    @classmethod
    def _routes(cls, value: list[str]) -> list[str]:
        for name in value:
            _check_name(name, "agent name")
        return value

    @model_validator(mode="after")
    def _routing(self) -> "Blueprint":
        if self.routes_to:
            if self.type in BUILTIN_TYPES and self.type != "coordinator":
                raise PydanticCustomError(
                    "blueprint_field",
                    "{message}",
                    {
                        "field": "routes_to",
                        "message": f"only a coordinator routes, and this agent's type is {self.type!r}",
                        "hint": "remove routes_to, or set type: coordinator",
                    },
                )
            if self.name in self.routes_to:
                raise PydanticCustomError(
                    "blueprint_field",
                    "{message}",
                    {
                        "field": "routes_to",
                        "message": f"{self.name!r} routes to itself",
                        "hint": "remove its own name from routes_to",
                    },
                )
        return self

    def owns(self, action: str) -> bool:
        return action in self.actions

    def to_dict(self) -> dict[str, Any]:
        """Plain data for YAML: identity and actions always, other fields only when not default."""
        full = self.model_dump(mode="json")
        out = {key: full[key] for key in ("name", "description", "type", "backend")}
        if self.model is not None:
            out["model"] = self.model
        out["actions"] = full["actions"]
        for key in ("store", "cache"):
            changed = getattr(self, key).model_dump(mode="json", exclude_defaults=True)
            if changed:
                out[key] = changed
        if self.rewards:
            out["rewards"] = full["rewards"]
        if self.routes_to:
            out["routes_to"] = full["routes_to"]
        return out
