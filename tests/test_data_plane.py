"""Issue 10: the data plane between a kernel and the bridge (real services, no mocks).

Same-host clients talk to the bridge over a Unix socket in the home (ZeroMQ's
I/O threads cost most of a small request); whatever a bridge leaves behind
when it is stopped or killed is removed by `services up`/`down`.
"""

from __future__ import annotations

import os
import threading
from typing import Any

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


KERNEL = """
import os, sys, time
from agentfactory.config import Settings
from agentfactory.services import Services
store = Services(Settings(home=sys.argv[1], cache_mode="embedded")).open_store()
data = os.urandom(4 << 20)
store.iowarp.put_blob("plane", "big", [data])
assert store.iowarp.get_blob("plane", "big").data == data
print("ready", flush=True)
time.sleep(300)
"""


def _regions(pid: int | str) -> list[str]:
    """Our shared-memory regions mapped by a process (memfds: they have no path anywhere)."""
    with open(f"/proc/{pid}/maps") as fh:
        return sorted({"memfd:" + line.split("memfd:", 1)[1].split()[0] for line in fh if "memfd:agentfactory-" in line})


def _wait_for(cond, timeout_s: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_large_payloads_cross_in_shared_memory_that_no_exit_path_leaves_behind(tmp_path):
    import gc
    import subprocess
    import sys

    from agentfactory.core.errors import StorageUnavailable

    shm_before = set(os.listdir("/dev/shm"))
    svc = Services(Settings(home=tmp_path / "shm", cache_mode="embedded"))
    try:
        bridge = svc.up().bridge
        # a kernel moves 4 MiB each way, then is SIGKILLed: the bridge lets go of both regions
        kernel = subprocess.Popen([sys.executable, "-c", KERNEL, str(svc.home)], stdout=subprocess.PIPE, text=True)
        try:
            assert kernel.stdout.readline().strip() == "ready"
            assert _regions(bridge.pid) == ["memfd:agentfactory-bridge", "memfd:agentfactory-client"]
        finally:
            kernel.kill()
            kernel.wait()
        assert _wait_for(lambda: _regions(bridge.pid) == []), _regions(bridge.pid)

        # this process as the kernel; then the bridge is SIGKILLed: the kernel lets go of its regions
        store = svc.open_store()
        data = os.urandom(3 << 20)
        store.iowarp.put_blob("plane", "big2", [data])
        assert store.iowarp.get_blob("plane", "big2").data == data
        assert _regions("self") == ["memfd:agentfactory-bridge", "memfd:agentfactory-client"]
        psutil.Process(bridge.pid).kill()
        psutil.Process(bridge.pid).wait(10)
        with pytest.raises(StorageUnavailable):
            store.iowarp.get_blob("plane", "big2")
        gc.collect()
        assert _regions("self") == []
        store.close()
    finally:
        svc.down()
    assert list((svc.home / "run").iterdir()) == []
    assert {n for n in set(os.listdir("/dev/shm")) - shm_before if "agentfactory" in n or "clio" in n} == set()


def _echo_server(path: str) -> Any:
    """A UnixServer that answers every request with its own frames, reversed (no bridge, no runtime)."""
    from agentfactory.storage.unix_transport import UnixServer

    server = UnixServer(path, lambda frames: [f.bytes for f in reversed(frames)], threading.Lock())
    return server


def test_unix_messages_of_every_shape_survive_the_read_ahead_buffer(tmp_path):
    from agentfactory.storage.unix_transport import (
        MAX_FRAMES,
        READ_AHEAD,
        SHM_MIN,
        UnixClient,
    )

    assert 8 + 16 * MAX_FRAMES > READ_AHEAD

    path = str(tmp_path / "echo.sock")
    server = _echo_server(path)
    client = UnixClient(f"unix://{path}", 5.0)
    try:
        shapes = {
            "small": [b"op", b"{}", b""],
            "inline frame split by the buffer's end": [b"x" * (READ_AHEAD - 100), os.urandom(SHM_MIN - 1)],
            "shared and inline mixed": [os.urandom(SHM_MIN), b"y" * 10, os.urandom(3 * SHM_MIN)],
            # a descriptor table larger than the buffer (16 bytes a frame)
            "many frames": [bytes([i % 256]) for i in range(MAX_FRAMES)],
        }
        for name, frames in shapes.items():
            assert [f.bytes for f in client.request(frames)] == frames[::-1], name
    finally:
        client.close()
        server.close()


def test_a_bridge_that_never_answers_times_out_in_the_kernel(tmp_path):
    import socket
    import time

    from agentfactory.storage.unix_transport import UnixClient

    path = str(tmp_path / "mute.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)  # accepts (the kernel does), never reads or answers
    client = UnixClient(f"unix://{path}", 0.3)
    try:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            client.request([b"ping", b"{}"])
        assert 0.25 < time.monotonic() - start < 2.0
        assert client._chan is None  # the next request starts on a fresh connection
    finally:
        listener.close()


def test_binary_blob_args_carry_any_name_and_refuse_a_cut_message():
    from agentfactory.storage.bridge_protocol import pack_blob_args, pack_size, unpack_blob_args, unpack_size

    for tag, blob, number in [("t", "b", 0), ("ünï/日本", "a\x00b" * 300, 48), ("", "", 2**40)]:
        raw = pack_blob_args(tag, blob, number)
        assert unpack_blob_args(memoryview(raw)) == (tag, blob, number)
        with pytest.raises(ValueError):
            unpack_blob_args(raw[:-1])
    assert [unpack_size(pack_size(s)) for s in (None, 0, 5)] == [None, 0, 5]


def test_hot_ops_speak_binary_and_a_malformed_request_is_answered_with_an_error(store, tag, blob_factory):
    from agentfactory.storage.bridge_protocol import BINARY_OPS, ERR, loads

    assert BINARY_OPS == {b"get", b"put", b"stat"}
    store.assimilate([blob_factory("x", b"payload")], tag)
    assert store.iowarp.exists(tag, "x") and not store.iowarp.exists(tag, "nope")
    assert store.iowarp.blob_request("get", tag, "nope") == []  # not found: no data frame
    status, meta, _ = store.iowarp._exchange("get", [b"get", b'{"tag": "t"}'])  # JSON where binary is due
    assert status.bytes == ERR and loads(meta.buffer)["error"] == "ValueError"
    assert store.retrieve(tag, "x").data == b"payload"  # and the bridge keeps serving
    store.destroy([tag])
