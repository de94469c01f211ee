"""LLM routing backends, offline: the real Anthropic SDK and httpx against local fakes.

Claude goes through the real `anthropic.Anthropic` client with a mock transport, so
what is asserted is what the SDK would put on the wire. Ollama goes through httpx,
once against a real HTTP server on 127.0.0.1. Nothing here reaches the network.
"""

from __future__ import annotations

import copy
import http.server
import json
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import anthropic
import anthropic._base_client
import httpx
import pytest

from agentfactory.agents.cassette import Cassette, request_key
from agentfactory.agents.claude_router import DEFAULT_MODEL, ClaudeRouter
from agentfactory.agents.ollama_router import OllamaRouter
from agentfactory.agents.routers import (
    make_router,
    register_router,
    router_names,
    unregister_router,
)
from agentfactory.agents.routing import (
    AgentCard,
    RouteDecision,
    Router,
    check_agents,
    validate_choice,
)
from agentfactory.core import Action, action_schema
from agentfactory.core.errors import (
    BackendError,
    ConfigError,
    InvalidAction,
    RoutingError,
)
from agentfactory.core.vocabulary import BACKEND_NAMES
from agentfactory.factory import BlueprintRegistry
from agentfactory.session import Session

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


# -- validate_choice --------------------------------------------------------------
def test_validate_choice_accepts_an_action_the_agent_declares():
    card, action = validate_choice("retriever", RETRIEVE_INPUT, AGENTS)
    assert card is AGENTS[1]
    assert action == RETRIEVE


def test_validate_choice_unknown_agent_lists_the_valid_ones():
    with pytest.raises(RoutingError) as err:
        validate_choice("archiver", {"action": "query", "params": {}}, AGENTS)
    assert "'archiver'" in str(err.value)
    assert "valid agents: ingestor, retriever" in str(err.value)


def test_validate_choice_names_the_agent_that_owns_the_action():
    with pytest.raises(InvalidAction) as err:
        validate_choice("ingestor", {"action": "query", "params": {"tag_pattern": "*"}}, AGENTS)
    assert "does not declare action 'query'" in str(err.value)
    assert "'query' belongs to retriever" in str(err.value)


def test_validate_choice_rejects_bad_params():
    with pytest.raises(InvalidAction) as err:
        validate_choice("retriever", {"action": "retrieve", "params": {"tag": "runs"}}, AGENTS)
    assert "blob_name" in str(err.value)


def test_agent_cards_refuse_unknown_actions_and_duplicate_names():
    with pytest.raises(ValueError, match="unknown action"):
        AgentCard(name="x", description="", actions=["teleport"])
    with pytest.raises(RoutingError, match="two agents are named 'ingestor'"):
        check_agents([AGENTS[0], AGENTS[0]])
    with pytest.raises(RoutingError, match="no agents"):
        check_agents([])


# -- Claude ---------------------------------------------------------------------------
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


# -- Ollama ------------------------------------------------------------------------
class _OllamaHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        server = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server.requests.append((self.path, body))
        status, reply, delay = server.script.pop(0)
        time.sleep(delay)
        data = json.dumps(reply).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def ollama_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OllamaHandler)
    server.daemon_threads, server.block_on_close = True, False  # never wait out a sleeping handler
    server.script, server.requests = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_ollama_routes_over_a_real_loopback_server(ollama_server):
    ollama_server.script.append((200, ollama_reply(), 0))
    host, port = ollama_server.server_address
    router = OllamaRouter(base_url=f"http://{host}:{port}", model="llama3.1")

    decision = router.route("read a.csv from runs", AGENTS)
    router.close()

    assert decision.agent == "retriever" and decision.action == RETRIEVE
    assert decision.backend == "ollama" and decision.attempts == 1
    assert decision.tokens == 389 + 34
    [(path, body)] = ollama_server.requests
    assert path == "/api/chat"
    assert body["model"] == "llama3.1" and body["stream"] is False
    assert body["format"] == {
        "type": "object",
        "properties": {
            "agent": {"type": "string", "enum": ["ingestor", "retriever"]},
            "action": {"type": "string", "enum": ["assimilate", "destroy", "query", "list_blobs", "retrieve", "prune"]},
            "params": {"type": "object"},
        },
        "required": ["agent", "action", "params"],
    }
    system, user = body["messages"]
    assert system["role"] == "system" and user == {"role": "user", "content": "read a.csv from runs"}
    assert "- ingestor: Brings data into the store" in system["content"]
    assert "assimilate(src: string, dst: string, format?: string)" in system["content"]
    assert "prune(tag: string, blob_names: list of strings)" in system["content"]
    assert body["options"]["temperature"] == 0


