"""Blueprints, the registry and agent-type discovery, as a user meets them.

No services: the user folder is `tmp_path`, entry points come from a fake
distribution put on sys.path.
"""

from __future__ import annotations

import os
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from agentfactory.core.actions import ACTION_NAMES
from agentfactory.core.errors import BlueprintError
from agentfactory.factory import (
    Blueprint,
    BlueprintRegistry,
    agent_types,
    builtin_blueprint_dir,
    default_actions,
    dump_blueprint,
    get_agent_type,
    load_blueprint,
    parse_blueprint,
    register_agent_type,
    write_blueprint,
)
from agentfactory.factory import discovery

BUILTINS = {"claude_agent", "coordinator_agent", "ingestor_agent", "iowarp_agent", "llm_agent", "retriever_agent"}


@pytest.fixture
def reg(tmp_path: Path) -> BlueprintRegistry:
    return BlueprintRegistry(tmp_path / "blueprints")


@pytest.fixture(autouse=True)
def _clean_agent_types(monkeypatch):
    # In-process registrations are global state: each test starts from none.
    monkeypatch.setattr(discovery.AGENT_TYPES, "_registered", {})


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def my_agent(**changes) -> Blueprint:
    data = {"name": "my_agent", "description": "Summarizes tags", "type": "retriever", **changes}
    return Blueprint.model_validate(data)


# -- built-ins -----------------------------------------------------------------
def test_builtins_load_and_validate(reg):
    assert set(reg.names()) == BUILTINS
    assert reg.problems == []
    for name in BUILTINS:
        path = reg.source(name)
        assert path.parent == builtin_blueprint_dir()
        assert load_blueprint(path, match_filename=True) == reg.get(name)
        assert reg.is_builtin(name) and not reg.is_shadowed(name)


@pytest.mark.parametrize(
    ("name", "type_", "backend", "actions"),
    [
        ("iowarp_agent", {"iowarp"}, "rule", list(ACTION_NAMES)),
        ("ingestor_agent", {"ingestor"}, "rule", ["assimilate", "destroy"]),
        ("retriever_agent", {"retriever"}, "rule", ["query", "list_blobs", "retrieve", "prune"]),
        ("coordinator_agent", {"coordinator"}, "rule", list(ACTION_NAMES)),
        ("llm_agent", {"llm"}, "ollama", list(ACTION_NAMES)),
        ("claude_agent", {"coordinator", "llm"}, "claude", list(ACTION_NAMES)),
    ],
)
def test_builtin_type_backend_and_actions(reg, name, type_, backend, actions):
    bp = reg.get(name)
    assert bp.type in type_
    assert bp.backend == backend
    assert bp.actions == actions
    assert all(bp.owns(a) for a in actions)


def test_builtin_descriptions_tell_agents_apart(reg):
    descriptions = [bp.description for bp in reg.list()]
    assert all(len(d) > 40 for d in descriptions)
    assert len(set(descriptions)) == len(descriptions)
    assert "deletes whole tags" in reg.get("ingestor_agent").description


def test_the_two_halves_cover_every_action_exactly_once(reg):
    owned = reg.get("ingestor_agent").actions + reg.get("retriever_agent").actions
    assert sorted(owned) == sorted(ACTION_NAMES)


# -- schema --------------------------------------------------------------------
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


# -- registry: CRUD, persisted -------------------------------------------------
def test_create_persists_and_refuses_duplicates(reg):
    path = reg.create(my_agent())
    assert path == reg.user_dir / "my_agent.yaml" and path.is_file()
    again = BlueprintRegistry(reg.user_dir)
    assert again.get("my_agent") == my_agent()
    assert not again.is_builtin("my_agent")
    with pytest.raises(BlueprintError, match="already a blueprint") as info:
        again.create(my_agent(description="other"))
    assert "overwrite=True" in info.value.hint
    with pytest.raises(BlueprintError, match="already a built-in"):
        again.create(my_agent(name="ingestor_agent"))
    again.create(my_agent(description="other"), overwrite=True)
    assert BlueprintRegistry(reg.user_dir).get("my_agent").description == "other"


