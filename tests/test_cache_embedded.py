"""The embedded fallback cache: LRU, TTL and byte capacity, same logic as memcached."""

from __future__ import annotations

import time

from agentfactory.storage.cache_backends import EmbeddedBackend
from agentfactory.storage.cache_tier import CacheTier, Lookup, Stored


def tier(**kw) -> CacheTier:
    return CacheTier(EmbeddedBackend(**kw))


def test_round_trip_and_generation_invalidation():
    c = tier()
    assert c.put("docs", "a b/ü", b"payload", {"kind": "x"}) is Stored.CACHED
    status, entry = c.get("docs", "a b/ü")
    assert status is Lookup.HIT and entry.payload == b"payload" and entry.metadata == {"kind": "x"}
    c.invalidate_tag("docs")
    assert c.get("docs", "a b/ü")[0] is Lookup.STALE
    assert c.cached("docs", ["a b/ü"]) == []


def test_least_recently_used_entry_is_evicted_at_capacity():
    c = tier(capacity_bytes=3 * 1200)
    for name in ("a", "b", "c"):
        c.put("t", name, bytes(1000))
    c.get("t", "a")  # a becomes most recent
    c.put("t", "d", bytes(1000))
    assert sorted(c.cached("t", ["a", "b", "c", "d"])) == ["a", "c", "d"]


def test_entries_expire_after_their_ttl():
    c = CacheTier(EmbeddedBackend(), ttl_s=1)
    c.put("t", "x", b"x")
    assert c.cached("t", ["x"]) == ["x"]
    time.sleep(1.1)
    assert c.get("t", "x")[0] is Lookup.MISS


def test_values_over_the_item_limit_bypass_and_are_counted():
    c = tier(item_limit=64 * 1024)
    assert c.put("t", "big", bytes(100 * 1024)) is Stored.BYPASS
    assert c.counters.bypasses == 1 and c.get("t", "big")[0] is Lookup.MISS


def test_keys_are_short_ascii_whatever_the_name():
    c = tier()
    key = c.key("ünïcødé tag with spaces", "n" * 1000)
    assert len(key) <= 250 and key.isascii() and " " not in key
    assert c.key("a", "b/c") != c.key("a/b", "c")


def test_a_clone_for_another_thread_shares_the_items_and_closing_it_keeps_them():
    backend = EmbeddedBackend()
    c = CacheTier(backend)
    c.put("t", "x", b"x")
    other = CacheTier(backend.clone())
    assert other.get("t", "x")[0] is Lookup.HIT
    other.backend.close()
    assert c.get("t", "x")[0] is Lookup.HIT


def test_error_text_names_the_blob_for_every_key_even_one_ending_in_a_dash():
    """A base64url key may end in '-'; the raw-key pattern must not stop one character short."""
    from agentfactory.storage.cache_keys import data_key, readable

    keys = [(f"tag{i}", data_key("af", f"tag{i}", "b2")) for i in range(2000)]
    dashed = [(tag, key) for tag, key in keys if key.endswith("-")]
    assert dashed, "2,000 keys and none ends in '-': the test no longer covers the case"
    for tag, key in dashed:
        assert readable(f"KeyError: b'{key}'") == f"KeyError: blob 'b2' of tag '{tag}'"
