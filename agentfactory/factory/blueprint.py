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
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ..core.actions import ACTION_NAMES, ActionName
from ..core.errors import BlueprintError

Backend = Literal["rule", "claude", "ollama"]
BACKENDS: tuple[str, ...] = get_args(Backend)

RewardKey = Literal[
    "assimilate", "query", "list_blobs", "retrieve_hit", "retrieve_miss", "prune", "destroy", "failure"
]
REWARD_KEYS: tuple[str, ...] = get_args(RewardKey)

BUILTIN_TYPES: tuple[str, ...] = ("ingestor", "retriever", "coordinator", "iowarp", "llm")

# The routing table of ARCHITECTURE.md: the ingestor writes and deletes, the
# retriever reads and evicts; the others can be asked for anything.
_DEFAULT_ACTIONS: dict[str, tuple[str, ...]] = {
    "ingestor": ("assimilate", "destroy"),
    "retriever": ("query", "list_blobs", "retrieve", "prune"),
    "coordinator": ACTION_NAMES,
    "iowarp": ACTION_NAMES,
    "llm": ACTION_NAMES,
}

# Names become file names (`<name>.yaml`) and LLM tool names, whose pattern is
# ^[a-zA-Z0-9_-]{1,64}$; a leading '-' would read as an option on the command line.
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")
# Entry-point names may also hold dots (e.g. `acme.summarizer`).
_TYPE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")

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
    host, sep, port = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):  # [::1]:11211
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise _fail(f"{value!r} is not a host:port endpoint", "write it as host:port, e.g. 127.0.0.1:11211")
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
    backend: Backend = Field(default="rule", description=f"what decides the actions: {', '.join(BACKENDS)}")
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

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if not _TYPE_RE.match(value):
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


# -- building and reporting ----------------------------------------------------
_NESTED: dict[str, type[BaseModel]] = {"store": StoreConfig, "cache": CacheConfig}
_CHOICES: dict[str, tuple[str, ...]] = {"backend": BACKENDS, "actions": ACTION_NAMES, "rewards": REWARD_KEYS}


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _about(root: str, leaf: str | None) -> str | None:
    """The field's description from the schema: what a valid value looks like."""
    model: type[BaseModel] = _NESTED.get(root, Blueprint) if leaf else Blueprint
    info = model.model_fields.get(leaf or root)
    return info.description if info is not None else None


def _did_you_mean(value: Any, choices: tuple[str, ...] | list[str]) -> str | None:
    close = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def _describe(err: dict[str, Any]) -> tuple[str, str, str | None]:
    """(field, problem, fix) for one pydantic error."""
    loc = tuple(err["loc"])
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    field = ctx.get("field") or _field_path(loc) or "(top level)"
    root = str(loc[0]) if loc else ""
    leaf = str(loc[1]) if len(loc) > 1 and root in _NESTED and not isinstance(loc[1], int) else None

    if kind in ("blueprint", "blueprint_field"):
        return field, ctx["message"], ctx.get("hint")
    if kind == "extra_forbidden":
        unknown = str(loc[-1])
        parent = _NESTED.get(root) if len(loc) > 1 else Blueprint
        known = list((parent or Blueprint).model_fields)
        where = f"{_field_path(loc[:-1])} " if len(loc) > 1 else ""
        guess = _did_you_mean(unknown, known)
        fix = f"{guess} {where}fields are: {', '.join(known)}" if guess else f"{where}fields are: {', '.join(known)}"
        return field, "unknown field", fix
    if kind == "missing":
        about = _about(root, leaf)
        return field, "missing (required)", f"add {field}: ..." + (f", {about}" if about else "")
    if kind == "literal_error" and root in _CHOICES:
        choices = _CHOICES[root]
        if "[key]" in loc:
            field, problem = root, f"key {value!r} is not one of {', '.join(choices)}"
        else:
            problem = f"{value!r} is not one of {', '.join(choices)}"
        return field, problem, _did_you_mean(value, choices) or f"use one of {', '.join(choices)}"
    msg = err["msg"]
    problem = (msg[:1].lower() + msg[1:]) + (f", got {value!r}" if not isinstance(value, Mapping) else "")
    about = _about(root, leaf)
    return field, problem, f"{field}: {about}" if about else None