def test_create_from_a_mapping_validates_it(reg):
    reg.create({"name": "m", "description": "d", "type": "ingestor"})
    assert reg.get("m").actions == ["assimilate", "destroy"]
    with pytest.raises(BlueprintError, match="did you mean 'backend'"):
        reg.create({"name": "n", "description": "d", "type": "ingestor", "bakend": "rule"})
    assert "n" not in reg


def test_update_persists_merges_and_validates(reg):
    reg.create(my_agent(cache={"ttl_s": 10, "capacity_mb": 64}, rewards={"query": 0.2, "prune": 0.1}))
    bp = reg.update("my_agent", backend="claude", cache={"ttl_s": 60}, rewards={"prune": None, "destroy": 0.3})
    assert bp.backend == "claude"
    assert (bp.cache.ttl_s, bp.cache.capacity_mb) == (60, 64)
    assert bp.rewards == {"query": 0.2, "destroy": 0.3}
    assert BlueprintRegistry(reg.user_dir).get("my_agent") == bp

    before = reg.source("my_agent").read_text()
    with pytest.raises(BlueprintError) as info:
        reg.update("my_agent", bakend="ollama")
    assert "update of blueprint 'my_agent'" in info.value.message and "did you mean 'backend'" in info.value.hint
    with pytest.raises(BlueprintError, match="'gpt' is not one of"):
        reg.update("my_agent", backend="gpt")
    assert reg.source("my_agent").read_text() == before  # a refused update writes nothing
    with pytest.raises(BlueprintError, match="cannot rename"):
        reg.update("my_agent", name="renamed")


def test_update_type_carries_default_actions_along(reg):
    reg.create(my_agent())  # retriever, default actions
    assert reg.update("my_agent", type="ingestor").actions == ["assimilate", "destroy"]
    reg.update("my_agent", actions=["destroy"])
    assert reg.update("my_agent", type="iowarp").actions == ["destroy"]  # explicit actions stay


def test_delete_persists(reg):
    reg.create(my_agent())
    reg.delete("my_agent")
    assert not (reg.user_dir / "my_agent.yaml").exists()
    assert "my_agent" not in BlueprintRegistry(reg.user_dir).names()
    with pytest.raises(BlueprintError, match="no blueprint named 'my_agent'"):
        reg.delete("my_agent")


def test_unknown_name_lists_close_names(reg):
    with pytest.raises(BlueprintError) as info:
        reg.get("retreiver_agent")
    assert "no blueprint named 'retreiver_agent'" in info.value.message
    assert "did you mean 'retriever_agent'" in info.value.hint
    with pytest.raises(BlueprintError):
        reg.source("nope")


def test_builtin_cannot_be_deleted(reg):
    with pytest.raises(BlueprintError) as info:
        reg.delete("ingestor_agent")
    assert "built-in" in info.value.message and "cannot be deleted" in info.value.message
    assert "shadowed" in info.value.hint
    assert "ingestor_agent" in reg.names()


def test_shadowing_then_deleting_the_shadow_restores_the_builtin(reg):
    original = reg.get("retriever_agent")
    shadow = reg.update("retriever_agent", cache={"ttl_s": 600})
    assert shadow.cache.ttl_s == 600
    assert reg.source("retriever_agent") == reg.user_dir / "retriever_agent.yaml"
    assert reg.is_builtin("retriever_agent") and reg.is_shadowed("retriever_agent")
    assert reg.names().count("retriever_agent") == 1

    fresh = BlueprintRegistry(reg.user_dir)
    assert fresh.get("retriever_agent") == shadow
    fresh.delete("retriever_agent")

    assert reg.get("retriever_agent") == original
    assert reg.source("retriever_agent").parent == builtin_blueprint_dir()
    assert not reg.is_shadowed("retriever_agent")
    with pytest.raises(BlueprintError, match="cannot be deleted"):
        reg.delete("retriever_agent")  # once the shadow is gone, the built-in stays


