"""Offline stand-ins for the LLM services: recorded replies, a scripted mock transport, routers built on it.

A plain module, imported by name (pytest puts tests/ on sys.path). Claude goes through the
real `anthropic.Anthropic` client and Ollama through httpx, each with a mock transport, so
what the tests assert is what the SDK would put on the wire.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import anthropic
import anthropic._base_client
import httpx

from agentfactory.agents.claude_router import ClaudeRouter
from agentfactory.agents.ollama_router import OllamaRouter
from agentfactory.agents.routing import AgentCard, RouteDecision
from agentfactory.core import Action

# anthropic 2.x talks through httpx2 and refuses httpx objects; older releases use httpx.
sdk_httpx = getattr(anthropic._base_client, "httpx2", None) or anthropic._base_client.httpx
DATA = Path(__file__).parent / "data" / "llm"
AGENTS = [
    AgentCard(name="ingestor", description="Brings data into the store and deletes it.", actions=["assimilate", "destroy"]),
    AgentCard(
        name="retriever",
        description="Finds, reads and evicts stored blobs.",
        actions=["query", "list_blobs", "retrieve", "prune"],
    ),
]
RETRIEVE = Action.create("retrieve", tag="runs", blob_name="a.csv")
RETRIEVE_INPUT = {"action": "retrieve", "params": {"tag": "runs", "blob_name": "a.csv"}}


# -- fakes ----------------------------------------------------------------------
def claude_reply(name: str = "retriever", input: Any = None, *, tool_id: str = "toolu_01A09q90qw90lq917835lq9",
                 usage: tuple[int, int] = (1412, 61)) -> dict[str, Any]:
    """A Messages API response recorded from a tool-use call, with its tool call swapped."""
    reply = json.loads((DATA / "claude_tool_use.json").read_text())
    block = reply["content"][0]
    block["name"], block["id"] = name, tool_id
    if input is not None:
        block["input"] = copy.deepcopy(input)
    reply["usage"]["input_tokens"], reply["usage"]["output_tokens"] = usage
    return reply


def ollama_reply(answer: Any = None, *, counts: tuple[int, int] = (389, 34)) -> dict[str, Any]:
    """An /api/chat response recorded from llama3.1, with its answer swapped."""
    reply = json.loads((DATA / "ollama_chat.json").read_text())
    if answer is not None:
        reply["message"]["content"] = answer if isinstance(answer, str) else json.dumps(answer)
    reply["prompt_eval_count"], reply["eval_count"] = counts
    return reply


class Scripted:
    """A mock-transport handler answering from a script and keeping every request."""

    def __init__(self, http_module: Any, *script: Any) -> None:
        self.http = http_module
        self.script = list(script)
        self.requests: list[Any] = []

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        if not self.script:
            return self.http.Response(599, json={"error": "the test script ran out: unexpected call"})
        step = self.script.pop(0)
        if isinstance(step, type) and issubclass(step, Exception):
            raise step("scripted failure", request=request)
        if isinstance(step, tuple):
            status, body, headers = (*step, {})[:3]
            return self.http.Response(status, json=body, headers=headers)
        return self.http.Response(200, json=step)


def claude_router(*script: Any, **kwargs: Any) -> tuple[ClaudeRouter, Scripted]:
    fake = Scripted(sdk_httpx, *script)
    client = anthropic.Anthropic(
        api_key="test",
        base_url="http://testserver",
        http_client=sdk_httpx.Client(transport=sdk_httpx.MockTransport(fake)),
        max_retries=0,
    )
    return ClaudeRouter(client, **kwargs), fake


def ollama_router(*script: Any, **kwargs: Any) -> tuple[OllamaRouter, Scripted]:
    fake = Scripted(httpx, *script)
    client = httpx.Client(transport=httpx.MockTransport(fake))
    return OllamaRouter(http_client=client, **kwargs), fake


def same_decision(a: RouteDecision, b: RouteDecision) -> bool:
    keep = {"agent", "action", "backend", "tokens", "attempts"}
    return a.model_dump(include=keep) == b.model_dump(include=keep)
