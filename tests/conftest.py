"""Real services for the integration tests, one set per test session.

The IOWarp runtime idles at about half a core whatever its settings, so the
suite shares one runtime (own port, config dir and storage root) and one
memcached; each test works in tags of its own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from agentfactory.config import Settings
from agentfactory.services import Services, ServicesState, free_port
from agentfactory.storage.store import TwoTierStore

if TYPE_CHECKING:
    import pandas as pd
    from IPython.core.interactiveshell import InteractiveShell

    from agentfactory.factory import BlueprintRegistry
    from agentfactory.magics import AgentMagics
    from agentfactory.session import Session
    from agentfactory.sources import DataRoots


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    if shutil.which("memcached") is None:
        pytest.fail("the integration tests need the memcached binary (the README's test command installs it)")
    home = tmp_path_factory.mktemp("afhome")
    svc = Services(Settings(home=home, cache_mode="memcached", iowarp_timeout_s=10.0))
    svc.up()
    yield svc
    svc.down()


@pytest.fixture(scope="session")
def services_state(services: Services) -> ServicesState:
    state = services.load_state()
    assert state is not None
    return state


@pytest.fixture
def store(services: Services) -> Iterator[TwoTierStore]:
    s = services.open_store()
    yield s
    s.close()


@pytest.fixture
def tag(request: pytest.FixtureRequest) -> str:
    """A tag no other test uses; in a test with an IPython shell (`ip`), also bound as `tag` there."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    if "ip" in request.fixturenames:
        request.getfixturevalue("ip").user_ns["tag"] = name
    return name


class Blob:
    """A minimal BlobSource for store tests."""

    def __init__(self, name: str, data: bytes, metadata: dict | None = None, chunk: int = 4 << 20) -> None:
        self.name, self.data, self.size, self.metadata, self._chunk = name, data, len(data), metadata or {}, chunk

    def chunks(self):
        for start in range(0, len(self.data), self._chunk):
            yield self.data[start : start + self._chunk]


@pytest.fixture
def blob_factory():
    return Blob


def start_memcached() -> tuple[subprocess.Popen, str]:
    """A memcached of the test's own on a free loopback port, listening when this returns."""
    port = free_port()
    cmd = ["memcached", "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "64"]
    if os.geteuid() == 0:
        cmd += ["-u", "root"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    return proc, f"127.0.0.1:{port}"


@pytest.fixture
def private_memcached() -> Iterator[tuple[subprocess.Popen, str]]:
    """A memcached of the test's own, for tests that kill it."""
    proc, server = start_memcached()
    yield proc, server
    if proc.poll() is None:
        proc.kill()
    proc.wait()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


# -- fixtures of the test families split into several modules (sources, analysis, magics, blueprints) --------
# Imports are lazy: a run that needs none of them does not pay for IPython, pandas or matplotlib.
@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The one allowed data root; `tmp_path/outside` is a sibling outside it."""
    r = tmp_path / "root"
    r.mkdir()
    (tmp_path / "outside").mkdir()
    return r


@pytest.fixture
def roots(root: Path) -> DataRoots:
    from agentfactory.sources import DataRoots

    return DataRoots(cwd=root)


@pytest.fixture(scope="module")
def run() -> pd.DataFrame:
    """A synthetic 1,000-step run (tests/_analysis_data.py), one per module."""
    from _analysis_data import make_trajectory

    return make_trajectory()


@pytest.fixture
def close_figures() -> Iterator[None]:
    """Close pyplot's figures after the test; the analysis modules use it for every test."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="module")
def ip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InteractiveShell]:
    """A real IPython shell, one per magics module; each module overrides `tag` to also bind it in the shell."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IPYTHONDIR", str(tmp_path_factory.mktemp("ipython")))
        cfg = Config()
        cfg.HistoryManager.hist_file = ":memory:"  # no sqlite file per shell (jupysql's "too many open files")
        shell = InteractiveShell.instance(config=cfg)
        yield shell
        shell.extension_manager.unload_extension("agentfactory")
        InteractiveShell.clear_instance()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("magics_data")
    docs = root / "sample_docs"
    docs.mkdir()
    (docs / "api_reference.md").write_text("# API reference\n\nretrieve(tag, blob) -> bytes\n")
    (docs / "notes.txt").write_text("prune keeps data in IOWarp; destroy removes it\n")
    return root


@pytest.fixture(scope="module")
def shared_session(services, data_dir) -> Iterator[Session]:
    from agentfactory.session import Session
    from agentfactory.sources import DataRoots

    session = Session(services=services, settings=services.settings, roots=DataRoots([data_dir], cwd=data_dir))
    yield session
    session.close()


@pytest.fixture
def magics(ip: InteractiveShell, shared_session: Session) -> Iterator[AgentMagics]:
    if "AgentMagics" not in ip.magics_manager.registry:
        ip.extension_manager.load_extension("agentfactory")
    m = ip.magics_manager.registry["AgentMagics"]
    if not m.has_session or m.session is not shared_session:
        m.attach(shared_session)
    yield m
    for name, trait in m.traits(config=True).items():
        setattr(m, name, trait.default())


@pytest.fixture
def reg(tmp_path: Path) -> BlueprintRegistry:
    from agentfactory.factory import BlueprintRegistry

    return BlueprintRegistry(tmp_path / "blueprints")


@pytest.fixture
def clean_agent_types(monkeypatch):
    # In-process registrations are global state: each test starts from none.
    from agentfactory.factory import discovery

    monkeypatch.setattr(discovery.AGENT_TYPES, "_registered", {})
