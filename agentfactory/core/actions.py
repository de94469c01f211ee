"""The six actions of the data-flow table, as validated pydantic models.

One params model per action is the single source of truth: the rule parser
builds them, LLM backends get their JSON schema as a tool `input_schema`, the
environment executes them, and the trajectory records `params_dict()`.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import InvalidAction

ActionName = Literal["assimilate", "query", "list_blobs", "retrieve", "prune", "destroy"]
ACTION_NAMES: tuple[str, ...] = get_args(ActionName)


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _non_empty(value: str) -> str:
    if not value or not value.strip():
        raise ValueError("must not be empty")
    return value


class AssimilateParams(Params):
    """Copy a source (file::, folder::, hdf5::, mem::) into tag `dst`."""

    src: str = Field(description="source URI, e.g. file::data/a.csv, folder::./docs, hdf5::run.h5")
    dst: str = Field(description="destination tag name")
    format: str | None = Field(default=None, description="optional format hint (binary, text, hdf5)")

    _check = field_validator("src", "dst")(_non_empty)


class QueryParams(Params):
    """Which blobs of matching tags are in the cache now (or ranked by `prompt`)."""

    tag_pattern: str = Field(default="*", description="glob over tag names")
    prompt: str | None = Field(default=None, description="rank blobs by BM25 relevance to this text")
    max_results: int | None = Field(default=None, ge=1, description="keep the best N results")


class ListBlobsParams(QueryParams):
    """Which blobs matching tags hold persistently (IOWarp)."""


class RetrieveParams(Params):
    """Read one blob: cache hit, else IOWarp then re-cache."""

    tag: str = Field(description="tag holding the blob")
    blob_name: str = Field(description="name of the blob inside the tag")

    _check = field_validator("tag", "blob_name")(_non_empty)


class PruneParams(Params):
    """Evict blobs from the cache only; IOWarp keeps them."""

    tag: str = Field(description="tag holding the blobs")
    blob_names: list[str] = Field(min_length=1, description="blob names to evict from the cache")

    _check = field_validator("tag")(_non_empty)


class DestroyParams(Params):
    """Delete whole tags from IOWarp and make their cached entries unreachable."""

    tags: list[str] = Field(min_length=1, description="tags to delete permanently")


PARAMS_MODELS: dict[str, type[Params]] = {
    "assimilate": AssimilateParams,
    "query": QueryParams,
    "list_blobs": ListBlobsParams,
    "retrieve": RetrieveParams,
    "prune": PruneParams,
    "destroy": DestroyParams,
}


class Action(BaseModel):
    """An action name plus its validated parameters.

    Accepts the flat form `{"action": "retrieve", "tag": ..., "blob_name": ...}`
    as well as `{"action": ..., "params": {...}}`, because both appear in the
    wild (LLM tool calls are flat, the parse output is nested).
    """

    model_config = ConfigDict(frozen=True)

    action: ActionName
    params: Params

    @model_validator(mode="before")
    @classmethod
    def _coerce(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        name = data.get("action")
        model = PARAMS_MODELS.get(name) if isinstance(name, str) else None
        if model is None:
            return data  # the Literal check on `action` reports it
        params = data.get("params")
        if params is None:
            params = {k: v for k, v in data.items() if k != "action"}
        if isinstance(params, model):
            return {"action": name, "params": params}
        if isinstance(params, Params):
            params = params.model_dump()
        return {"action": name, "params": model.model_validate(params)}

    @classmethod
    def create(cls, action: str, **params: Any) -> "Action":
        return parse_action({"action": action, "params": params})

    def params_dict(self) -> dict[str, Any]:
        """Parameters as plain JSON-ready values, optional ones left out when unset."""
        return self.params.model_dump(exclude_none=True)

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "params": self.params_dict()}


# Validated actions by the exact dict they came from (see _memo_key); bounded, cleared when full.
_PARSED: dict[tuple[Any, ...], Action] = {}
_PARSED_MAX = 1024
_PLAIN = (str, int, type(None))


def _memo_key(data: Any) -> tuple[Any, ...] | None:
    """A key equal only for dicts that validate alike, or None when there is none cheaply.

    Only the nested form with plain values (str, int, None; their exact types
    are part of the key, so `True` never stands for `1`) is memoised: an agent
    or a benchmark sends the same few actions again and again, and validating
    one costs more than the cache hit it asks for. Anything else is validated.
    """
    if type(data) is not dict or len(data) != 2:
        return None
    name, params = data.get("action"), data.get("params")
    if type(name) is not str or type(params) is not dict:
        return None
    key: list[Any] = [name]
    for k, v in params.items():
        if type(v) not in _PLAIN:
            return None
        key += (k, type(v), v)
    return tuple(key)


def parse_action(data: "Action | dict[str, Any]") -> Action:
    """Validate an action from its dict form, raising `InvalidAction` with a readable reason."""
    if isinstance(data, Action):
        return data
    key = _memo_key(data)
    if key is not None:
        known = _PARSED.get(key)
        if known is not None:  # an Action is frozen: the same validated one can be handed out again
            return known
    try:
        action = Action.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'action'}: {err['msg']}" for err in exc.errors()
        )
        name = data.get("action") if isinstance(data, dict) else None
        hint = (
            f"actions are {', '.join(ACTION_NAMES)}"
            if name not in ACTION_NAMES
            else f"{name} takes {', '.join(PARAMS_MODELS[name].model_fields)}"
        )
        raise InvalidAction(f"invalid action: {problems}", hint=hint) from None
    if key is not None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = action
    return action


def action_schema(name: str) -> dict[str, Any]:
    """JSON schema of one action's parameters (used as an LLM tool's input_schema)."""
    return PARAMS_MODELS[name].model_json_schema()
