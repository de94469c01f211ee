"""Route a command with Claude tool use: one tool per agent, one forced call.

Each discovered agent becomes a tool whose `input_schema` is
`{"action": enum of the agent's actions, "params": anyOf the action schemas}`,
and `tool_choice={"type": "any", "disable_parallel_tool_use": True}` makes the
model call exactly one of them, so a single request picks the agent *and*
fills its action. (LangGraph's supervisor uses the same one-tool-per-agent shape.)

An answer that names no discovered agent, or whose action does not validate, is
sent back once as a `tool_result` with `is_error: true` carrying the reason (as
AutoGen's selector does with corrective feedback); a second wrong answer is an
error that says what the model answered both times.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..core.actions import action_schema
from ..core.errors import BackendError, InvalidAction, RoutingError
from .routing import AgentCard, describe_agent, LLMRouter, normalize_payload, RouteDecision, validate_choice

try:
    import anthropic
except ImportError:  # the `llm` extra is optional; the rule backend works without it
    anthropic = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from .cassette import Cassette

# Newest Sonnet the pinned SDK lists that it does not flag as deprecated
# (it warns on claude-sonnet-4-5, end of life 2026-11-30). Routing is a small
# classification call; pass `model=` for a cheaper one (e.g. claude-haiku-4-5).
DEFAULT_MODEL = "claude-sonnet-5-5"

SYSTEM_PROMPT = (
    "You route data-management commands to the agent that carries them out. "
    "Each tool is one agent. Call exactly one tool: the agent that declares the action the "
    "command asks for, with `action` set to that action and `params` holding its parameters, "
    "taken from the command. Use only values the command gives or clearly implies, and leave "
    "optional parameters out unless the command sets them."
)

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # what the Messages API accepts as a tool name


def input_schema(card: AgentCard) -> dict[str, Any]:
    """The JSON schema of one agent's tool: an action it declares plus that action's params."""
    return {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": list(card.actions), "description": "the action to take"},
            "params": {
                "anyOf": [action_schema(a) for a in card.actions],
                "description": "parameters of that action",
            },
        },
        "required": ["action", "params"],
        "additionalProperties": False,
    }


def build_tools(agents: Sequence[AgentCard]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One tool per agent, plus the map from tool name back to agent name.

    A tool is named after its agent; a name the API would refuse (spaces, dots,
    over 64 characters) is rewritten to a safe, unique one and mapped back.
    """
    tools: list[dict[str, Any]] = []
    to_agent: dict[str, str] = {}
    for card in agents:
        name = card.name
        if not _TOOL_NAME.match(name) or name in to_agent:
            base = re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:60] or "agent"
            name, n = base, 2
            while name in to_agent or any(c.name == name for c in agents if c is not card):
                name, n = f"{base}_{n}", n + 1
        to_agent[name] = card.name
        tools.append({"name": name, "description": describe_agent(card), "input_schema": input_schema(card)})
    return tools, to_agent


