"""The router registry: a backend is built by name, whether built in, registered in-process or from an entry point.

No services, no LLM: routing alone, with a third-party router defined here.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from agentfactory.agents.routers import make_router, register_router, router_names, unregister_router
from agentfactory.agents.routing import RouteDecision, check_agents
from agentfactory.core import Action
from agentfactory.core.errors import ConfigError
from agentfactory.core.vocabulary import BACKEND_NAMES
from agentfactory.factory import BlueprintRegistry
from agentfactory.session import Session


class EchoRouter:
    """A third-party router: routes everything to the first agent's first action it can fill."""

    backend = "echo"

    def __init__(self, *, cassette: Any = None, model: str = "echo-1") -> None:
        self.cassette, self.model = cassette, model

    def route(self, command: str, agents: Any) -> RouteDecision:
        card = check_agents(agents)[-1]
        return RouteDecision(agent=card.name, action=Action.create("query", tag_pattern=command),
                             backend=self.backend, latency_ms=0.0)


@pytest.fixture
def echo_registered():
    register_router("echo", EchoRouter)
    yield
    unregister_router("echo")


def test_a_router_registered_by_name_is_built_by_name_everywhere_a_backend_is_named(echo_registered, tmp_path):
    router = make_router("echo", model="echo-2")
    assert isinstance(router, EchoRouter) and router.model == "echo-2" and router.cassette is None
    assert router_names()[:3] == BACKEND_NAMES and "echo" in router_names()

    session = Session(registry=BlueprintRegistry(user_dir=tmp_path / "blueprints"), backend="echo")
    decision = session.route("docs*")  # routing alone: no services
    assert (decision.backend, decision.action.action) == ("echo", "query")


def test_an_unknown_backend_names_the_known_ones_and_the_closest():
    with pytest.raises(ConfigError) as info:
        make_router("claud")
    assert info.value.message == "unknown backend 'claud'"
    assert "did you mean 'claude'?" in info.value.hint
    assert all(name in info.value.hint for name in BACKEND_NAMES) and "agentfactory.routers" in info.value.hint


def test_unregistering_a_built_in_override_brings_the_built_in_back():
    register_router("rule", EchoRouter)
    try:
        assert isinstance(make_router("rule"), EchoRouter)
        with pytest.raises(ConfigError, match="already registered"):
            register_router("rule", lambda **_: None, replace=False)
    finally:
        unregister_router("rule")
    assert make_router("rule").backend == "rule"


def test_a_router_from_an_entry_point_is_built_by_name(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "fake_routers-0.1.dist-info").mkdir(parents=True)
    (site / "fake_routers_mod.py").write_text(
        "class Mistral:\n    backend = 'mistral'\n    def __init__(self, **options):\n        self.options = options\n")
    (site / "fake_routers-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fake-routers\nVersion: 0.1\n")
    (site / "fake_routers-0.1.dist-info" / "entry_points.txt").write_text(
        "[agentfactory.routers]\nmistral = fake_routers_mod:Mistral\nbroken = fake_routers_missing:Nothing\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "fake_routers_mod", raising=False)

    assert {"mistral", "broken"} <= set(router_names())
    assert make_router("mistral", model="large").options == {"cassette": None, "model": "large"}
    with pytest.raises(ConfigError, match="failed to load"):
        make_router("broken")


def test_naming_the_rule_backend_loads_no_llm_sdk():
    script = (
        "import sys\n"
        "from agentfactory.agents.routers import make_router\n"
        "make_router('rule')\n"
        "print(sorted(m for m in ('anthropic', 'agentfactory.agents.claude_router',"
        " 'agentfactory.agents.ollama_router') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
