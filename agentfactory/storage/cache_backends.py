"""Where cache bytes live: a real memcached (the default) or an in-process LRU.

Both expose the same six calls, so `CacheTier` holds all the logic (keys,
headers, generations) once. The embedded backend exists only for machines
with no memcached binary and none configured; `services status` says when it
is in use, and it never stands in for memcached in integration tests.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Protocol

from pymemcache.client.base import Client
from pymemcache.client.hash import HashClient

from ..core.endpoints import parse_host_port
from .memcache_wire import get_values, meta_lines, node_for, set_value

DEFAULT_ITEM_LIMIT = 1 << 20  # memcached's default -I
_STAT_KEYS = ("curr_items", "bytes", "limit_maxbytes", "evictions")


class CacheBackend(Protocol):
    kind: str
    item_limit: int

    def get_many(self, keys: list[str]) -> dict[str, bytes | bytearray]: ...
    def present(self, keys: list[str]) -> dict[str, int]: ...
    def set(self, key: str, value: bytes, ttl: int, flags: int = 0) -> None: ...
    def add(self, key: str, value: bytes, ttl: int) -> bool: ...
    def delete(self, key: str) -> bool: ...
    def stats(self) -> dict[str, Any]: ...
    def clone(self) -> CacheBackend: ...
    def close(self) -> None: ...


class MemcachedBackend:
    """pymemcache with failures made visible: no noreply sets, timeouts on every call."""

    kind = "memcached"

    def __init__(
        self,
        servers: list[str],
        *,
        item_limit: int = DEFAULT_ITEM_LIMIT,
        connect_timeout_s: float = 0.5,
        timeout_s: float = 1.0,
    ) -> None:
        self.servers = servers
        self.item_limit = item_limit
        self._timeouts = (connect_timeout_s, timeout_s)
        opts = dict(connect_timeout=connect_timeout_s, timeout=timeout_s, no_delay=True, default_noreply=False)
        if len(servers) == 1:
            self._client: Client | HashClient = Client(parse_host_port(servers[0]), **opts)
        else:
            # rendezvous hashing over nodes; a dead node is skipped for dead_timeout seconds
            self._client = HashClient(
                [parse_host_port(s) for s in servers], retry_attempts=1, retry_timeout=0.5, dead_timeout=2.0, **opts
            )

    def retarget(self, servers: list[str]) -> None:
        """Talk to `servers` from now on (a restarted memcached came back on another port).

        In place, so every store and environment holding this backend follows.
        """
        connect_timeout_s, timeout_s = self._timeouts
        old = self._client
        self.__init__(servers, item_limit=self.item_limit, connect_timeout_s=connect_timeout_s, timeout_s=timeout_s)
        old.close()

    def clone(self) -> MemcachedBackend:
        """The same servers over sockets of its own, for another thread.

        A pymemcache client is one socket and no lock: two threads sharing it
        read each other's replies (wrong values, `KeyError`, a closed socket).
        """
        connect_timeout_s, timeout_s = self._timeouts
        return MemcachedBackend(self.servers, item_limit=self.item_limit, connect_timeout_s=connect_timeout_s,
                                timeout_s=timeout_s)

    def get_many(self, keys: list[str]) -> dict[str, bytes | bytearray]:
        """Values by key; one server is read with `get_values` (the hit path), a cluster through HashClient.

        HashClient keeps its own account of dead nodes (retries, `dead_timeout`),
        which a read past it would lose; a cluster pays pymemcache's reader.
        """
        if isinstance(self._client, HashClient):
            return self._client.get_many(keys)
        return get_values(self._client, keys)

    def present(self, keys: list[str]) -> dict[str, int]:
        """Which keys exist, with their client flags, without moving any value.

        memcached's meta get (`mg KEY f`) answers `HD f<flags>` or `EN`, one line
        per key; one node's commands go in one round trip (see `memcache_wire`).
        """
        by_node: dict[int, tuple[Client, list[str]]] = {}
        for key in keys:
            node = node_for(self._client, key)
            by_node.setdefault(id(node), (node, []))[1].append(key)
        found: dict[str, int] = {}
        for node, node_keys in by_node.values():
            for key, line in zip(node_keys, meta_lines(node, [f"mg {k} f\r\n".encode() for k in node_keys])):
                if line.startswith(b"HD"):
                    flag = next((t[1:] for t in line.split()[1:] if t.startswith(b"f")), b"0")
                    found[key] = int(flag)
        return found

    def set(self, key: str, value: bytes, ttl: int, flags: int = 0) -> None:
        if isinstance(self._client, HashClient):
            self._client.set(key, value, expire=ttl, noreply=False, flags=flags)
        else:
            set_value(self._client, key, value, ttl, flags)

    def add(self, key: str, value: bytes, ttl: int) -> bool:
        return bool(self._client.add(key, value, expire=ttl, noreply=False))

    def delete(self, key: str) -> bool:
        return bool(self._client.delete(key, noreply=False))

    def stats(self) -> dict[str, Any]:
        """The memcached counters a user reads: items, bytes, capacity, evictions (summed over nodes)."""
        raw = self._client.stats()
        nodes = raw.values() if isinstance(self._client, HashClient) else [raw]
        total = dict.fromkeys(_STAT_KEYS, 0)
        for node in nodes:
            for key in _STAT_KEYS:
                total[key] += int(node.get(key.encode(), node.get(key, 0)))
        return total

    def close(self) -> None:
        self._client.close()


class EmbeddedBackend:
    """In-process LRU with TTL and a byte capacity, memcached-like semantics."""

    kind = "embedded"

    def __init__(self, *, capacity_bytes: int = 512 << 20, item_limit: int = DEFAULT_ITEM_LIMIT) -> None:
        self.capacity_bytes = capacity_bytes
        self.item_limit = item_limit
        self._items: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._flags: dict[str, int] = {}
        self._bytes = 0
        self._evictions = 0
        self._lock = threading.Lock()

    def clone(self) -> _SharedEmbedded:
        """This same in-process cache (it is locked) for another thread; closing the clone keeps it."""
        return _SharedEmbedded(self)

    def _live(self, key: str, now: float) -> bytes | None:
        item = self._items.get(key)
        if item is None:
            return None
        value, expires = item
        if expires and expires <= now:
            self._drop(key)
            return None
        self._items.move_to_end(key)
        return value

    def _drop(self, key: str) -> None:
        value, _ = self._items.pop(key)
        self._flags.pop(key, None)
        self._bytes -= len(value) + len(key)

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        now = time.monotonic()
        with self._lock:
            found = {k: self._live(k, now) for k in keys}
        return {k: v for k, v in found.items() if v is not None}

    def present(self, keys: list[str]) -> dict[str, int]:
        now = time.monotonic()
        with self._lock:
            # a presence check must not refresh recency, as memcached's `mg` without flags does not
            return {k: self._flags.get(k, 0) for k in keys
                    if k in self._items and not (self._items[k][1] and self._items[k][1] <= now)}

    def set(self, key: str, value: bytes, ttl: int, flags: int = 0) -> None:
        if len(value) > self.item_limit:
            raise ValueError("object too large for cache")
        with self._lock:
            if key in self._items:
                self._drop(key)
            self._items[key] = (value, time.monotonic() + ttl if ttl else 0.0)
            self._flags[key] = flags
            self._bytes += len(value) + len(key)
            while self._bytes > self.capacity_bytes and self._items:
                self._drop(next(iter(self._items)))
                self._evictions += 1

    def add(self, key: str, value: bytes, ttl: int) -> bool:
        with self._lock:
            if self._live(key, time.monotonic()) is not None:
                return False
        self.set(key, value, ttl)
        return True

    def delete(self, key: str) -> bool:
        with self._lock:
            if key in self._items:
                self._drop(key)
                return True
            return False

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "curr_items": len(self._items),
                "bytes": self._bytes,
                "limit_maxbytes": self.capacity_bytes,
                "evictions": self._evictions,
            }

    def close(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


class _SharedEmbedded:
    """Another user of an EmbeddedBackend: every call goes to it, but close() leaves its items alone."""

    def __init__(self, backend: EmbeddedBackend) -> None:
        self._backend = backend
        self.kind = backend.kind
        self.item_limit = backend.item_limit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def clone(self) -> _SharedEmbedded:
        return self

    def close(self) -> None:
        pass
