"""Issue 10: values larger than a memcached item are cached as chunks (real memcached, 1 MiB items).

The rules of single entries hold for every chunk: the tag's generation, the
MAC, and no mixing of chunks from two versions of a blob.
"""

from __future__ import annotations

import os

import pytest

from agentfactory.storage.cache_backends import MemcachedBackend
from agentfactory.storage.cache_keys import chunk_key
from agentfactory.storage.cache_tier import CacheTier, Lookup, Stored

pytestmark = pytest.mark.services


@pytest.fixture
def tier(services_state):
    backend = MemcachedBackend(services_state.memcached_servers, item_limit=1 << 20)
    yield CacheTier(backend, secret=b"k" * 32, max_chunked=32 << 20)
    backend.close()


def test_a_3_mib_file_read_twice_is_a_hit_the_second_time(store, blob_factory, tag):
    """Before: larger than the item limit -> bypassed, every read an IOWarp read."""
    store.cache.max_chunked = 32 << 20  # what AGENTFACTORY_CACHE_CHUNKED_MB=32 gives a session's store
    data = os.urandom(3 << 20)
    store.assimilate([blob_factory("big.bin", data)], tag)
    store.cache.evict(tag, ["big.bin"])
    first, second = store.retrieve(tag, "big.bin"), store.retrieve(tag, "big.bin")
    assert (first.cache_hit, first.data == data, first.bypassed) == (False, True, [])
    assert (second.cache_hit, second.data == data) == (True, True)
    store.destroy([tag])


def test_chunks_of_two_versions_never_mix(tier, tag):
    old, new = os.urandom(3 << 20), os.urandom(3 << 20)
    assert tier.put(tag, "b", old) is Stored.CACHED
    key = tier.key(tag, "b")
    old_chunk1 = tier.backend.get_many([chunk_key(key, 1)])[chunk_key(key, 1)]
    assert tier.put(tag, "b", new) is Stored.CACHED
    assert tier.get(tag, "b")[1].payload == new
    tier.backend.set(chunk_key(key, 1), old_chunk1, 0)  # a chunk of the old version, genuine but foreign
    assert tier.get(tag, "b") == (Lookup.MISS, None)


def test_a_missing_chunk_is_a_miss_and_destroy_covers_every_chunk(tier, tag):
    data = os.urandom((2 << 20) + 17)
    assert tier.put(tag, "b", data, {"k": "v"}) is Stored.CACHED
    lookup, entry = tier.get(tag, "b")
    assert lookup is Lookup.HIT and entry.payload == data and entry.metadata == {"k": "v"}
    key = tier.key(tag, "b")
    tier.backend.delete(chunk_key(key, 2))  # memcached evicted one chunk
    assert tier.get(tag, "b") == (Lookup.MISS, None)
    assert tier.put(tag, "b", data) is Stored.CACHED
    tier.invalidate_tag(tag)  # destroy: a new generation makes the manifest and its chunks stale
    assert tier.get(tag, "b")[0] is Lookup.STALE
    assert tier.put(tag, "b", data) is Stored.CACHED
    assert tier.evict(tag, ["b"]) == ["b"]
    assert tier.backend.get_many([key, *(chunk_key(key, i) for i in range(4))]) == {}  # prune frees every chunk


def test_values_above_the_chunked_limit_still_bypass(tier, tag):
    tier.max_chunked = 2 << 20
    assert tier.put(tag, "b", os.urandom((2 << 20) + 1)) is Stored.BYPASS
    assert tier.counters.bypasses == 1


def test_services_turn_chunking_on_only_when_asked(services, monkeypatch):
    for env, expected in ((None, 0), ("32", 32 << 20)):
        if env:
            monkeypatch.setenv("AGENTFACTORY_CACHE_CHUNKED_MB", env)
        store = services.open_store()
        assert store.cache.max_chunked == expected
        store.close()