def blueprint_error(source: str, exc: ValidationError) -> BlueprintError:
    """Turn a pydantic error into one `BlueprintError` naming source, field(s) and fix(es)."""
    problems, fixes = [], []
    for err in exc.errors(include_url=False):
        field, problem, fix = _describe(err)
        problems.append(f"field {field!r}: {problem}")
        if fix and fix not in fixes:
            fixes.append(fix)
    return BlueprintError(f"{source}: {'; '.join(problems)}", hint="; ".join(fixes) or None)


def validate_blueprint(data: Any, *, source: str = "blueprint") -> Blueprint:
    """Validate a mapping (or a Blueprint) into a Blueprint, raising `BlueprintError`."""
    if isinstance(data, Blueprint):
        return data
    if not isinstance(data, Mapping):
        raise BlueprintError(
            f"{source}: expected a mapping of fields, got {type(data).__name__}",
            hint="a blueprint is `key: value` lines: name, description, type, backend, actions, ...",
        )
    try:
        return Blueprint.model_validate(dict(data))
    except ValidationError as exc:
        raise blueprint_error(source, exc) from None


# -- YAML ----------------------------------------------------------------------
class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (PyYAML otherwise keeps the last silently)."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def parse_blueprint(text: str, *, source: str = "<string>", default_name: str | None = None) -> Blueprint:
    """Parse YAML text into a Blueprint; `default_name` fills a missing `name`."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise BlueprintError(
            f"{source}{where}: invalid YAML: {problem}",
            hint=f"check indentation, colons and quoting near line {mark.line + 1}" if mark else "check the syntax",
        ) from None
    if data is None:
        raise BlueprintError(
            f"{source}: the file is empty",
            hint="a blueprint needs at least name, description and type",
        )
    if isinstance(data, Mapping) and default_name is not None and "name" not in data:
        data = {"name": default_name, **data}
    return validate_blueprint(data, source=source)


def load_blueprint(path: str | os.PathLike[str], *, match_filename: bool = False) -> Blueprint:
    """Read one blueprint file. A missing `name` is taken from the file name.

    With `match_filename` (what the registry uses) a `name` that differs from the
    file name is an error, so `get(name)` always finds the file that defines it.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BlueprintError(
            f"{path}: cannot read: {exc.strerror or exc}", hint="check the path and permissions"
        ) from None
    except UnicodeDecodeError:
        raise BlueprintError(f"{path}: not UTF-8 text", hint="save the blueprint as UTF-8 YAML") from None
    bp = parse_blueprint(text, source=str(path), default_name=path.stem)
    if match_filename and bp.name != path.stem:
        raise BlueprintError(
            f"{path}: field 'name': {bp.name!r} does not match the file name {path.name!r}",
            hint=f"rename the file to {bp.name}{path.suffix} or set name: {path.stem}",
        )
    return bp


def dump_blueprint(bp: Blueprint) -> str:
    """YAML text for a blueprint; `parse_blueprint(dump_blueprint(bp)) == bp`."""
    return yaml.safe_dump(bp.to_dict(), sort_keys=False, allow_unicode=True, default_flow_style=False, width=88)


def write_blueprint(bp: Blueprint, path: str | os.PathLike[str]) -> Path:
    """Write a blueprint atomically: a temp file in the same folder, then os.replace.

    A reader (another kernel, `list()` in a loop) sees the old file or the new one,
    never half of one; a failed write leaves no temp file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The leading '.' and the .tmp suffix keep the registry's scan from reading it.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(dump_blueprint(bp))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a blueprint is not a secret
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
