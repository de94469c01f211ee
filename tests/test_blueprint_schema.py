"""A blueprint file: its fields and defaults; each mistake is an error naming the file, the field and the fix.

No services: blueprint files are written under tmp_path.
"""

from __future__ import annotations

import pytest
from _blueprint_data import my_agent, write

from agentfactory.core.actions import ACTION_NAMES
from agentfactory.core.errors import BlueprintError
from agentfactory.factory import Blueprint, default_actions, dump_blueprint, load_blueprint, parse_blueprint

pytestmark = pytest.mark.usefixtures("clean_agent_types")


@pytest.mark.parametrize("agent_type", ["ingestor", "retriever", "coordinator", "iowarp", "llm", "acme.thirdparty"])
def test_actions_default_to_the_types(agent_type):
    bp = Blueprint(name="a", description="d", type=agent_type)
    assert bp.actions == default_actions(agent_type)
    assert bp.backend == "rule"
    assert bp.cache.ttl_s == 0 and bp.cache.capacity_mb == 512
    assert bp.store.memcached is None and bp.store.bridge is None
    assert default_actions("ingestor") == ["assimilate", "destroy"]
    assert default_actions("acme.thirdparty") == list(ACTION_NAMES)


def test_dump_and_parse_round_trip():
    bp = my_agent(
        backend="ollama",
        model="llama3.2",
        actions=["retrieve", "query"],
        store={"memcached": ["127.0.0.1:11211", "[::1]:11212"], "bridge": "tcp://127.0.0.1:5555"},
        cache={"ttl_s": 60},
        rewards={"retrieve_hit": 0.5, "failure": -1},
    )
    text = dump_blueprint(bp)
    assert parse_blueprint(text) == bp
    assert "capacity_mb" not in text  # defaults stay out of the file
    assert bp.rewards == {"retrieve_hit": 0.5, "failure": -1.0}


def test_single_memcached_node_may_be_written_as_a_string():
    bp = parse_blueprint("name: a\ndescription: d\ntype: iowarp\nstore: {memcached: 'cache1:11211'}\n")
    assert bp.store.memcached == ["cache1:11211"]


def test_name_defaults_to_the_file_name(tmp_path):
    path = write(tmp_path / "nameless.yaml", "description: d\ntype: ingestor\n")
    assert load_blueprint(path).name == "nameless"


@pytest.mark.parametrize(
    ("yaml_text", "field", "says"),
    [
        ("backend: gpt", "'backend'", "'gpt' is not one of rule, claude, ollama"),
        ("actions: [assimilate, fetch]", "'actions[1]'", "'fetch' is not one of assimilate"),
        ("actions: []", "'actions'", "at least one action"),
        ("actions: [query, query]", "'actions'", "query listed more than once"),
        ("cache: {ttl_s: -1}", "'cache.ttl_s'", "greater than or equal to 0"),
        ("cache: {capacity_mb: lots}", "'cache.capacity_mb'", "valid integer"),
        ("rewards: {query: yes}", "'rewards.query'", "valid number"),
        ("rewards: {query: .inf}", "'rewards.query'", "finite number"),
        ("rewards: {retrieve_hitt: 1.0}", "'rewards'", "key 'retrieve_hitt' is not one of"),
        ("store: {memcached: [localhost]}", "'store.memcached'", "'localhost' is not a host:port"),
        ("store: {memcached: []}", "'store.memcached'", "empty list"),
        ("store: {bridge: 'http://x:1'}", "'store.bridge'", "not a ZeroMQ endpoint"),
        ("store: {bridge: 'tcp://x'}", "'store.bridge'", "has no host:port"),
        ("routes_to: [ingestor_agent]", "'routes_to'", "only a coordinator routes"),
        ("model: ''", "'model'", "must not be empty"),
        ("type: 'not a type'", "'type'", "not a valid agent type"),
    ],
)
def test_bad_field_value_names_file_field_and_fix(tmp_path, yaml_text, field, says):
    base = {"name": "my", "description": "d", "type": "ingestor"}
    key = yaml_text.split(":")[0]
    lines = [f"{k}: {v}" for k, v in base.items() if k != key] + [yaml_text]
    path = write(tmp_path / "blueprints" / "my.yaml", "\n".join(lines) + "\n")
    with pytest.raises(BlueprintError) as info:
        load_blueprint(path)
    err = info.value
    assert err.message.startswith(f"{path}: field {field}: "), err.message
    assert says in err.message
    assert err.hint  # every error says what to do