def test_list_is_sorted_and_user_blueprints_shadow(reg):
    reg.create(my_agent(name="aaa"))
    reg.create(my_agent(name="ingestor_agent", description="mine"), overwrite=True)
    bps = reg.list()
    assert [bp.name for bp in bps] == sorted(BUILTINS | {"aaa"})
    assert next(bp for bp in bps if bp.name == "ingestor_agent").description == "mine"
    assert len(reg) == len(BUILTINS) + 1 and "aaa" in reg and reg["aaa"].name == "aaa"


def test_dropped_yaml_file_is_seen_without_a_new_registry(reg):
    assert "dropped" not in reg.names()
    write(reg.user_dir / "dropped.yaml", "description: Dropped in by hand\ntype: ingestor\n")
    write(reg.user_dir / "short.yml", "description: The .yml suffix works too\ntype: retriever\n")
    assert {"dropped", "short"} <= set(reg.names())
    assert reg.get("dropped").actions == ["assimilate", "destroy"]
    (reg.user_dir / "dropped.yaml").unlink()
    assert "dropped" not in reg.names()


def test_env_var_sets_the_user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTFACTORY_BLUEPRINTS", str(tmp_path / "from_env"))
    reg = BlueprintRegistry()
    assert reg.user_dir == tmp_path / "from_env"
    reg.create(my_agent())
    assert (tmp_path / "from_env" / "my_agent.yaml").is_file()
    monkeypatch.delenv("AGENTFACTORY_BLUEPRINTS")
    assert BlueprintRegistry().user_dir != tmp_path / "from_env"


# -- registry: invalid user files ---------------------------------------------
def test_invalid_user_files_are_collected_not_fatal(reg):
    write(reg.user_dir / "syntax.yaml", "name: syntax\ndescription: [oops\n")
    write(reg.user_dir / "value.yaml", "description: d\ntype: llm\nbackend: gpt\n")
    write(reg.user_dir / "typo.yaml", "description: d\ntype: llm\nbakend: claude\n")
    write(reg.user_dir / "good.yaml", "description: d\ntype: llm\n")

    names = reg.names()  # does not raise
    assert set(names) == BUILTINS | {"good"}
    assert len(reg.problems) == 3
    text = "\n".join(str(p) for p in reg.problems)
    assert str(reg.user_dir / "syntax.yaml") in text and "invalid YAML" in text
    assert f"{reg.user_dir / 'value.yaml'}: field 'backend'" in text
    assert f"{reg.user_dir / 'typo.yaml'}: field 'bakend'" in text and "did you mean 'backend'" in text

    with pytest.raises(BlueprintError, match="field 'backend': 'gpt' is not one of"):
        reg.get("value")
    with pytest.raises(BlueprintError, match="invalid YAML"):
        reg.get("syntax")

    (reg.user_dir / "value.yaml").write_text("description: d\ntype: llm\nbackend: claude\n")
    assert reg.get("value").backend == "claude"
    assert len(reg.problems) == 2  # refreshed on every scan


def test_name_must_match_the_file_name(reg):
    write(reg.user_dir / "one.yaml", "name: two\ndescription: d\ntype: llm\n")
    assert "one" not in reg.names() and "two" not in reg.names()
    with pytest.raises(BlueprintError) as info:
        reg.get("one")
    assert "field 'name': 'two' does not match the file name 'one.yaml'" in info.value.message
    assert "rename the file to two.yaml" in info.value.hint


def test_same_name_twice_in_the_user_folder(reg):
    write(reg.user_dir / "dup.yaml", "description: from yaml\ntype: llm\n")
    write(reg.user_dir / "dup.yml", "description: from yml\ntype: llm\n")
    assert reg.get("dup").description == "from yaml"
    assert any("dup.yml: ignored" in str(p) for p in reg.problems)


