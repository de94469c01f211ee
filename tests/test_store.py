"""The two-tier store against a real memcached and a real IOWarp runtime."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from pymemcache.client.base import Client

from agentfactory.core.errors import BlobNotFound, NothingStored, StorageUnavailable, TagNotFound
from agentfactory.services import free_port
from agentfactory.storage.cache_backends import MemcachedBackend
from agentfactory.storage.cache_tier import CacheTier
from agentfactory.storage.iowarp_tier import IOWarpTier
from agentfactory.storage.store import TwoTierStore

from conftest import start_memcached

pytestmark = pytest.mark.services

SIZES = {"empty": 0, "one_kib": 1 << 10, "two_mib": 2 << 20, "sixty_four_mib": 64 << 20}


def raw_client(store: TwoTierStore) -> Client:
    host, port = store.cache.backend.servers[0].split(":")
    return Client((host, int(port)), default_noreply=False)


@pytest.mark.parametrize("label", list(SIZES))
def test_exact_bytes_back_at_every_size(store, tag, blob_factory, label):
    data = os.urandom(SIZES[label])
    stored = store.assimilate([blob_factory(label, data)], tag)
    assert stored.bytes == len(data)
    first = store.retrieve(tag, label)
    assert first.data == data
    # above the 1 MiB item limit the cache is bypassed, and the step says so
    if len(data) > store.cache.max_payload:
        assert stored.bypassed == [label] and first.tier == "iowarp"
    else:
        assert stored.bypassed == [] and first.cache_hit is True
    store.prune(tag, [label])
    assert store.retrieve(tag, label).data == data  # from IOWarp this time


@pytest.mark.parametrize(
    "name",
    ["with space.txt", "ünïcødé/日本語.csv", "n" * 1000, "tab\tand\nnewline", "*glob?[x]"],
    ids=["space", "unicode", "1000-chars", "control", "glob-chars"],
)
def test_awkward_names_round_trip_through_both_tiers(store, tag, blob_factory, name):
    data = f"payload of {name!r}".encode()
    result = store.assimilate([blob_factory(name, data)], tag)
    assert result.bypassed == []  # names are encoded, never silently uncached
    hit = store.retrieve(tag, name)
    assert (hit.data, hit.cache_hit) == (data, True)
    assert [b.blob for b in store.list_blobs(tag).blobs] == [name]
    assert [b.blob for b in store.query(tag).blobs] == [name]


def test_replacing_a_blob_never_leaves_the_old_tail(store, tag, blob_factory):
    store.assimilate([blob_factory("b", b"a much longer first version")], tag)
    store.assimilate([blob_factory("b", b"short")], tag)
    store.prune(tag, ["b"])
    assert store.retrieve(tag, "b").data == b"short"


def test_replacing_a_multi_part_blob_with_a_small_one_drops_its_parts(store, tag, blob_factory):
    big = os.urandom(40 << 20)  # three 16 MiB parts
    store.assimilate([blob_factory("b", big)], tag)
    assert store.retrieve(tag, "b").data == big
    store.assimilate([blob_factory("b", b"tiny")], tag)
    store.prune(tag, ["b"])
    assert store.retrieve(tag, "b").data == b"tiny"
    raw = store.iowarp.request("blobs", {"tag": tag})[0]["blobs"]
    assert raw == ["b"], "stale parts of the old version were left behind"


def test_destroy_makes_cached_entries_unreachable(store, tag, blob_factory):
    store.assimilate([blob_factory("a.txt", b"secret v1"), blob_factory("b.txt", b"other")], tag)
    assert store.retrieve(tag, "a.txt").cache_hit is True
    store.destroy([tag])
    # the old entry is physically still in memcached...
    assert raw_client(store).get(store.cache.key(tag, "a.txt")) is not None
    # ...and yet it is never served
    with pytest.raises(TagNotFound):
        store.retrieve(tag, "a.txt")
    with pytest.raises(TagNotFound):
        store.query(tag)
    # a fresh kernel (no local generation memory) must not serve it either
    other = TwoTierStore(CacheTier(MemcachedBackend(store.cache.backend.servers)), store.iowarp)
    with pytest.raises(TagNotFound):
        other.retrieve(tag, "a.txt")
    # re-creating the tag starts clean
    store.assimilate([blob_factory("a.txt", b"secret v2")], tag)
    assert store.retrieve(tag, "a.txt").data == b"secret v2"


def test_destroy_of_an_unknown_tag_is_an_error_and_destroys_nothing(store, tag, blob_factory):
    store.assimilate([blob_factory("keep", b"keep me")], tag)
    with pytest.raises(TagNotFound, match="nothing was destroyed"):
        store.destroy([tag, f"{tag}_never_existed"])
    assert store.retrieve(tag, "keep").data == b"keep me"


def test_corrupted_cache_entry_is_detected_counted_and_healed(store, tag, blob_factory):
    data = os.urandom(4096)
    store.assimilate([blob_factory("c.bin", data)], tag)
    mc, key = raw_client(store), store.cache.key(tag, "c.bin")
    value = bytearray(mc.get(key))
    value[-1] ^= 0xFF  # flip one payload bit; the header still looks fine
    mc.set(key, bytes(value))
    healed = store.retrieve(tag, "c.bin")
    assert healed.data == data and healed.tier == "iowarp" and healed.healed
    assert store.counters.healed == 1 and store.cache.counters.corrupt == 1
    again = store.retrieve(tag, "c.bin")
    assert (again.data, again.cache_hit) == (data, True)


def test_query_reflects_what_memcached_really_holds(store, tag, blob_factory):
    store.assimilate([blob_factory(n, n.encode()) for n in ("a", "b", "c")], tag)
    assert [r.blob for r in store.query(tag).blobs] == ["a", "b", "c"]
    raw_client(store).delete(store.cache.key(tag, "b"))  # as an eviction would
    assert [r.blob for r in store.query(tag).blobs] == ["a", "c"]
    assert [r.blob for r in store.list_blobs(tag).blobs] == ["a", "b", "c"]


def test_expired_entries_leave_the_query_view(services, tag, blob_factory):
    state = services.load_state()
    short = TwoTierStore(CacheTier(MemcachedBackend(state.memcached_servers), ttl_s=1), services.open_store().iowarp)
    short.assimilate([blob_factory("x", b"x")], tag)
    assert [r.blob for r in short.query(tag).blobs] == ["x"]
    time.sleep(2.1)
    assert short.query(tag).blobs == []
    assert short.retrieve(tag, "x").tier == "iowarp"


def test_memcached_killed_mid_run_retrieves_keep_working(store, tag, blob_factory, private_memcached):
    proc, server = private_memcached
    s = TwoTierStore(CacheTier(MemcachedBackend([server], timeout_s=0.5), retry_after_s=0.2), store.iowarp)
    blobs = {f"f{i}": os.urandom(2048) for i in range(5)}
    s.assimilate([blob_factory(n, d) for n, d in blobs.items()], tag)
    assert s.retrieve(tag, "f0").cache_hit is True
    proc.kill()
    proc.wait()
    for _ in range(3):
        for name, data in blobs.items():
            r = s.retrieve(tag, name)
            assert r.data == data and r.tier == "iowarp"
    assert s.cache.counters.errors >= 1
    assert s.counters.errors == 0  # no retrieve failed


def test_retrieve_of_missing_blob_is_not_found(store, tag, blob_factory):
    store.assimilate([blob_factory("there", b"1")], tag)
    with pytest.raises(BlobNotFound):
        store.retrieve(tag, "not-there")
    with pytest.raises(TagNotFound):  # the tag is what is missing, and the error says so
        store.retrieve(f"{tag}_missing", "x")
    assert store.counters.errors == 2


def test_prune_keeps_data_in_iowarp_and_refuses_unknown_names(store, tag, blob_factory):
    store.assimilate([blob_factory("p", b"pp")], tag)
    assert [r.blob for r in store.prune(tag, ["p"]).blobs] == ["p"]
    assert store.query(tag).blobs == []
    with pytest.raises(BlobNotFound, match="nothing was pruned"):
        store.prune(tag, ["p", "ghost"])
    r = store.retrieve(tag, "p")
    assert (r.data, r.tier) == (b"pp", "iowarp")


def test_assimilate_of_nothing_is_an_error(store, tag):
    with pytest.raises(NothingStored):
        store.assimilate([], tag)


def test_search_by_content_ranks_with_iowarps_indexer(store, tag, blob_factory):
    docs = {
        "ocean.md": b"ocean temperature rises in the north atlantic; sea surface temperature records",
        "ice.md": b"sea ice extent in the arctic keeps shrinking",
        "soil.md": b"soil moisture from satellite radar",
    }
    store.assimilate([blob_factory(n, d) for n, d in docs.items()], tag)
    ranked = store.list_blobs(tag, prompt="ocean temperature").blobs
    assert ranked and ranked[0].blob == "ocean.md"
    assert "soil.md" not in [r.blob for r in ranked]
    q = store.query(tag, prompt="ocean temperature", max_results=1).blobs
    assert [(r.blob, r.cached) for r in q] == [("ocean.md", True)]


def test_stopped_bridge_gives_storage_unavailable_within_the_timeout(services, tag, blob_factory):
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    env = services.runtime_env()
    bridge = subprocess.Popen([sys.executable, "-m", "agentfactory.cli", "bridge", "--endpoint", endpoint], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert "ready" in bridge.stdout.readline()
        tier = IOWarpTier(endpoint, timeout_s=1.5)
        tier.put_blob(tag, "x", [b"x"])
        bridge.terminate()
        bridge.wait(10)
        start = time.monotonic()
        with pytest.raises(StorageUnavailable, match="did not answer"):
            tier.get_blob(tag, "x")
        assert time.monotonic() - start < 3.0
        # a store over it reports the same typed error on reads and writes
        with pytest.raises(StorageUnavailable):
            TwoTierStore(CacheTier(MemcachedBackend(services.load_state().memcached_servers)), tier).retrieve(tag, "y")
    finally:
        if bridge.poll() is None:
            bridge.kill()


def test_nothing_answering_at_all_is_unavailable_not_a_hang():
    tier = IOWarpTier(f"tcp://127.0.0.1:{free_port()}", timeout_s=0.5)
    start = time.monotonic()
    with pytest.raises(StorageUnavailable):
        tier.ping()
    assert time.monotonic() - start < 2.0


def test_snapshot_counts_blobs_and_bytes_per_tier(store, tag, blob_factory):
    store.assimilate([blob_factory("a", bytes(1000)), blob_factory("b", bytes(3000))], tag)
    store.prune(tag, ["b"])
    (row,) = store.snapshot(tag)
    assert (row["iowarp_blobs"], row["cached_blobs"]) == (2, 1)
    assert 4000 <= row["iowarp_bytes"] < 4200  # payloads plus two small headers
    assert 1000 <= row["cached_bytes"] < 1100


def test_the_query_view_moves_no_payload(store, tag, blob_factory):
    """A dashboard refreshing `query`/`snapshot` must not pull every cached value each time."""
    store.assimilate([blob_factory(f"big{i}", os.urandom(512 << 10)) for i in range(8)], tag)
    mc = raw_client(store)
    sent = int(mc.stats()[b"bytes_written"])
    assert len(store.query(tag).blobs) == 8
    assert store.snapshot(tag)[0]["cached_blobs"] == 8
    assert int(mc.stats()[b"bytes_written"]) - sent < 64 << 10  # not 2 x 4 MiB of values


def test_several_memcached_nodes_through_hashclient(store, tag, blob_factory, private_memcached, tmp_path):
    """Keys spread over two real nodes; views, reads, prunes and destroys see all of them."""
    _, first = private_memcached
    second, other = start_memcached()
    try:
        s = TwoTierStore(CacheTier(MemcachedBackend([first, other])), store.iowarp)
        names = [f"n{i}" for i in range(40)]
        s.assimilate([blob_factory(n, n.encode()) for n in names], tag)
        assert sorted(r.blob for r in s.query(tag).blobs) == sorted(names)
        per_node = [int(Client(("127.0.0.1", int(srv.split(":")[1]))).stats()[b"curr_items"])
                    for srv in (first, other)]
        assert all(count > 5 for count in per_node), per_node  # both nodes hold entries
        assert all(s.retrieve(tag, n).cache_hit for n in names)
        s.prune(tag, names[:10])
        assert len(s.query(tag).blobs) == 30
        s.destroy([tag])
        with pytest.raises(TagNotFound):
            s.retrieve(tag, "n20")
    finally:
        second.kill()
        second.wait()


def test_a_miss_costs_one_bridge_round_trip_one_cache_read_and_one_cache_write(store, tag, blob_factory, monkeypatch):
    data = os.urandom(1000)
    store.assimilate([blob_factory("m", data)], tag)
    store.cache.evict(tag, ["m"])
    calls: list[str] = []
    backend = store.cache.backend
    for name in ("get_many", "set", "add", "delete", "present"):
        real = getattr(backend, name)
        monkeypatch.setattr(backend, name, lambda *a, _n=name, _f=real, **k: (calls.append(_n), _f(*a, **k))[1])
    sent, answered = store.iowarp.round_trips, store.iowarp.ping()["ops"]  # the bridge counts what it answered
    result = store.retrieve(tag, "m")
    assert result.cache_hit is False and result.data == data
    assert store.iowarp.ping()["ops"] - answered == 2  # the miss's one get, then this ping
    assert store.iowarp.round_trips - sent == 3  # both pings and the get
    assert calls == ["get_many", "set"]  # entry + generation token in one read, then the re-cache
    assert store.retrieve(tag, "m").cache_hit is True