class ClaudeRouter(LLMRouter):
    """Routes through the Anthropic Messages API; `client` is injectable (tests, proxies)."""

    backend = "claude"

    def __init__(
        self,
        client: "anthropic.Anthropic | None" = None,
        *,
        model: str = DEFAULT_MODEL,
        timeout: float = 30,
        max_retries: int = 2,
        max_tokens: int = 1024,
        cassette: "Cassette | None" = None,
    ) -> None:
        self.model = model
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_tokens = max_tokens
        self.cassette = cassette
        self._client = client
        self._owns_client = client is None
        # Fail at construction when a key will surely be needed; a cassette that
        # may answer everything (replay, auto) must rerun offline with no key at all.
        if client is None and (cassette is None or cassette.mode == "record"):
            self._client = self._build_client()

    def __repr__(self) -> str:
        return f"ClaudeRouter(model={self.model!r}, cassette={self.cassette!r})"

    @property
    def client(self) -> "anthropic.Anthropic":
        if self._client is None:
            self._client = self._build_client()
        return self._client

    def _build_client(self) -> "anthropic.Anthropic":
        if anthropic is None:
            raise BackendError(
                "the claude backend needs the anthropic package", hint="pip install 'agentfactory[llm]'"
            )
        key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
        if not key:
            raise BackendError(
                "ANTHROPIC_API_KEY is not set; the claude backend needs it",
                hint="export ANTHROPIC_API_KEY=... (in a notebook: %env ANTHROPIC_API_KEY=...), "
                "or use the offline rule backend (--backend rule)",
            )
        # The key is passed explicitly so the SDK reads no other credential source.
        return anthropic.Anthropic(api_key=key, timeout=self.timeout, max_retries=self.max_retries)

    def close(self) -> None:
        if self._owns_client and self._client is not None:
            self._client.close()

    def _route_live(self, command: str, cards: list[AgentCard]) -> RouteDecision:
        started = time.perf_counter()
        tools, to_agent = build_tools(cards)
        messages: list[dict[str, Any]] = [{"role": "user", "content": command}]
        tokens = 0
        answers: list[str] = []
        problem: RoutingError | InvalidAction | None = None
        for attempt in (1, 2):
            message = self._create(messages, tools)
            usage = getattr(message, "usage", None)
            tokens += (getattr(usage, "input_tokens", 0) or 0) + (getattr(usage, "output_tokens", 0) or 0)
            block = next((b for b in message.content if getattr(b, "type", None) == "tool_use"), None)
            if block is None:
                text = " ".join(getattr(b, "text", "") for b in message.content).strip()
                raise BackendError(
                    f"claude answered without choosing an agent (stop_reason={message.stop_reason})"
                    + (f": {text[:200]!r}" if text else ""),
                    hint="raise max_tokens if it was cut short, or rephrase the command",
                )
            answers.append(f"{block.name} {json.dumps(block.input, sort_keys=True)}")
            try:
                agent = to_agent.get(block.name, block.name)
                card, action = validate_choice(agent, normalize_payload(block.input), cards)
            except (RoutingError, InvalidAction) as exc:
                problem = exc
                messages += [
                    {"role": "assistant", "content": _assistant_content(message)},
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": block.id,
                                "is_error": True,
                                "content": f"{exc}. Call exactly one of the tools "
                                f"({', '.join(t['name'] for t in tools)}) with an action it declares and valid params.",
                            }
                        ],
                    },
                ]
                continue
            return self._decision(card, action, started, tokens, attempt)
        assert problem is not None
        # Which agent is a routing question; a malformed action is the backend failing.
        error = RoutingError if isinstance(problem, RoutingError) else BackendError
        raise error(
            f"claude gave no valid choice in 2 attempts: it answered {answers[0]}, then {answers[1]}; "
            f"{problem.message}",
            hint=problem.hint,
        )

    def _create(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Any:
        try:
            return self.client.messages.create(
                model=self.model,
                max_tokens=self.max_tokens,
                system=SYSTEM_PROMPT,
                messages=messages,
                tools=tools,
                tool_choice={"type": "any", "disable_parallel_tool_use": True},
            )
        except anthropic.AnthropicError as exc:
            raise self._explain(exc) from None

    def _explain(self, exc: Exception) -> BackendError:
        """A one-line BackendError for an SDK error; the SDK's traceback helps nobody in a notebook."""
        fallback = "or use the offline rule backend (--backend rule)"
        if isinstance(exc, anthropic.APITimeoutError):
            within = f" within {self.timeout:g}s" if self._owns_client else ""
            return BackendError(
                f"the Anthropic API did not answer{within}", hint=f"raise timeout=, check the network, {fallback}"
            )
        if isinstance(exc, anthropic.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            base_url = getattr(self._client, "base_url", "the API")
            return BackendError(
                f"could not reach the Anthropic API at {base_url}: {cause or exc}",
                hint=f"check the network or ANTHROPIC_BASE_URL, {fallback}",
            )
        if isinstance(exc, anthropic.APIStatusError):
            detail = _api_message(exc)
            request_id = getattr(exc, "request_id", None)
            where = f"HTTP {exc.status_code}" + (f", request {request_id}" if request_id else "")
            if isinstance(exc, anthropic.AuthenticationError):
                return BackendError(
                    f"the Anthropic API rejected the API key ({where}): {detail}", hint="check ANTHROPIC_API_KEY"
                )
            if isinstance(exc, anthropic.PermissionDeniedError):
                return BackendError(
                    f"the API key may not use this ({where}): {detail}", hint=f"check the key's access to {self.model}"
                )
            if isinstance(exc, anthropic.NotFoundError):
                return BackendError(f"not found ({where}): {detail}", hint=f"check the model name {self.model!r}")
            if isinstance(exc, anthropic.RateLimitError):
                after = exc.response.headers.get("retry-after")
                wait = f"wait {after}s and rerun" if after else "wait and rerun"
                return BackendError(
                    f"rate limited by the Anthropic API ({where}): {detail}",
                    hint=f"{wait}, or record a cassette so reruns need no calls",
                )
            if isinstance(exc, anthropic.InternalServerError):
                return BackendError(
                    f"the Anthropic API failed ({where}): {detail}",
                    hint=f"usually transient: rerun later (max_retries={self.max_retries}), {fallback}",
                )
            return BackendError(f"the Anthropic API refused the request ({where}): {detail}")
        return BackendError(f"Anthropic SDK error: {exc}")


def _api_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict) and body["error"].get("message"):
        message = str(body["error"]["message"])
    else:
        message = str(getattr(exc, "message", exc))
    return message if len(message) <= 300 else message[:297] + "..."


def _assistant_content(message: Any) -> list[dict[str, Any]]:
    """The model's turn, sent back verbatim so the tool_result has its tool_use to answer."""
    content: list[dict[str, Any]] = []
    for block in message.content:
        if block.type == "text" and block.text:
            content.append({"type": "text", "text": block.text})
        elif block.type == "tool_use":
            content.append({"type": "tool_use", "id": block.id, "name": block.name, "input": block.input})
    return content
