"""The store under faults and hostile input (issue 9, items 1-7), on real services.

Each test reproduces one finding against the real memcached and IOWarp runtime
the fixtures start, and fails on the code before its fix. Kept fast: the
stalls are short (memcached timeouts of a fraction of a second).
"""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from agentfactory.core.errors import AgentFactoryError, CacheInvalidationFailed, InvalidName, NotFound
from agentfactory.config import Settings
from agentfactory.services import Services
from agentfactory.session import Session
from agentfactory.storage.cache_backends import MemcachedBackend
from agentfactory.storage.cache_tier import CacheTier
from agentfactory.storage.store import TwoTierStore
from agentfactory.sources import DataRoots

pytestmark = [pytest.mark.services, pytest.mark.faults]


def store_on(server: str, like: TwoTierStore, timeout_s: float = 1.0, retry_after_s: float = 1.0) -> TwoTierStore:
    """Another kernel's store: its own cache client (and generation memory), the same home secret and bridge."""
    cache = CacheTier(MemcachedBackend([server], timeout_s=timeout_s), retry_after_s=retry_after_s,
                      secret=like.cache.secret)
    return TwoTierStore(cache, like.iowarp)


@pytest.fixture
def session(services, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = Session(settings=services.settings, services=services, roots=DataRoots([tmp_path], cwd=tmp_path))
    yield s
    s.close()


# -- 1. an overwrite the cache cannot take drops the old cached copy -----------------
def test_overwrite_larger_than_the_item_limit_is_never_served_stale(store, services, tag, blob_factory):
    other = store_on(store.cache.backend.servers[0], store)
    store.assimilate([blob_factory("b", b"v1 is thirty bytes long......")], tag)
    assert store.retrieve(tag, "b").cache_hit and other.retrieve(tag, "b").cache_hit
    big = os.urandom(2 << 20)
    put = store.assimilate([blob_factory("b", big)], tag)
    assert put.bypassed == ["b"]
    stale = sum(s.retrieve(tag, "b").data != big for s in (store, other) for _ in range(3))
    assert stale == 0


def test_overwrite_whose_metadata_tips_it_over_the_limit_is_never_served_stale(store, tag, blob_factory):
    """The payload fits, the header and metadata do not: no cache write happens, so the old entry must go."""
    store.assimilate([blob_factory("b", b"old")], tag)
    assert store.retrieve(tag, "b").cache_hit
    new = os.urandom(store.cache.max_payload - 100)
    put = store.assimilate([blob_factory("b", new, {"note": "m" * 2000})], tag)
    assert put.bypassed == ["b"]
    assert [store.retrieve(tag, "b").data == new for _ in range(3)] == [True] * 3


# -- 2. destroy invalidates or fails, never "ok" without it -------------------------
def test_destroy_right_after_a_memcached_hiccup_still_invalidates(store, tag, blob_factory, private_memcached):
    proc, server = private_memcached
    writer, reader = store_on(server, store, 0.3), store_on(server, store, 0.3)
    writer.assimilate([blob_factory("secret", b"destroy me")], tag)
    assert reader.retrieve(tag, "secret").cache_hit
    proc.send_signal(signal.SIGSTOP)
    try:
        writer.retrieve(tag, "secret")  # times out: the writer now thinks the cache is down for a second
    finally:
        proc.send_signal(signal.SIGCONT)
    assert writer.cache.counters.errors >= 1
    writer.destroy([tag])
    with pytest.raises(NotFound):
        reader.retrieve(tag, "secret")


def test_destroy_while_memcached_stalls_fails_and_destroys_nothing(store, tag, blob_factory, private_memcached):
    proc, server = private_memcached
    writer, reader = store_on(server, store, 0.3), store_on(server, store, 0.3)
    writer.assimilate([blob_factory("keep", b"still here")], tag)
    proc.send_signal(signal.SIGSTOP)
    try:
        with pytest.raises(CacheInvalidationFailed) as err:
            writer.destroy([tag])
        assert err.value.code == "cache_invalidation_failed"
    finally:
        proc.send_signal(signal.SIGCONT)
    time.sleep(0.05)
    assert reader.retrieve(tag, "keep").data == b"still here"  # nothing destroyed, nothing lost
    writer.destroy([tag])  # and once memcached answers, the destroy goes through
    with pytest.raises(NotFound):
        reader.retrieve(tag, "keep")


# -- 4. names the runtime would truncate ----------------------------------------------
@pytest.mark.parametrize("name", ["b1\x00x", "\x00", "b1\x00"])
def test_a_nul_in_a_blob_name_is_refused_and_aliases_nothing(store, tag, blob_factory, name):
    store.assimilate([blob_factory("b1", b"the real b1")], tag)
    with pytest.raises(InvalidName):
        store.assimilate([blob_factory(name, b"an impostor")], tag)
    store.prune(tag, ["b1"])
    assert store.retrieve(tag, "b1").data == b"the real b1"  # from IOWarp, checksum intact
    with pytest.raises(InvalidName):
        store.retrieve(tag, name)


def test_a_nul_in_a_tag_name_is_refused(store, tag, blob_factory):
    with pytest.raises(InvalidName):
        store.assimilate([blob_factory("x", b"x")], f"{tag}\x00evil")
    for call in (lambda: store.retrieve(f"{tag}\x00", "x"), lambda: store.destroy([f"{tag}\x00"]),
                 lambda: store.prune(f"{tag}\x00", ["x"])):
        with pytest.raises(InvalidName):
            call()
    assert store.iowarp.list_tags(f"{tag}*") == []


# -- 7. every step is a typed error, never an exception ------------------------------------
HOSTILE = [
    {"action": "assimilate", "src": "file::\ud800.txt", "dst": "t"},
    {"action": "assimilate", "src": "folder::a\udcff/\ud83d", "dst": "t"},
    {"action": "assimilate", "src": "mem::t\ud800/b", "dst": "t"},
    {"action": "retrieve", "tag": "t\ud800", "blob_name": "b"},
    {"action": "retrieve", "tag": "t", "blob_name": "\udfff"},
    {"action": "prune", "tag": "\ud800", "blob_names": ["x"]},
    {"action": "destroy", "tags": ["\ud800"]},
    {"action": "list_blobs", "tag_pattern": "*", "prompt": "\ud800"},
    [],
    None,
    "retrieve",
    {"action": None},
    {"action": "retrieve", "params": []},
]


def test_hostile_steps_are_typed_errors_with_a_negative_reward(session):
    untyped = []
    for action in HOSTILE:
        try:
            record = session.manual(action)
        except Exception as exc:  # noqa: BLE001 - counting what escapes is the point
            untyped.append((action, type(exc).__name__))
            continue
        assert not record.ok and record.reward < 0, action
        assert record.error not in (None, "internal_error"), (action, record.error, record.message)
    assert untyped == []
    # a glob no valid name can match is an empty answer, not a crash
    empty = session.manual({"action": "query", "tag_pattern": "\ud800*"})
    assert empty.ok and empty.observation.blobs == []


@pytest.mark.parametrize("command", ["get b from t\ud800", "load file::\ud800 into t", "destroy \udcff",
                                     "prune \ud800 from t"])
def test_hostile_commands_are_typed_errors(session, command):
    record = session.run(command)
    assert not record.ok and record.reward < 0
    assert record.error != "internal_error", record.message


def test_store_refuses_undecodable_names_before_touching_a_tier(store, tag, blob_factory):
    with pytest.raises(InvalidName):
        store.assimilate([blob_factory("ok", b"1"), blob_factory("\ud800", b"2")], tag)
    assert store.iowarp.list_tags(tag) == []  # validated up front: not even the first blob landed
    assert issubclass(InvalidName, AgentFactoryError)


# -- 3. a live session follows restarted services ---------------------------------------------
def test_a_live_session_follows_services_restarted_on_new_ports(tmp_path, blob_factory):
    home = tmp_path / "moving"
    settings = Settings(home=home, cache_mode="memcached", iowarp_timeout_s=2.0)
    said: list[str] = []
    s = Session(settings=settings, services=Services(settings), roots=DataRoots([tmp_path], cwd=tmp_path),
                progress=said.append)
    try:
        s.put("t", "b", b"before the restart")
        assert s.manual({"action": "retrieve", "tag": "t", "blob_name": "b"}).cache_hit
        old = s.services.load_state()
        for pid in (old.memcached.pid, old.bridge.pid):  # both die; the runtime keeps the data
            proc = psutil.Process(pid)
            proc.kill()
            proc.wait(5)
        new = Services(settings).up()  # `agentfactory services up`, from another process
        assert new.memcached.port != old.memcached.port and new.bridge.endpoint != old.bridge.endpoint
        first = s.manual({"action": "retrieve", "tag": "t", "blob_name": "b"})
        assert first.ok, first.message  # was: StorageUnavailable from the dead bridge's port, on every call
        start = time.monotonic()
        reads = [s.manual({"action": "retrieve", "tag": "t", "blob_name": "b"}) for _ in range(50)]
        assert all(r.ok for r in reads) and time.monotonic() - start < 10  # no 2 s timeout per call
        assert sum(bool(r.cache_hit) for r in reads) == 50  # was 0: every read missed on the dead port
        assert any("services moved" in m for m in said)
        # a destroy from this session reaches the memcached the other sessions now use
        other = Services(settings).open_store()
        assert other.retrieve("t", "b").cache_hit
        assert s.manual({"action": "destroy", "tags": ["t"]}).ok
        with pytest.raises(NotFound):
            other.retrieve("t", "b")
        other.close()
    finally:
        s.close(stop_services=True)


# -- 6. forged cache entries are misses ---------------------------------------------------------
def test_a_forged_cache_entry_is_a_miss_not_served(services, store, tag, blob_factory):
    from pymemcache.client.base import Client

    from agentfactory.storage.framing import pack_cache_value

    store.assimilate([blob_factory("b", b"genuine bytes")], tag)
    mc = Client(tuple(store.cache.backend.servers[0].split(":")), default_noreply=False)
    key, gen = store.cache.key(tag, "b"), store.cache._current_gen(tag)
    # a perfectly formed entry (right header, generation and names), made without the home's secret
    forged = pack_cache_value(gen, tag, "b", b"forged bytes!", {}, secret=os.urandom(32))
    mc.set(key, forged, flags=gen & 0xFFFFFFFF)
    served = [store.retrieve(tag, "b").data for _ in range(3)]
    assert served == [b"genuine bytes"] * 3  # was: b"forged bytes!" from the cache
    assert store.cache.counters.corrupt == 1  # the forgery was seen once, then healed over
    # every kernel of this home shares the secret: a second store hits what the first cached
    assert services.open_store().retrieve(tag, "b").cache_hit
    secret_file = services.home / "cache.key"
    assert secret_file.stat().st_mode & 0o777 == 0o600
