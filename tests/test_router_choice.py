"""What every router's answer must pass: an agent that exists, an action it declares, params that fit.

No services, no LLM: `validate_choice` and the agent cards alone.
"""

from __future__ import annotations

import pytest
from _router_fakes import AGENTS, RETRIEVE, RETRIEVE_INPUT

from agentfactory.agents.routing import AgentCard, check_agents, validate_choice
from agentfactory.core.errors import InvalidAction, RoutingError


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