def test_bad_backend_message_is_the_documented_one(tmp_path):
    path = write(tmp_path / "blueprints" / "my.yaml", "name: my\ndescription: d\ntype: llm\nbackend: gpt\n")
    with pytest.raises(BlueprintError) as info:
        load_blueprint(path)
    assert info.value.message == f"{path}: field 'backend': 'gpt' is not one of rule, claude, ollama"
    assert info.value.hint == "use one of rule, claude, ollama"


def test_close_value_gets_a_did_you_mean(tmp_path):
    path = write(tmp_path / "my.yaml", "name: my\ndescription: d\ntype: llm\nbackend: olama\n")
    with pytest.raises(BlueprintError, match="did you mean 'ollama'"):
        load_blueprint(path)


@pytest.mark.parametrize(
    ("yaml_text", "field", "guess"),
    [
        ("bakend: claude", "'bakend'", "'backend'"),
        ("descripton: typo", "'descripton'", "'description'"),
        ("store: {memcache: ['a:1']}", "'store.memcache'", "'memcached'"),
        ("cache: {ttl: 5}", "'cache.ttl'", "'ttl_s'"),
    ],
)
def test_unknown_field_gets_did_you_mean(tmp_path, yaml_text, field, guess):
    path = write(tmp_path / "my.yaml", f"name: my\ndescription: d\ntype: llm\n{yaml_text}\n")
    with pytest.raises(BlueprintError) as info:
        load_blueprint(path)
    assert f"{path}: field {field}: unknown field" in info.value.message
    assert info.value.hint.startswith(f"did you mean {guess}?")


def test_missing_required_field(tmp_path):
    path = write(tmp_path / "my.yaml", "name: my\ntype: llm\n")
    with pytest.raises(BlueprintError) as info:
        load_blueprint(path)
    assert info.value.message == f"{path}: field 'description': missing (required)"
    assert "add description:" in info.value.hint


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("name: my\ndescription: d\n  type: llm\n", ":3:7: invalid YAML"),
        ("name: my\nname: other\ndescription: d\ntype: llm\n", "duplicate key 'name'"),
        ("name: [unclosed\n", "invalid YAML"),
        ("- just\n- a list\n", "expected a mapping of fields, got list"),
        ("", "the file is empty"),
    ],
)
def test_bad_yaml_names_the_file(tmp_path, text, says):
    path = write(tmp_path / "my.yaml", text)
    with pytest.raises(BlueprintError) as info:
        load_blueprint(path)
    assert info.value.message.startswith(str(path))
    assert says in info.value.message
    assert info.value.hint


def test_unreadable_file_is_a_blueprint_error(tmp_path):
    with pytest.raises(BlueprintError, match="cannot read"):
        load_blueprint(tmp_path / "absent.yaml")
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(BlueprintError, match="not UTF-8"):
        load_blueprint(path)


def test_reward_table_and_blueprints_name_the_same_reward_keys():
    from agentfactory.core.vocabulary import REWARD_KEYS
    from agentfactory.rewards import RewardTable

    assert tuple(RewardTable.model_fields) == REWARD_KEYS


def test_a_blueprint_may_name_a_registered_router(tmp_path):
    """`backend:` takes what the router registry knows, not only the three built-ins."""
    from agentfactory.factory import register_router, unregister_router

    path = write(tmp_path / "my.yaml", "name: my\ndescription: d\ntype: llm\nbackend: echo_router\n")
    with pytest.raises(BlueprintError, match="'echo_router' is not one of rule, claude, ollama"):
        load_blueprint(path)
    register_router("echo_router", lambda **_: None)
    try:
        assert load_blueprint(path).backend == "echo_router"
    finally:
        unregister_router("echo_router")
