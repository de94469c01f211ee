"""The Ollama router: a structured /api/chat request, retries on bad answers, errors that say what to run.

httpx against a mock transport (tests/_router_fakes.py), and once against a real HTTP
server on 127.0.0.1; nothing reaches the network.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from typing import Any

import httpx
import pytest
from _router_fakes import AGENTS, RETRIEVE, ollama_reply, ollama_router

from agentfactory.agents.ollama_router import OllamaRouter
from agentfactory.core.errors import BackendError, RoutingError


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
