"""Cassettes: an LLM answer recorded once is replayed identically offline, and validated again when replayed.

Both routers run against mock transports (tests/_router_fakes.py); cassette files live under tmp_path.
"""

from __future__ import annotations

import copy
import json

import pytest
from _router_fakes import AGENTS, claude_reply, claude_router, ollama_reply, ollama_router, same_decision

from agentfactory.agents.cassette import Cassette, request_key
from agentfactory.agents.claude_router import DEFAULT_MODEL, ClaudeRouter
from agentfactory.agents.routing import AgentCard
from agentfactory.core.errors import BackendError, ConfigError

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