def test_ollama_timeout_over_a_real_loopback_server(ollama_server):
    ollama_server.script.append((200, ollama_reply(), 5.0))
    host, port = ollama_server.server_address
    router = OllamaRouter(base_url=f"http://{host}:{port}", timeout=0.2)
    started = time.perf_counter()
    with pytest.raises(BackendError, match=r"did not answer within 0\.2s"):
        router.route("read a.csv from runs", AGENTS)
    assert time.perf_counter() - started < 4  # cut short, not waited out
    router.close()


def test_ollama_not_running_is_a_backend_error():
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    router = OllamaRouter(base_url=f"http://127.0.0.1:{port}", timeout=5)
    with pytest.raises(BackendError, match="could not reach ollama") as err:
        router.route("read a.csv from runs", AGENTS)
    assert "ollama serve" in str(err.value)


def test_ollama_malformed_json_is_retried_with_the_error_as_a_follow_up():
    router, fake = ollama_router(ollama_reply('{"agent": "retriever", "action": '), ollama_reply(counts=(420, 30)))

    decision = router.route("read a.csv from runs", AGENTS)

    assert decision.attempts == 2 and decision.action == RETRIEVE
    assert decision.tokens == 389 + 34 + 420 + 30
    second = fake.bodies[1]["messages"]
    assert second[:2] == fake.bodies[0]["messages"]
    assert second[2] == {"role": "assistant", "content": '{"agent": "retriever", "action": '}
    assert second[3]["role"] == "user" and "not valid JSON" in second[3]["content"]


def test_ollama_wrong_twice_is_an_error_reporting_the_answers():
    wrong = {"agent": "ingestor", "action": "prune", "params": {"tag": "runs", "blob_names": ["a.csv"]}}
    router, fake = ollama_router(ollama_reply(wrong), ollama_reply("not json at all"))
    with pytest.raises(BackendError) as err:
        router.route("evict a.csv from the cache", AGENTS)
    text = str(err.value)
    assert "2 attempts" in text and "prune" in text and "not json at all" in text
    assert "'prune' belongs to retriever" in fake.bodies[1]["messages"][3]["content"]


def test_ollama_unknown_agent_twice_is_a_routing_error():
    wrong = {"agent": "archiver", "action": "query", "params": {}}
    router, _ = ollama_router(ollama_reply(wrong), ollama_reply(wrong))
    with pytest.raises(RoutingError, match="valid agents: ingestor, retriever"):
        router.route("what is cached?", AGENTS)


def test_ollama_server_error_is_a_backend_error():
    router, _ = ollama_router((500, {"error": "llama runner process has terminated: signal: killed"}))
    with pytest.raises(BackendError, match="HTTP 500: llama runner process has terminated"):
        router.route("read a.csv from runs", AGENTS)


def test_ollama_missing_model_says_to_pull_it():
    router, _ = ollama_router((404, {"error": "model 'llama9' not found"}), model="llama9")
    with pytest.raises(BackendError, match="HTTP 404") as err:
        router.route("read a.csv from runs", AGENTS)
    assert "ollama pull llama9" in str(err.value)


def test_ollama_reply_that_is_not_a_chat_response_is_a_backend_error():
    router, _ = ollama_router({"status": "ok"})
    with pytest.raises(BackendError, match="not a chat response"):
        router.route("read a.csv from runs", AGENTS)


def test_ollama_timeout_through_the_transport_is_a_backend_error():
    router, _ = ollama_router(httpx.ReadTimeout, timeout=3)
    with pytest.raises(BackendError, match="did not answer within 3s"):
        router.route("read a.csv from runs", AGENTS)


# -- cassettes -------------------------------------------------------------------------
COMMANDS = {
    "read a.csv from runs": claude_reply("retriever"),
    "ingest file::data/a.csv into runs": claude_reply(
        "ingestor", {"action": "assimilate", "params": {"src": "file::data/a.csv", "dst": "runs"}}, usage=(1300, 55)
    ),
}


