"""The `agentfactory` command as a user types it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentfactory.demo import write_sample_data

EXAMPLES = [json.loads(line) for line in (Path(__file__).parent / "data" / "commands.jsonl").read_text().splitlines()]


def cli(*args, stdin=None, env=None, cwd=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "agentfactory.cli", *args], input=stdin, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, cwd=cwd, timeout=timeout)


def test_parse_json_answers_every_public_example(tmp_path):
    out = cli("parse", "--json", *[c["command"] for c in EXAMPLES], env={"AGENTFACTORY_BLUEPRINTS": str(tmp_path)})
    assert any(c["action"] is None for c in EXAMPLES)
    assert out.returncode == 1, out.stderr  # some examples do not parse, on purpose
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == len(EXAMPLES)
    for row, case in zip(rows, EXAMPLES):
        assert row["command"] == case["command"]
        if case["action"] is None:
            assert "error" in row and "agent" not in row
        else:
            assert (row["agent"], row["action"], row["params"]) == (case["agent"], case["action"], case["params"])


def test_blueprint_crud_from_the_command_line(tmp_path):
    env = {"AGENTFACTORY_BLUEPRINTS": str(tmp_path)}
    assert cli("create", "scout_agent", "--type", "retriever", env=env).returncode == 0
    assert "scout_agent" in cli("list", env=env).stdout
    assert "type: retriever" in cli("show", "scout_agent", env=env).stdout
    refused = cli("delete", "ingestor_agent", env=env)
    assert refused.returncode == 2 and "built-in" in refused.stderr and "Traceback" not in refused.stderr
    assert cli("delete", "scout_agent", env=env).returncode == 0
    assert "scout_agent" not in cli("list", env=env).stdout


@pytest.mark.services
def test_run_reads_commands_from_stdin_and_keeps_its_own_words(services, tmp_path, tag):
    write_sample_data(tmp_path)
    env = {"AGENTFACTORY_HOME": str(services.home), "AGENTFACTORY_CACHE": "memcached",
           "AGENTFACTORY_BLUEPRINTS": str(tmp_path / "bp")}
    lines = [f"load file::data/sample_docs/notes.txt into {tag}", f"get notes.txt from {tag}",
             "delete old_runs", "list", f"destroy {tag}", "quit", f"get notes.txt from {tag}"]
    out = cli("run", "--json", stdin="\n".join(lines) + "\n", env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    steps = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert [s["action"] for s in steps] == ["assimilate", "retrieve", "none", "destroy"]  # quit stopped it
    got = steps[1]
    assert got["cache_hit"] is True and got["reward"] == pytest.approx(0.3)
    data = (tmp_path / "data/sample_docs/notes.txt").read_bytes()
    assert (got["retrieved_bytes"], got["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    assert steps[2]["error"] == "parse_error"  # sent to the agent, which refused to guess
    assert "ingestor" in out.stdout and "retriever" in out.stdout  # `list` answered by the prompt
    assert "ingestor_agent" in cli("list", env=env).stdout  # and no blueprint was deleted


@pytest.mark.services
def test_demo_prints_steps_hit_rate_and_reward_total(services):
    out = cli("demo", env={"AGENTFACTORY_HOME": str(services.home), "AGENTFACTORY_CACHE": "memcached"})
    assert out.returncode == 0, out.stderr
    assert "hit rate 67%" in out.stdout and "reward total +0.70" in out.stdout
    assert out.stdout.count("tag_not_found") == 1  # the last read is of the destroyed tag


@pytest.mark.services
def test_run_shows_the_hint_of_a_failed_step(services, tmp_path, tag):
    """Issue 9, item 11: what the library says to do reaches the terminal."""
    env = {"AGENTFACTORY_HOME": str(services.home), "AGENTFACTORY_CACHE": "memcached",
           "AGENTFACTORY_BLUEPRINTS": str(tmp_path / "bp")}
    out = cli("run", stdin=f"load file::/etc/hostname into {tag}\n", env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "unsafe_path" in out.stdout and "allowed roots:" in out.stdout and "add a root" in out.stdout
    js = cli("run", "--json", stdin=f"load file::/etc/hostname into {tag}\n", env=env, cwd=tmp_path)
    step = json.loads(next(line for line in js.stdout.splitlines() if line.startswith("{")))
    assert "allowed roots:" in step["message"]


def test_parse_exit_code_says_whether_every_command_parsed(tmp_path):
    """Issue 9, item 14: `parse --json` exits non-zero on a command it cannot route, as text mode does."""
    env = {"AGENTFACTORY_BLUEPRINTS": str(tmp_path)}
    good = ["get a.md from docs", "destroy docs"]
    for mode in ([], ["--json"]):
        assert cli("parse", *mode, *good, env=env).returncode == 0
        bad = cli("parse", *mode, *good, "make me a sandwich", env=env)
        assert bad.returncode == 1
        assert len(bad.stdout.splitlines()) == 3  # every command still answered
    long = "n" * 10_000
    out = cli("parse", "--json", f"get {long} from docs", f"make {long} a sandwich", env=env)
    error = json.loads(out.stdout.splitlines()[1])["error"]
    assert "…" in error and len(error) < 500, error[:200]  # the message, not the name, is what to read
