"""Routing through the coordinator: public examples, discovery, refusals, cassettes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import anthropic
import pytest

from agentfactory.agents.cassette import Cassette
from agentfactory.agents.claude_router import ClaudeRouter
from agentfactory.core.errors import AgentFactoryError
from agentfactory.demo import write_sample_data
from agentfactory.factory import BlueprintRegistry
from agentfactory.session import Session
from agentfactory.sources import DataRoots

EXAMPLES = [json.loads(line) for line in (Path(__file__).parent / "data" / "commands.jsonl").read_text().splitlines()]
sdk_httpx = getattr(anthropic._base_client, "httpx2", None) or anthropic._base_client.httpx


@pytest.fixture
def registry(tmp_path):
    return BlueprintRegistry(user_dir=tmp_path / "blueprints")


@pytest.mark.parametrize("case", EXAMPLES, ids=[c["command"] or "<empty>" for c in EXAMPLES])
def test_coordinator_from_shipped_blueprints_routes_every_public_example(registry, case):
    session = Session(registry=registry)  # routing alone never starts services
    if case["action"] is None:
        with pytest.raises(AgentFactoryError):
            session.route(case["command"])
        return
    decision = session.route(case["command"])
    assert (decision.agent, decision.action.action, decision.action.params_dict()) == (
        case["agent"], case["action"], case["params"])


def test_a_blueprint_dropped_into_the_user_folder_becomes_routable(registry, tmp_path):
    (tmp_path / "blueprints").mkdir()
    (tmp_path / "blueprints" / "archivist_agent.yaml").write_text(
        "name: archivist_agent\n"
        "description: Lists what is kept persistently.\n"
        "type: retriever\n"
        "actions: [list_blobs]\n"
    )
    session = Session(registry=registry)
    assert "archivist" in [c.name for c in session.coordinator().cards]
    assert session.route("list blobs in docs").agent == "archivist"  # the most specialised owner
    assert session.route("get a.md from docs").agent == "retriever"


def test_a_specialist_refuses_what_it_does_not_own(registry):
    session = Session(registry=registry, agent="retriever_agent")
    with pytest.raises(AgentFactoryError, match="assimilate"):
        session.route("load file::a.csv into docs")


def claude_answers(*answers):
    """A fake Messages API returning tool_use blocks for (agent, action, params)."""
    calls = []

    def handler(request):
        calls.append(json.loads(request.content))
        agent, action, params = answers[len(calls) - 1]
        return sdk_httpx.Response(200, json={
            "id": f"msg_{len(calls)}", "type": "message", "role": "assistant", "model": "claude-test",
            "content": [{"type": "tool_use", "id": f"toolu_{len(calls)}", "name": agent,
                         "input": {"action": action, "params": params}}],
            "stop_reason": "tool_use", "stop_sequence": None,
            "usage": {"input_tokens": 900, "output_tokens": 40},
        })

    client = anthropic.Anthropic(api_key="test", base_url="http://testserver", max_retries=0,
                                 http_client=sdk_httpx.Client(transport=sdk_httpx.MockTransport(handler)))
    return client, calls


@pytest.mark.services
def test_a_recorded_cassette_replays_to_an_identical_trajectory(services, registry, tmp_path, tag, monkeypatch):
    write_sample_data(tmp_path)
    monkeypatch.chdir(tmp_path)
    commands = [f"please keep the notes file in {tag}", f"read notes.txt back from {tag}", f"forget everything in {tag}"]
    answers = [
        ("ingestor", "assimilate", {"src": "file::data/sample_docs/notes.txt", "dst": tag}),
        ("retriever", "retrieve", {"tag": tag, "blob_name": "notes.txt"}),
        ("ingestor", "destroy", {"tags": [tag]}),
    ]
    tape = tmp_path / "routes.jsonl"
    client, calls = claude_answers(*answers)

    def run(router):
        s = Session(registry=registry, settings=services.settings, services=services, router=router,
                    roots=DataRoots([tmp_path], cwd=tmp_path))
        for c in commands:
            s.run(c)
        return s.trajectory.to_frame()

    recorded = run(ClaudeRouter(client, cassette=Cassette(tape, mode="record")))
    assert len(calls) == 3 and recorded.ok.all()
    assert list(recorded.tokens) == [940, 940, 940]
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    replayed = run(ClaudeRouter(cassette=Cassette(tape, mode="replay")))  # no client, no key, no network
    cols = ["agent", "action", "params", "ok", "reward", "cache_hit"]
    assert replayed[cols].equals(recorded[cols])
    assert len(calls) == 3
    with pytest.raises(AgentFactoryError, match="no cassette entry"):
        Session(registry=registry, router=ClaudeRouter(cassette=Cassette(tape, mode="replay"))).route("an unseen one")


@pytest.mark.services
def test_an_agent_keeps_its_own_endpoints_and_ttl_from_its_blueprint(services, registry, tmp_path, tag,
                                                                      private_memcached, monkeypatch):
    from pymemcache.client.base import Client

    _, server = private_memcached
    (tmp_path / "blueprints").mkdir()
    (tmp_path / "blueprints" / "edge_agent.yaml").write_text(
        f"name: edge_agent\ndescription: Reads through its own memcached.\ntype: retriever\n"
        f"store: {{memcached: ['{server}']}}\n")
    (tmp_path / "blueprints" / "brief_agent.yaml").write_text(
        "name: brief_agent\ndescription: Caches for one second.\ntype: retriever\ncache: {ttl_s: 1}\n")
    write_sample_data(tmp_path)
    monkeypatch.chdir(tmp_path)
    opts = dict(registry=registry, settings=services.settings, services=services, roots=DataRoots([tmp_path], cwd=tmp_path))
    Session(**opts).run(f"load file::data/sample_docs/notes.txt into {tag}")  # cached in the managed memcached

    edge = Session(agent="edge_agent", **opts)
    assert [edge.run(f"get notes.txt from {tag}").cache_hit for _ in range(2)] == [False, True]
    host, port = server.split(":")
    key = edge._store_for(registry.get("edge_agent")).cache.key(tag, "notes.txt")
    assert Client((host, int(port))).get(key) is not None  # the entry lives in the agent's own memcached

    brief = Session(agent="brief_agent", **opts)
    brief.run(f"prune notes.txt from {tag}")
    assert [brief.run(f"get notes.txt from {tag}").cache_hit for _ in range(2)] == [False, True]
    time.sleep(2.1)
    assert brief.run(f"get notes.txt from {tag}").cache_hit is False  # expired after its TTL


def test_a_command_nobody_can_route_is_the_coordinators_own_failed_step(registry, tmp_path):
    """Recorded on the coordinator's env with its blueprint's rewards, not on whichever specialist comes first."""
    (tmp_path / "blueprints").mkdir()
    (tmp_path / "blueprints" / "aardvark_agent.yaml").write_text(
        "name: aardvark_agent\ndescription: Lists what is kept.\ntype: retriever\nactions: [list_blobs]\n"
        "rewards: {failure: -9.0}\n")
    (tmp_path / "blueprints" / "strict_agent.yaml").write_text(
        "name: strict_agent\ndescription: Routes, and counts a command it cannot route as costly.\n"
        "type: coordinator\nrewards: {failure: -2.0}\n")
    coordinator = Session(registry=registry, agent="strict_agent").coordinator()
    assert next(iter(coordinator.agents)) == "aardvark"

    decision, (_obs, reward, _term, _trunc, info) = coordinator.run("xyzzy plugh")  # never reaches a store
    assert decision is None and reward == -2.0 and not info["observation"].ok
    assert coordinator.env_for(None) is coordinator.env and coordinator.env.last_step == 0
    assert all(agent.env.last_step is None for agent in coordinator.agents.values())
    row = coordinator.env.trajectory.to_frame().iloc[0]
    assert (row.agent, row.command, row.backend) == ("coordinator", "xyzzy plugh", "rule")