def test_broken_shadow_claims_its_name_and_delete_restores(reg):
    write(reg.user_dir / "ingestor_agent.yaml", "description: d\ntype: ingestor\nactions: [ingest]\n")
    assert "ingestor_agent" not in reg.names()  # not silently the built-in
    with pytest.raises(BlueprintError, match="'ingest' is not one of"):
        reg.get("ingestor_agent")
    reg.delete("ingestor_agent")
    assert reg.get("ingestor_agent").actions == ["assimilate", "destroy"]
    assert reg.problems == []


# -- atomic writes -------------------------------------------------------------
def test_writes_leave_no_temp_files(reg):
    reg.create(my_agent())
    for ttl in range(5):
        reg.update("my_agent", cache={"ttl_s": ttl})
    reg.update("iowarp_agent", backend="claude")
    assert sorted(p.name for p in reg.user_dir.iterdir()) == ["iowarp_agent.yaml", "my_agent.yaml"]
    assert oct(reg.source("my_agent").stat().st_mode & 0o777) == oct(0o644)


def test_failed_write_keeps_the_old_file_and_no_temp(reg, monkeypatch):
    reg.create(my_agent())
    before = reg.source("my_agent").read_text()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        reg.update("my_agent", description="never written")
    monkeypatch.undo()
    assert reg.source("my_agent").read_text() == before
    assert [p.name for p in reg.user_dir.iterdir()] == ["my_agent.yaml"]


def test_write_blueprint_replaces_in_one_step(tmp_path):
    path = write_blueprint(my_agent(), tmp_path / "deep" / "my_agent.yaml")
    inode = path.stat().st_ino
    write_blueprint(my_agent(description="v2"), path)
    # os.replace swaps a new file in: a reader holding the old one never sees a mix
    assert path.stat().st_ino != inode
    assert load_blueprint(path).description == "v2"


# -- agent types ---------------------------------------------------------------
class EchoAgent:
    pass


def test_register_agent_type_and_lookup():
    register_agent_type("echo", EchoAgent)
    assert get_agent_type("echo") is EchoAgent
    assert agent_types()["echo"] is EchoAgent

    @register_agent_type("decorated")
    class Decorated:
        pass

    assert get_agent_type("decorated") is Decorated
    register_agent_type("echo", Decorated)  # re-running a notebook cell replaces
    assert get_agent_type("echo") is Decorated
    with pytest.raises(BlueprintError, match="already registered"):
        register_agent_type("echo", EchoAgent, replace=False)
    discovery.unregister_agent_type("echo")
    with pytest.raises(BlueprintError):
        get_agent_type("echo")
    with pytest.raises(BlueprintError, match="invalid agent type name"):
        register_agent_type("has space", EchoAgent)


def test_unknown_agent_type_names_the_known_ones():
    register_agent_type("ingestor", EchoAgent)
    register_agent_type("retriever", EchoAgent)
    with pytest.raises(BlueprintError) as info:
        get_agent_type("ingester")
    assert info.value.message == "unknown agent type 'ingester'"
    assert "did you mean 'ingestor'?" in info.value.hint
    assert "known agent types:" in info.value.hint and "retriever" in info.value.hint
    assert "agentfactory.agents" in info.value.hint


@pytest.fixture
def fake_dist(tmp_path, monkeypatch):
    """A distribution with two agent entry points, one of them broken, on sys.path."""
    site = tmp_path / "site"
    write(site / "fake_agents_mod.py", "class FakeAgent:\n    kind = 'fake'\n")
    write(site / "fake_dist-0.1.dist-info" / "METADATA", "Metadata-Version: 2.1\nName: fake-dist\nVersion: 0.1\n")
    write(
        site / "fake_dist-0.1.dist-info" / "entry_points.txt",
        """\
        [agentfactory.agents]
        fake = fake_agents_mod:FakeAgent
        broken = fake_agents_missing_mod:Nothing
        """,
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "fake_agents_mod", raising=False)
    yield site
    sys.modules.pop("fake_agents_mod", None)


