"""The blueprints agentfactory ships: they validate, tell their agents apart and split the actions between them.

No services.
"""

from __future__ import annotations

import pytest
from _blueprint_data import BUILTINS

from agentfactory.core.actions import ACTION_NAMES
from agentfactory.factory import BlueprintRegistry, builtin_blueprint_dir, default_actions, load_blueprint

pytestmark = pytest.mark.usefixtures("clean_agent_types")


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


def test_builtin_blueprints_take_their_actions_from_the_owner_table():
    from agentfactory.core.vocabulary import ACTION_OWNERS

    for agent in ("ingestor", "retriever"):
        assert set(default_actions(agent)) == {a for a, owner in ACTION_OWNERS.items() if owner == agent}
    reg = BlueprintRegistry(user_dir=None)
    assert set(reg.get("ingestor_agent").actions) == {"assimilate", "destroy"}
    assert set(reg.get("coordinator_agent").actions) == set(ACTION_NAMES)