def test_claude_cassette_records_once_and_replays_identically_offline(tmp_path, monkeypatch):
    path = tmp_path / "claude.jsonl"
    recorder, live = claude_router(*copy.deepcopy(list(COMMANDS.values())), cassette=Cassette(path, "record"))
    recorded = [recorder.route(cmd, AGENTS) for cmd in COMMANDS]
    assert len(live.requests) == 2 and len(path.read_text().splitlines()) == 2

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)  # a replay needs no key
    replayer, offline = claude_router(cassette=Cassette(path, "replay"))  # answers 599 to any call
    replayed = [replayer.route(cmd, AGENTS) for cmd in COMMANDS]
    keyless = ClaudeRouter(cassette=Cassette(path, "replay")).route("read a.csv from runs", AGENTS)

    assert offline.requests == []
    for before, after in zip(recorded, replayed):
        assert same_decision(before, after)
        assert after.replayed and not before.replayed
        assert after.latency_ms >= 0
    assert replayed[1].tokens == 1300 + 55
    assert same_decision(keyless, recorded[0])


def test_ollama_cassette_records_once_and_replays_identically_offline(tmp_path):
    path = tmp_path / "ollama.jsonl"
    recorder, _ = ollama_router(ollama_reply("oops"), ollama_reply(), cassette=Cassette(path, "record"))
    recorded = recorder.route("read a.csv from runs", AGENTS)

    replayer, offline = ollama_router(cassette=Cassette(path, "replay"))
    replayed = replayer.route("read a.csv from runs", AGENTS)

    assert offline.requests == []
    assert same_decision(recorded, replayed) and replayed.attempts == 2


def test_replay_of_an_unseen_request_fails_without_a_live_call(tmp_path):
    path = tmp_path / "claude.jsonl"
    recorder, _ = claude_router(claude_reply(), cassette=Cassette(path, "record"))
    recorder.route("read a.csv from runs", AGENTS)

    replayer, offline = claude_router(claude_reply(), cassette=Cassette(path, "replay"))
    with pytest.raises(BackendError, match="no cassette entry for claude/.* command 'read b.csv from runs'"):
        replayer.route("read b.csv from runs", AGENTS)
    with pytest.raises(BackendError, match="no cassette entry"):  # other agents: another request
        replayer.route("read a.csv from runs", AGENTS[1:])
    assert offline.requests == []

    with pytest.raises(BackendError, match="does not exist"):
        claude_router(cassette=Cassette(tmp_path / "missing.jsonl", "replay"))[0].route("x", AGENTS)


def test_auto_cassette_calls_live_once_then_replays(tmp_path):
    path = tmp_path / "auto.jsonl"
    router, fake = ollama_router(ollama_reply(), cassette=Cassette(path, "auto"))
    first = router.route("read a.csv from runs", AGENTS)
    second = router.route("read a.csv from runs", AGENTS)
    assert len(fake.requests) == 1
    assert not first.replayed and second.replayed and same_decision(first, second)

    again, fake2 = ollama_router(cassette=Cassette(path, "auto"))  # a fresh process reads the file
    assert again.route("read a.csv from runs", AGENTS).replayed and fake2.requests == []


def test_cassette_survives_a_write_cut_short(tmp_path):
    path = tmp_path / "crash.jsonl"
    router, _ = claude_router(*copy.deepcopy(list(COMMANDS.values())), cassette=Cassette(path, "record"))
    for cmd in COMMANDS:
        router.route(cmd, AGENTS)
    with open(path, "ab") as f:  # what a crash in the middle of an append leaves behind
        f.write(b'{"key": "0123abc", "agent": "retri')

    cassette = Cassette(path, "auto")
    assert len(cassette) == 2 and cassette.skipped == 1
    destroy = claude_reply("ingestor", {"action": "destroy", "params": {"tags": ["old"]}})
    router, fake = claude_router(destroy, cassette=cassette)
    router.route("destroy tag old", AGENTS)
    for cmd in COMMANDS:
        assert router.route(cmd, AGENTS).replayed
    assert len(fake.requests) == 1

    reloaded = Cassette(path, "replay")
    assert len(reloaded) == 3 and reloaded.skipped == 1
    assert reloaded.lookup(request_key("claude", DEFAULT_MODEL, "destroy tag old", AGENTS))["action"] == {
        "action": "destroy", "params": {"tags": ["old"]}
    }


