"""Route a command with a local Ollama model over its HTTP API.

One `POST /api/chat` (`stream: false`) carries a system prompt listing the
agents and their actions, the command, and `format` set to a JSON schema
(`agent` and `action` as enums, `params` an object), so the model's answer is
constrained to the shape `validate_choice` expects. A wrong answer is sent back
once as a follow-up user message carrying the reason; a second one is an error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..core.errors import BackendError, InvalidAction, RoutingError
from .routing import AgentCard, describe_agent, LLMRouter, normalize_payload, RouteDecision, validate_choice

try:
    import httpx
except ImportError:  # the `llm` extra is optional
    httpx = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from .cassette import Cassette

DEFAULT_BASE_URL = "http://127.0.0.1:11434"
DEFAULT_MODEL = "llama3.1"

_INSTRUCTIONS = (
    "You route data-management commands to the agent that carries them out. "
    "Pick the one agent that declares the action the command asks for and answer with JSON only: "
    '{"agent": <agent name>, "action": <one of that agent\'s actions>, "params": {<the action\'s parameters>}}. '
    "Take parameter values from the command; a parameter marked ? is optional, leave it out unless "
    "the command sets it."
)


def system_prompt(agents: Sequence[AgentCard]) -> str:
    parts = [_INSTRUCTIONS, "", "Agents:"]
    for card in agents:
        parts.append(f"- {card.name}: " + describe_agent(card).replace("\n", "\n  "))
    return "\n".join(parts)


def answer_format(agents: Sequence[AgentCard]) -> dict[str, Any]:
    """The JSON schema sent as `format`: it constrains the names, `validate_choice` the rest."""
    actions = list(dict.fromkeys(a for card in agents for a in card.actions))
    return {
        "type": "object",
        "properties": {
            "agent": {"type": "string", "enum": [card.name for card in agents]},
            "action": {"type": "string", "enum": actions},
            "params": {"type": "object"},
        },
        "required": ["agent", "action", "params"],
    }


class OllamaRouter(LLMRouter):
    """Routes through Ollama's `/api/chat`; `http_client` is injectable (tests, proxies)."""

    backend = "ollama"

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        model: str = DEFAULT_MODEL,
        http_client: "httpx.Client | None" = None,
        timeout: float = 60,
        options: Mapping[str, Any] | None = None,
        cassette: "Cassette | None" = None,
    ) -> None:
        if httpx is None:
            raise BackendError("the ollama backend needs the httpx package", hint="pip install 'agentfactory[llm]'")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout = timeout
        # temperature 0: the same command should route the same way on every run.
        self.options = {"temperature": 0, **(options or {})}
        self.cassette = cassette
        self._owns_client = http_client is None
        self._http = http_client if http_client is not None else httpx.Client(timeout=timeout)

    def __repr__(self) -> str:
        return f"OllamaRouter(base_url={self.base_url!r}, model={self.model!r}, cassette={self.cassette!r})"

    def close(self) -> None:
        if self._owns_client:
            self._http.close()

    def _route_live(self, command: str, cards: list[AgentCard]) -> RouteDecision:
        started = time.perf_counter()
        messages: list[dict[str, str]] = [
            {"role": "system", "content": system_prompt(cards)},
            {"role": "user", "content": command},
        ]
        fmt = answer_format(cards)
        tokens: int | None = None
        answers: list[str] = []
        problem: Exception | None = None
        for attempt in (1, 2):
            reply = self._chat(messages, fmt)
            counts = [reply.get(k) for k in ("prompt_eval_count", "eval_count")]
            if any(isinstance(c, int) for c in counts):
                tokens = (tokens or 0) + sum(c for c in counts if isinstance(c, int))
            content = reply["message"]["content"]
            answers.append(repr(_shorten(content)))
            try:
                answer = json.loads(content)
                if not isinstance(answer, dict):
                    raise InvalidAction(f"the answer is a JSON {type(answer).__name__}, not an object")
                payload = {k: v for k, v in answer.items() if k != "agent"}
                card, action = validate_choice(answer.get("agent"), normalize_payload(payload), cards)
            except ValueError as exc:  # json.JSONDecodeError
                problem = InvalidAction(f"the answer is not valid JSON ({exc})")
            except (RoutingError, InvalidAction) as exc:
                problem = exc
            else:
                return self._decision(card, action, started, tokens, attempt)
            messages += [
                {"role": "assistant", "content": content},
                {
                    "role": "user",
                    "content": f"That answer is wrong: {problem}. Answer again with JSON only: "
                    '{"agent": ..., "action": ..., "params": {...}}, using an agent listed above and '
                    "an action it declares.",
                },
            ]
        assert problem is not None
        error = RoutingError if isinstance(problem, RoutingError) else BackendError
        raise error(
            f"ollama ({self.model}) gave no valid choice in 2 attempts: it answered {answers[0]}, then {answers[1]}; "
            f"{getattr(problem, 'message', problem)}",
            hint=getattr(problem, "hint", None),
        )

    def _chat(self, messages: list[dict[str, str]], fmt: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}/api/chat"
        body = {
            "model": self.model,
            "messages": messages,
            "stream": False,
            "format": fmt,
            "options": self.options,
        }
        fallback = "or use the offline rule backend (--backend rule)"
        try:
            response = self._http.post(url, json=body, timeout=self.timeout)
        except httpx.TimeoutException:
            raise BackendError(
                f"ollama at {self.base_url} did not answer within {self.timeout:g}s",
                hint=f"the first call loads the model; raise timeout= or warm it up with `ollama run {self.model}`, "
                f"{fallback}",
            ) from None
        except httpx.HTTPError as exc:
            raise BackendError(
                f"could not reach ollama at {self.base_url}: {exc}", hint=f"start it with `ollama serve`, {fallback}"
            ) from None

        if response.status_code != 200:
            detail = _error_text(response)
            hint = (
                f"pull it with `ollama pull {self.model}`"
                if response.status_code == 404 and "not found" in detail.lower()
                else f"check the ollama server log, {fallback}"
            )
            raise BackendError(f"ollama returned HTTP {response.status_code}: {detail}", hint=hint)
        try:
            reply = response.json()
            if not isinstance(reply.get("message", {}).get("content"), str):
                raise ValueError("no message.content")
        except (ValueError, AttributeError) as exc:
            raise BackendError(
                f"ollama sent a reply that is not a chat response ({exc}): {_shorten(response.text)}",
                hint=f"is {self.base_url} an ollama server?",
            ) from None
        return reply


def _error_text(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return _shorten(response.text) or response.reason_phrase
    if isinstance(body, dict) and body.get("error"):
        return _shorten(str(body["error"]))
    return _shorten(response.text)


def _shorten(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
