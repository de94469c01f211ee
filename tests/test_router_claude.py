"""The Claude router, offline: one forced tool call per command, corrections sent back, HTTP errors made readable.

The real Anthropic SDK runs against a mock transport (tests/_router_fakes.py); nothing reaches the network.
"""

from __future__ import annotations

import json
import warnings

import pytest
from _router_fakes import AGENTS, RETRIEVE, RETRIEVE_INPUT, claude_reply, claude_router, sdk_httpx

from agentfactory.agents.claude_router import DEFAULT_MODEL, ClaudeRouter
from agentfactory.agents.routing import Router
from agentfactory.core import Action, action_schema
from agentfactory.core.errors import BackendError, RoutingError


def test_claude_picks_agent_and_fills_action_in_one_forced_tool_call():
    router, fake = claude_router(claude_reply("retriever", RETRIEVE_INPUT))

    decision = router.route("read a.csv from runs", AGENTS)

    assert isinstance(router, Router)
    assert decision.agent == "retriever"
    assert decision.action == RETRIEVE
    assert decision.backend == "claude"
    assert decision.tokens == 1412 + 61
    assert decision.attempts == 1 and not decision.replayed
    assert decision.latency_ms > 0

    [request] = fake.requests
    assert request.method == "POST" and request.url.path == "/v1/messages"
    body = fake.bodies[0]
    assert body["model"] == DEFAULT_MODEL
    assert body["messages"] == [{"role": "user", "content": "read a.csv from runs"}]
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert [t["name"] for t in body["tools"]] == ["ingestor", "retriever"]
    for tool, card in zip(body["tools"], AGENTS):
        assert tool["input_schema"] == {
            "type": "object",
            "properties": {
                "action": {"type": "string", "enum": card.actions, "description": "the action to take"},
                "params": {"anyOf": [action_schema(a) for a in card.actions], "description": "parameters of that action"},
            },
            "required": ["action", "params"],
            "additionalProperties": False,
        }
        assert card.description in tool["description"]
        assert all(a in tool["description"] for a in card.actions)
    assert "exactly one tool" in body["system"]


def test_claude_default_model_is_one_the_sdk_does_not_deprecate():
    router, fake = claude_router(claude_reply())
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        router.route("read a.csv from runs", AGENTS)
    assert fake.bodies[0]["model"] == DEFAULT_MODEL


def test_claude_model_is_configurable_and_params_sent_as_a_string_are_accepted():
    # Models sometimes wrap a nested object as a JSON string; that is the same answer.
    router, fake = claude_router(
        claude_reply("ingestor", {"action": "destroy", "params": json.dumps({"tags": ["old"]})}), model="claude-haiku-4-5"
    )
    decision = router.route("delete the old tag", AGENTS)
    assert decision.action == Action.create("destroy", tags=["old"])
    assert fake.bodies[0]["model"] == "claude-haiku-4-5"


def test_claude_unknown_agent_is_corrected_on_retry_with_an_error_tool_result():
    router, fake = claude_router(
        claude_reply("archiver", RETRIEVE_INPUT, tool_id="toolu_bad"),
        claude_reply("retriever", usage=(1500, 40)),
    )

    decision = router.route("read a.csv from runs", AGENTS)

    assert decision.agent == "retriever" and decision.action == RETRIEVE
    assert decision.attempts == 2
    assert decision.tokens == 1412 + 61 + 1500 + 40
    first, second = fake.bodies
    assert second["tools"] == first["tools"] and second["tool_choice"] == first["tool_choice"]
    user, assistant, feedback = second["messages"]
    assert user == first["messages"][0]
    assert assistant["role"] == "assistant"
    assert assistant["content"] == [
        {"type": "tool_use", "id": "toolu_bad", "name": "archiver",
         "input": RETRIEVE_INPUT}
    ]
    [result] = feedback["content"]
    assert feedback["role"] == "user"
    assert result["type"] == "tool_result" and result["tool_use_id"] == "toolu_bad" and result["is_error"] is True
    assert "unknown agent 'archiver'" in result["content"]
    assert "ingestor, retriever" in result["content"]