def test_replayed_entry_is_validated_again(tmp_path):
    path = tmp_path / "stale.jsonl"
    router, _ = claude_router(claude_reply(), cassette=Cassette(path, "record"))
    router.route("read a.csv from runs", AGENTS)
    entry = json.loads(path.read_text())
    entry["action"]["params"].pop("blob_name")  # as if the schema had changed since recording
    path.write_text(json.dumps(entry) + "\n")

    with pytest.raises(BackendError, match="no longer validates.*blob_name"):
        claude_router(cassette=Cassette(path, "replay"))[0].route("read a.csv from runs", AGENTS)


def test_request_key_is_stable_and_covers_backend_model_command_and_agents():
    key = request_key("claude", "m", "read a.csv", AGENTS)
    assert key == request_key("claude", "m", "read a.csv", [AgentCard(**c.model_dump()) for c in AGENTS])
    assert len(key) == 64 and int(key, 16) >= 0
    others = {
        request_key("ollama", "m", "read a.csv", AGENTS),
        request_key("claude", "m2", "read a.csv", AGENTS),
        request_key("claude", "m", "read b.csv", AGENTS),
        request_key("claude", "m", "read a.csv", AGENTS[:1]),
    }
    assert key not in others and len(others) == 4


def test_cassette_mode_is_checked(tmp_path):
    with pytest.raises(ConfigError, match="unknown cassette mode 'replya'"):
        Cassette(tmp_path / "c.jsonl", "replya")  # type: ignore[arg-type]


# -- the router registry ------------------------------------------------------------
class EchoRouter:
    """A third-party router: routes everything to the first agent's first action it can fill."""

    backend = "echo"

    def __init__(self, *, cassette: Any = None, model: str = "echo-1") -> None:
        self.cassette, self.model = cassette, model

    def route(self, command: str, agents: Any) -> RouteDecision:
        card = check_agents(agents)[-1]
        return RouteDecision(agent=card.name, action=Action.create("query", tag_pattern=command),
                             backend=self.backend, latency_ms=0.0)


@pytest.fixture
def echo_registered():
    register_router("echo", EchoRouter)
    yield
    unregister_router("echo")


def test_a_router_registered_by_name_is_built_by_name_everywhere_a_backend_is_named(echo_registered, tmp_path):
    router = make_router("echo", model="echo-2")
    assert isinstance(router, EchoRouter) and router.model == "echo-2" and router.cassette is None
    assert router_names()[:3] == BACKEND_NAMES and "echo" in router_names()

    session = Session(registry=BlueprintRegistry(user_dir=tmp_path / "blueprints"), backend="echo")
    decision = session.route("docs*")  # routing alone: no services
    assert (decision.backend, decision.action.action) == ("echo", "query")


def test_an_unknown_backend_names_the_known_ones_and_the_closest():
    with pytest.raises(ConfigError) as info:
        make_router("claud")
    assert info.value.message == "unknown backend 'claud'"
    assert "did you mean 'claude'?" in info.value.hint
    assert all(name in info.value.hint for name in BACKEND_NAMES) and "agentfactory.routers" in info.value.hint


def test_unregistering_a_built_in_override_brings_the_built_in_back():
    register_router("rule", EchoRouter)
    try:
        assert isinstance(make_router("rule"), EchoRouter)
        with pytest.raises(ConfigError, match="already registered"):
            register_router("rule", lambda **_: None, replace=False)
    finally:
        unregister_router("rule")
    assert make_router("rule").backend == "rule"


def test_a_router_from_an_entry_point_is_built_by_name(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "fake_routers-0.1.dist-info").mkdir(parents=True)
    (site / "fake_routers_mod.py").write_text(
        "class Mistral:\n    backend = 'mistral'\n    def __init__(self, **options):\n        self.options = options\n")
    (site / "fake_routers-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fake-routers\nVersion: 0.1\n")
    (site / "fake_routers-0.1.dist-info" / "entry_points.txt").write_text(
        "[agentfactory.routers]\nmistral = fake_routers_mod:Mistral\nbroken = fake_routers_missing:Nothing\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "fake_routers_mod", raising=False)

    assert {"mistral", "broken"} <= set(router_names())
    assert make_router("mistral", model="large").options == {"cassette": None, "model": "large"}
    with pytest.raises(ConfigError, match="failed to load"):
        make_router("broken")


def test_naming_the_rule_backend_loads_no_llm_sdk():
    script = (
        "import sys\n"
        "from agentfactory.agents.routers import make_router\n"
        "make_router('rule')\n"
        "print(sorted(m for m in ('anthropic', 'agentfactory.agents.claude_router',"
        " 'agentfactory.agents.ollama_router') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
