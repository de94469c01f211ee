"""The blueprint registry: changes persisted atomically, user files shadowing built-ins, bad files reported not fatal.

No services: the user folder is tmp_path.
"""

from __future__ import annotations

import os
import sys

import pytest
from _blueprint_data import BUILTINS, my_agent, write

from agentfactory.core.errors import BlueprintError
from agentfactory.factory import (
    BlueprintRegistry,
    builtin_blueprint_dir,
    load_blueprint,
    register_agent_type,
    write_blueprint,
)

pytestmark = pytest.mark.usefixtures("clean_agent_types")


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