def test_claude_wrong_agent_twice_is_a_routing_error_reporting_both_answers():
    router, fake = claude_router(
        claude_reply("archiver", RETRIEVE_INPUT),
        claude_reply("librarian", {"action": "query", "params": {}}),
    )
    with pytest.raises(RoutingError) as err:
        router.route("read a.csv from runs", AGENTS)
    text = str(err.value)
    assert "2 attempts" in text and "archiver" in text and "librarian" in text
    assert "valid agents: ingestor, retriever" in text
    assert len(fake.requests) == 2


def test_claude_invalid_params_are_sent_back_and_fixed():
    router, fake = claude_router(
        claude_reply("retriever", {"action": "retrieve", "params": {"tag": "runs"}}),
        claude_reply("retriever"),
    )
    decision = router.route("read a.csv from runs", AGENTS)
    assert decision.attempts == 2 and decision.action == RETRIEVE
    feedback = fake.bodies[1]["messages"][2]["content"][0]
    assert feedback["is_error"] is True and "blob_name" in feedback["content"]


def test_claude_action_of_another_agent_twice_is_an_error_naming_the_owner():
    wrong = {"action": "query", "params": {"tag_pattern": "run*"}}
    router, fake = claude_router(claude_reply("ingestor", wrong), claude_reply("ingestor", wrong))
    with pytest.raises(BackendError) as err:
        router.route("which run tags are cached?", AGENTS)
    assert "ingestor" in str(err.value) and "'query' belongs to retriever" in str(err.value)
    assert "belongs to retriever" in fake.bodies[1]["messages"][2]["content"][0]["content"]


def test_claude_answer_without_tool_call_is_a_backend_error():
    reply = claude_reply()
    reply["content"] = [{"type": "text", "text": "I am not sure what you mean"}]
    reply["stop_reason"] = "end_turn"
    router, _ = claude_router(reply)
    with pytest.raises(BackendError, match="without choosing an agent.*end_turn"):
        router.route("hmm", AGENTS)


@pytest.mark.parametrize(
    ("status", "error_type", "message", "headers", "expected"),
    [
        (429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", {"retry-after": "7"},
         ["rate limited", "HTTP 429", "per-minute rate limit", "wait 7s"]),
        (500, "api_error", "Internal server error", {},
         ["Anthropic API failed", "HTTP 500", "Internal server error", "rule backend"]),
        (529, "overloaded_error", "Overloaded", {}, ["HTTP 529", "Overloaded"]),
        (401, "authentication_error", "invalid x-api-key", {}, ["rejected the API key", "HTTP 401", "ANTHROPIC_API_KEY"]),
    ],
)
def test_claude_http_errors_become_readable_backend_errors(status, error_type, message, headers, expected):
    body = {"type": "error", "error": {"type": error_type, "message": message}}
    router, fake = claude_router((status, body, headers))
    with pytest.raises(BackendError) as err:
        router.route("read a.csv from runs", AGENTS)
    for part in expected:
        assert part in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no SDK traceback chained
    assert len(fake.requests) == 1


def test_claude_timeout_is_a_backend_error():
    router, _ = claude_router(sdk_httpx.ReadTimeout)
    with pytest.raises(BackendError, match="did not answer") as err:
        router.route("read a.csv from runs", AGENTS)
    assert "timeout=" in str(err.value)


def test_claude_unreachable_api_is_a_backend_error():
    router, _ = claude_router(sdk_httpx.ConnectError)
    with pytest.raises(BackendError, match="could not reach the Anthropic API at http://testserver"):
        router.route("read a.csv from runs", AGENTS)


def test_claude_without_api_key_says_how_to_fix_it(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "a-token-that-must-be-ignored")
    with pytest.raises(BackendError) as err:
        ClaudeRouter()
    assert "ANTHROPIC_API_KEY is not set" in str(err.value)
    assert "rule backend" in str(err.value)


def test_claude_builds_its_client_from_the_api_key_alone(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-from-env")
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "a-token-that-must-be-ignored")
    router = ClaudeRouter(timeout=12, max_retries=1)
    assert router.client.api_key == "sk-from-env"
    assert router.client.auth_token is None
    assert router.client.max_retries == 1
    assert router.client.timeout == 12
    router.close()
