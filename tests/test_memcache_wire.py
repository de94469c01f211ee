"""storage/memcache_wire.py: the memcached wire, read and written without pymemcache's per-call overhead.

Everything a real memcached can be made to do is tested against one (the session's, or a private one
started here). Two cases cannot be: a reply split across reads at chosen places (TCP on loopback delivers
what memcached writes in one piece). For those, `_byte_feeder` plays back fixed bytes from a loopback
socket; it checks our reassembly of a byte stream, it does not stand in for memcached.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from pymemcache.client.base import Client
from pymemcache.exceptions import MemcacheClientError, MemcacheServerError, MemcacheUnknownError

from agentfactory.storage.memcache_wire import get_values, meta_lines, node_for, set_value
from conftest import start_memcached

pytestmark = pytest.mark.services


@pytest.fixture
def node() -> Iterator[Client]:
    """A client of a private memcached (started with the default 1 MiB item limit)."""
    proc, server = start_memcached()
    host, port = server.split(":")
    client = Client((host, int(port)), connect_timeout=1, timeout=2, default_noreply=False)
    yield client
    client.close()
    proc.kill()
    proc.wait()


def _byte_feeder(replies: list[bytes]) -> tuple[int, threading.Thread]:
    """A loopback socket that reads one request and plays `replies` back, one send each, apart in time."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with listener, listener.accept()[0] as conn:
            conn.recv(4096)
            for part in replies:
                conn.sendall(part)
                time.sleep(0.05)  # separate reads on the client side

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


# -- the pymemcache internals memcache_wire relies on ---------------------------------------------
def test_pymemcache_is_the_major_version_memcache_wire_was_checked_against():
    import pymemcache

    from agentfactory.storage.memcache_wire import CHECKED_MAJOR

    major = int(pymemcache.__version__.split(".")[0])
    assert major == CHECKED_MAJOR, (
        f"pymemcache {pymemcache.__version__}: re-check memcache_wire.meta_lines (Client._connect, "
        f"base._readline, Client.sock) against it, then raise CHECKED_MAJOR and the pin in pyproject.toml")


def test_pymemcache_internals_used_by_meta_lines_keep_their_signatures():
    import inspect

    from pymemcache.client import base

    assert list(inspect.signature(base._readline).parameters) == ["sock", "buf"]
    assert list(inspect.signature(base.Client._connect).parameters) == ["self"]
    assert base.Client(("127.0.0.1", 1)).sock is None  # not connected until first use




# -- replies split across reads (no memcached splits on demand: bytes played back) ---------------
def test_meta_lines_reads_replies_split_across_reads():
    port, thread = _byte_feeder([b"HD f7\r", b"\nEN\r\n"])
    client = Client(("127.0.0.1", port), connect_timeout=1, timeout=1)
    assert meta_lines(client, [b"mg a f\r\n", b"mg b f\r\n"]) == [b"HD f7", b"EN"]
    assert isinstance(client.sock, socket.socket)  # kept for the next command
    client.close()
    thread.join(2)


def test_get_values_reads_values_split_anywhere_and_large_ones_whole():
    big = os.urandom(200_000)
    reply = b"VALUE a 0 3\r\nxyz\r\nVALUE b 5 200000\r\n" + big + b"\r\nEND\r\n"
    # cut inside a line, inside the \r\n, and inside the large value
    at = [0, 12, 15, 30, 100_000, len(reply) - 6, len(reply) - 4, len(reply)]
    cuts = [reply[a:b] for a, b in itertools.pairwise(at)]
    port, thread = _byte_feeder(cuts)
    node = Client(("127.0.0.1", port), connect_timeout=1, timeout=2)
    found = get_values(node, ["a", "b", "missing"])
    assert found == {"a": b"xyz", "b": big}
    node.close()
    thread.join(2)



# -- against a real memcached -------------------------------------------------------------------------
def test_meta_lines_reads_real_replies_and_drops_the_socket_on_an_error(node):
    node.set("a", b"1")
    assert meta_lines(node, [b"mg a f\r\n", b"mg b f\r\n"]) == [b"HD f0", b"EN"]
    with pytest.raises(MemcacheUnknownError, match="CLIENT_ERROR"):  # a key over memcached's 250 bytes
        meta_lines(node, [b"mg " + b"k" * 300 + b" v\r\n"])
    assert node.sock is None  # a half-read reply never leaks into the next command
    assert node.get("a") == b"1"


def test_get_values_and_set_value_raise_memcached_errors_and_drop_the_socket(node):
    with pytest.raises(MemcacheClientError, match="bad command line format"):  # a key over 250 bytes
        get_values(node, ["k" * 300])
    assert node.sock is None
    with pytest.raises(MemcacheServerError, match="too large"):  # CacheTier.put turns this into a bypass
        set_value(node, "a", b"x" * (2 << 20), 0, 0)
    assert node.sock is None
    set_value(node, "a", b"fits", 0, 0)  # the next command starts clean
    assert get_values(node, ["a"]) == {"a": b"fits"}


def test_node_for_routes_every_key_as_hashclient_does():
    from pymemcache.client.hash import HashClient

    cluster = HashClient([("127.0.0.1", 1), ("127.0.0.1", 2), ("127.0.0.1", 3)])
    keys = [f"af:d:key{i}" for i in range(200)]
    assert all(node_for(cluster, k) is cluster._get_client(k) for k in keys)  # pymemcache's own routing
    assert len({node_for(cluster, k).server for k in keys}) == 3
    single = Client(("127.0.0.1", 1))
    assert node_for(single, "any") is single


def test_set_value_and_get_values_agree_with_pymemcache_on_a_real_memcached(store):
    host, port = store.cache.backend.servers[0].split(":")
    ours, theirs = Client((host, int(port)), default_noreply=False), Client((host, int(port)), default_noreply=False)
    values = {"wire:small": b"s" * 10, "wire:large": os.urandom(900_000), "wire:empty": b""}
    for key, value in values.items():
        set_value(ours, key, value, 0, 7)
        assert theirs.get(key) == value
    theirs.set("wire:theirs", b"t" * 70_000)
    found = get_values(ours, [*values, "wire:theirs", "wire:absent"])
    assert found == {**values, "wire:theirs": b"t" * 70_000}
    assert ours.sock is not None  # the connection is reused after a clean reply
