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

import pytest

from agentfactory.config import Settings
from agentfactory.services import Services, ServicesState, free_port
from agentfactory.storage.store import TwoTierStore


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
def tag() -> str:
    """A tag no other test uses."""
    return f"t_{uuid.uuid4().hex[:10]}"


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