def test_entry_point_types_are_discovered_and_broken_ones_warn(fake_dist):
    with pytest.warns(RuntimeWarning, match=r"agent type 'broken' from fake-dist .* failed to load"):
        types = agent_types()
    assert types["fake"].kind == "fake"
    assert "broken" not in types

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # looking up one type loads only that entry point
        assert get_agent_type("fake") is types["fake"]

    with pytest.raises(BlueprintError, match="provided by .* but failed to load: ModuleNotFoundError"):
        get_agent_type("broken")  # the cause is in the error itself, not in a warning beside it
    with pytest.raises(BlueprintError) as info:
        get_agent_type("fak")
    assert "did you mean 'fake'?" in info.value.hint


def test_in_process_registration_overrides_an_entry_point(fake_dist):
    register_agent_type("fake", EchoAgent)
    register_agent_type("broken", EchoAgent)  # shadows the broken one: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        types = agent_types()
    assert types["fake"] is EchoAgent and types["broken"] is EchoAgent
    assert list(types) == sorted(types)


def test_without_the_distribution_the_type_is_unknown():
    with pytest.raises(BlueprintError, match="unknown agent type 'fake'"):
        get_agent_type("fake")


# -- issue 9, item 10: a bad blueprint is refused at creation and never breaks routing --------
@pytest.mark.faults
def test_create_refuses_an_unknown_type_and_saves_nothing(reg):
    with pytest.raises(BlueprintError, match="unknown agent type 'nonsense'; nothing was saved"):
        reg.create({"name": "foo", "description": "d", "type": "nonsense"})
    assert "foo" not in reg.names() and not (reg.user_dir / "foo.yaml").exists()
    reg.create({"name": "ok_one", "description": "d", "type": "ingestor"})
    with pytest.raises(BlueprintError, match="unknown agent type"):
        reg.update("ok_one", type="nonsense")
    assert reg.get("ok_one").type == "ingestor"


@pytest.mark.faults
def test_one_bad_user_blueprint_is_reported_and_skipped_not_fatal(reg):
    from agentfactory.agents import specialists  # noqa: F401 - registers the built-in types
    from agentfactory.session import Session

    for t in ("ingestor", "retriever", "coordinator", "iowarp", "llm"):  # the autouse fixture emptied them
        register_agent_type(t, specialists.SpecialistAgent)
    write(reg.user_dir / "foo.yaml", "name: foo\ndescription: a typo\ntype: nonsense\n")  # edited by hand
    with pytest.warns(RuntimeWarning, match="'foo' is skipped: unknown agent type 'nonsense'"):
        decision = Session(registry=reg).route("list blobs in *")
    assert (decision.agent, decision.action.action) == ("retriever", "list_blobs")
    with pytest.raises(BlueprintError, match="unknown agent type 'nonsense'"):
        Session(registry=reg, agent="foo").route("list blobs in *")  # asked for by name: its own error


@pytest.mark.faults
@pytest.mark.parametrize("args, says", [
    (["foo", "--type", "nonsense"], "unknown agent type 'nonsense'"),
    (["../evil", "--type", "retriever"], "'../evil' is not a valid name"),
])
def test_cli_create_errors_are_one_line(tmp_path, args, says):
    import subprocess

    out = subprocess.run([sys.executable, "-m", "agentfactory.cli", "create", *args], capture_output=True, text=True,
                         env={**os.environ, "AGENTFACTORY_BLUEPRINTS": str(tmp_path)}, timeout=60)
    assert out.returncode == 2 and says in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_reward_table_and_blueprints_name_the_same_reward_keys():
    from agentfactory.core.vocabulary import REWARD_KEYS
    from agentfactory.rewards import RewardTable

    assert tuple(RewardTable.model_fields) == REWARD_KEYS


def test_builtin_blueprints_take_their_actions_from_the_owner_table():
    from agentfactory.core.vocabulary import ACTION_OWNERS

    for agent in ("ingestor", "retriever"):
        assert set(default_actions(agent)) == {a for a, owner in ACTION_OWNERS.items() if owner == agent}
    reg = BlueprintRegistry(user_dir=None)
    assert set(reg.get("ingestor_agent").actions) == {"assimilate", "destroy"}
    assert set(reg.get("coordinator_agent").actions) == set(ACTION_NAMES)


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
