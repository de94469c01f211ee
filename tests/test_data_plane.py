"""Issue 10: the data plane between a kernel and the bridge (real services, no mocks).

Same-host clients talk to the bridge over a Unix socket in the home (ZeroMQ's
I/O threads cost most of a small request); whatever a bridge leaves behind
when it is stopped or killed is removed by `services up`/`down`.
"""

from __future__ import annotations

import os

import psutil
import pytest

from agentfactory.config import Settings
from agentfactory.services import Services
from agentfactory.storage.iowarp_tier import IOWarpTier

pytestmark = pytest.mark.services


def _blob(name: str, data: bytes):
    return type("B", (), {"name": name, "size": len(data), "metadata": {}, "chunks": lambda self: iter([data])})()


def test_local_clients_use_a_private_unix_socket_and_both_transports_agree(services, services_state, store, tag):
    bridge = services_state.bridge
    assert bridge.endpoint.startswith("unix://") and bridge.tcp.startswith("tcp://127.0.0.1:")
    path = bridge.endpoint[len("unix://"):]
    assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700  # who may connect: file permissions
    assert store.iowarp.endpoint == bridge.endpoint
    sizes = {"empty": 0, "small": 1000, "multi_part": (16 << 20) + 12345}
    payloads = {name: os.urandom(n) for name, n in sizes.items()}
    store.assimilate([_blob(n, d) for n, d in payloads.items()], tag)
    over_tcp = IOWarpTier(bridge.tcp, timeout_s=10)
    try:
        for name, data in payloads.items():
            assert store.iowarp.get_blob(tag, name).data == data
            assert over_tcp.get_blob(tag, name).data == data
    finally:
        over_tcp.close()
        store.destroy([tag])


def test_a_killed_bridge_leaves_nothing_in_the_home_after_up_and_down(tmp_path):
    svc = Services(Settings(home=tmp_path / "plane", cache_mode="embedded"))
    run = svc.home / "run"
    try:
        first = svc.up().bridge
        assert [p.name for p in run.iterdir()] == [os.path.basename(first.endpoint)]
        psutil.Process(first.pid).kill()  # no chance to remove its socket
        psutil.Process(first.pid).wait(10)
        assert any(run.iterdir()), "a killed bridge leaves its socket"
        second = svc.up().bridge
        assert second.endpoint != first.endpoint
        assert [p.name for p in run.iterdir()] == [os.path.basename(second.endpoint)]
        store = svc.open_store()
        store.assimilate([_blob("x", b"after")], "plane")
        assert store.retrieve("plane", "x").data == b"after"
        store.close()
        svc.down()
        assert list(run.iterdir()) == []
        second_again = svc.up().bridge  # and a bridge stopped by `down` removed its socket itself
        psutil.Process(second_again.pid).terminate()
        psutil.Process(second_again.pid).wait(15)
        assert list(run.iterdir()) == []
    finally:
        svc.down()
