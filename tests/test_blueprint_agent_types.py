"""Agent types: registered in-process or discovered from entry points, looked up by name with a did-you-mean.

No services: entry points come from a fake distribution put on sys.path.
"""

from __future__ import annotations

import sys
import warnings

import pytest
from _blueprint_data import write

from agentfactory.core.errors import BlueprintError
from agentfactory.factory import agent_types, discovery, get_agent_type, register_agent_type

pytestmark = pytest.mark.usefixtures("clean_agent_types")


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
