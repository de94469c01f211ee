"""Cache tier logic over any backend: keys, headers, generations, failures.

* Keys come from `cache_keys`: a hash of the names, so any name fits memcached's rules.
* memcached cannot delete by prefix, so each tag has a generation token
  (`ns:g:<hash of tag>`), a random 64-bit value replaced on `destroy`. Reads
  fetch the entry and the token in one multi-get and accept the entry only if
  both match; a token that was evicted makes the tag's entries invalid (a
  miss), never valid again, because tokens are never reused.
* The cache is best-effort: any backend failure is counted and becomes a miss
  (or a skipped write); after a failure the backend is left alone for
  `retry_after_s` so a dead memcached costs one timeout, not one per call.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pymemcache.exceptions import MemcacheError, MemcacheUnexpectedCloseError

from ..core.errors import CacheInvalidationFailed
from .cache_backends import CacheBackend
from .cache_keys import chunk_key, data_key, gen_key, readable
from .framing import (
    CACHE_HEADER_BYTES,
    CacheEntry,
    CorruptEntry,
    chunk_name,
    open_token,
    pack_cache_manifest,
    pack_cache_value,
    seal_token,
    unpack_cache_value,
)

# memcached's item limit counts the key and ~50 bytes of item header too
_ITEM_OVERHEAD = 320
# KeyError: pymemcache raises it with the raw key when a reply answers another request
# (a socket shared by two threads); it is a cache failure like the others, never the caller's
_BACKEND_ERRORS = (MemcacheError, OSError, ValueError, KeyError)
_FLAG_MASK = 0xFFFFFFFF  # memcached client flags are 32 bits


class Lookup(str, Enum):
    HIT = "hit"
    MISS = "miss"
    CORRUPT = "corrupt"  # present but failed its header/checksum: treated as a miss, then healed
    STALE = "stale"  # written under an older generation (tag destroyed since)
    ERROR = "error"  # backend unreachable


class Stored(str, Enum):
    CACHED = "cached"
    BYPASS = "bypass"  # larger than the item limit: served from IOWarp only
    ERROR = "error"


@dataclass(slots=True)
class CacheCounters:
    hits: int = 0
    misses: int = 0
    corrupt: int = 0
    stale: int = 0
    errors: int = 0
    bypasses: int = 0
    sets: int = 0
    evictions_requested: int = 0
    bytes_read: int = 0
    bytes_written: int = 0


_PROCESS_SECRET = secrets.token_bytes(32)
# (secret, token key) -> (token bytes, token) of tokens whose MAC verified (bounded, per process)
_TOKENS_SEEN: dict[tuple[bytes, str], tuple[bytes, int]] = {}
_TOKENS_SEEN_MAX = 4096


@dataclass
class CacheTier:
    backend: CacheBackend
    namespace: str = "af"
    ttl_s: int = 0
    retry_after_s: float = 1.0
    # the key of the entries' MAC: the home's secret file (services), else one per process
    secret: bytes = field(default=_PROCESS_SECRET, repr=False)
    # values above one item are cached as chunks up to this size; larger ones bypass the cache
    # (0: no chunking, every value above one item bypasses; services turn it on, see open_store)
    max_chunked: int = 0
    counters: CacheCounters = field(default_factory=CacheCounters)
    _gens: dict[str, int] = field(default_factory=dict, repr=False)
    _down_until: float = field(default=0.0, repr=False)
    last_error: str | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return self.backend.kind

    @property
    def max_payload(self) -> int:
        return self.backend.item_limit - _ITEM_OVERHEAD - CACHE_HEADER_BYTES

    # -- keys ---------------------------------------------------------------
    def key(self, tag: str, blob: str) -> str:
        return data_key(self.namespace, tag, blob)

    def gen_key(self, tag: str) -> str:
        return gen_key(self.namespace, tag)

    # -- failure handling -----------------------------------------------------
    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, exc: BaseException) -> None:
        self.counters.errors += 1
        self.last_error = readable(f"{type(exc).__name__}: {exc}")
        self._down_until = time.monotonic() + self.retry_after_s

    def forget_state(self) -> None:
        """Drop what this tier remembers of a cache it no longer talks to (tokens, a down window)."""
        self._gens.clear()
        self._down_until = 0.0
        self.last_error = None

    @property
    def down(self) -> bool:
        """Inside the window after a failure: reads miss without asking the backend."""
        return not self._available()

    # -- generations ----------------------------------------------------------
    def _decode_gen(self, gkey: str, raw: bytes | None) -> int | None:
        """The token in `raw`, MAC checked; the same bytes as last time are not checked again.

        Every read fetches the tag's token with the entry; its MAC (an
        HMAC-SHA256, ~8 us) would otherwise be recomputed on every hit for the
        same 24 bytes. Equal bytes under the same key verify equally.
        """
        if raw is None:
            return None
        seen = _TOKENS_SEEN.get((self.secret, gkey))
        if seen is not None and seen[0] == raw:
            return seen[1]
        gen = open_token(self.secret, gkey, raw)
        if gen is not None:
            if len(_TOKENS_SEEN) >= _TOKENS_SEEN_MAX:
                _TOKENS_SEEN.clear()
            _TOKENS_SEEN[(self.secret, gkey)] = (bytes(raw), gen)
        return gen

    def _current_gen(self, tag: str) -> int:
        """The tag's token, creating one if memcached has none (add is atomic)."""
        gen = self._gens.get(tag)
        if gen is not None:
            return gen
        gkey = self.gen_key(tag)
        for attempt in range(3):
            raw = self.backend.get_many([gkey]).get(gkey)
            gen = self._decode_gen(gkey, raw)
            if gen is not None:
                break
            token = secrets.randbits(64)
            sealed = seal_token(self.secret, gkey, token)
            if raw is not None and attempt:  # a forged or foreign token: replace it rather than fail forever
                self.backend.set(gkey, sealed, 0)
                gen = token
                break
            if self.backend.add(gkey, sealed, 0):
                gen = token
                break
        if gen is None:
            raise OSError("could not establish a generation token")
        self._gens[tag] = gen
        return gen

    def invalidate_tag(self, tag: str) -> None:
        """Make every cached entry of `tag` unreachable at once (a new token), or raise.

        Tried even inside the down window (a hiccup a moment ago must not make a
        destroy skip this), and a failure raises instead of returning quietly.
        """
        self._gens.pop(tag, None)
        gkey = self.gen_key(tag)
        self._must(f"tag {tag!r}", lambda: self.backend.set(gkey, seal_token(self.secret, gkey, secrets.randbits(64)), 0))

    def forget(self, tag: str, blobs: list[str]) -> None:
        """Delete entries that must no longer be served (a new version the cache did not take), or raise."""
        for blob in blobs:
            self._must(f"blob {blob!r} of tag {tag!r}", lambda b=blob: self.backend.delete(self.key(tag, b)))

    def _must(self, what: str, op: Callable[[], Any]) -> None:
        """Run an invalidation; raise `CacheInvalidationFailed` unless it is known to hold.

        A refused connection counts as done: nothing listens at that address, so
        nothing can be served from it (a stopped process still accepts
        connections, and times out instead). A connection closed under us is
        retried once on a fresh one.
        """
        for attempt in (1, 2):
            try:
                op()
                self._down_until = 0.0  # it answered: reads may use it again
                return
            except ConnectionRefusedError:
                return
            except (ConnectionResetError, BrokenPipeError, MemcacheUnexpectedCloseError) as exc:
                if attempt == 2:
                    self._failed(exc)
            except _BACKEND_ERRORS as exc:
                self._failed(exc)
                break
        raise CacheInvalidationFailed(
            f"the cache could not drop the old entries of {what} ({self.last_error})",
            hint="memcached did not answer; once it does (`agentfactory services status`), repeat the step",
        )

    # -- entries --------------------------------------------------------------
    def get(self, tag: str, blob: str) -> tuple[Lookup, CacheEntry | None]:
        if not self._available():
            self.counters.misses += 1
            return Lookup.ERROR, None
        key, gkey = data_key(self.namespace, tag, blob), gen_key(self.namespace, tag)
        try:
            found = self.backend.get_many([key, gkey])
        except _BACKEND_ERRORS as exc:
            self._failed(exc)
            self.counters.misses += 1
            return Lookup.ERROR, None
        gen = self._decode_gen(gkey, found.get(gkey))
        if gen is None:
            self._gens.pop(tag, None)
        else:
            self._gens[tag] = gen
        raw = found.get(key)
        if raw is None:
            self.counters.misses += 1
            return Lookup.MISS, None
        try:
            entry = unpack_cache_value(raw, tag, blob, self.secret)
        except CorruptEntry:
            self.counters.corrupt += 1
            self.counters.misses += 1
            return Lookup.CORRUPT, None
        if gen is None or entry.gen != gen:
            self.counters.stale += 1
            self.counters.misses += 1
            return Lookup.STALE, None
        if entry.chunks:
            try:
                entry = self._assemble(tag, blob, key, entry)
            except _BACKEND_ERRORS as exc:
                self._failed(exc)
                self.counters.misses += 1
                return Lookup.ERROR, None
            if entry is None:  # a chunk evicted, or not of this manifest: the whole value is a miss
                self.counters.misses += 1
                return Lookup.MISS, None
        self.counters.hits += 1
        self.counters.bytes_read += len(entry.payload)
        return Lookup.HIT, entry

    def _assemble(self, tag: str, blob: str, key: str, manifest: CacheEntry) -> CacheEntry | None:
        """The chunks a manifest names, verified one by one (None if any is missing or foreign)."""
        keys = [chunk_key(key, i) for i in range(manifest.chunks)]
        found = self.backend.get_many(keys)
        parts = []
        for i, k in enumerate(keys):
            raw = found.get(k)
            if raw is None:
                return None
            try:
                part = unpack_cache_value(raw, tag, chunk_name(blob, i, manifest.nonce), self.secret)
            except CorruptEntry:
                return None
            if part.gen != manifest.gen:
                return None
            parts.append(part.payload)
        payload = b"".join(parts)
        if len(payload) != manifest.size:
            return None
        return CacheEntry(manifest.gen, payload, manifest.metadata)

    def _put_chunked(self, tag: str, blob: str, gen: int, payload: bytes, metadata: dict[str, Any] | None) -> None:
        """Chunks first, manifest last: a reader finds the manifest only when its chunks were written."""
        key, nonce = self.key(tag, blob), secrets.randbits(64)
        step = self.max_payload  # a chunk is an entry without metadata (its name is in the MAC, not the item)
        view = memoryview(payload)
        count = -(-len(payload) // step)
        for i in range(count):
            chunk = pack_cache_value(gen, tag, chunk_name(blob, i, nonce), view[i * step : (i + 1) * step].tobytes(),
                                     None, self.secret)
            self.backend.set(chunk_key(key, i), chunk, self.ttl_s)
        manifest = pack_cache_manifest(gen, tag, blob, count, len(payload), nonce, metadata, self.secret)
        if len(manifest) > self.backend.item_limit - _ITEM_OVERHEAD:
            raise MemcacheError("object too large for cache (metadata)")
        self.backend.set(key, manifest, self.ttl_s, gen & _FLAG_MASK)

    def put(self, tag: str, blob: str, payload: bytes, metadata: dict[str, Any] | None = None) -> Stored:
        """Cache a value: one item, or chunks across items when it is larger than one (up to `max_chunked`)."""
        if len(payload) > max(self.max_chunked, self.max_payload):
            self.counters.bypasses += 1
            return Stored.BYPASS
        if not self._available():
            return Stored.ERROR
        try:
            gen = self._current_gen(tag)
            value = pack_cache_value(gen, tag, blob, payload, metadata, self.secret) if len(
                payload) <= self.max_payload else None
            if value is None or len(value) > self.backend.item_limit - _ITEM_OVERHEAD:
                if len(payload) > self.max_chunked:  # metadata tipped it over, and no chunking
                    self.counters.bypasses += 1
                    return Stored.BYPASS
                self._put_chunked(tag, blob, gen, payload, metadata)
                self.counters.sets += 1
                self.counters.bytes_written += len(payload)
                return Stored.CACHED
            # the token's low 32 bits ride in the item's flags, so `cached` can check an
            # entry's generation without fetching its value
            self.backend.set(self.key(tag, blob), value, self.ttl_s, gen & _FLAG_MASK)
        except MemcacheError as exc:
            if "too large" in str(exc):
                self.counters.bypasses += 1
                return Stored.BYPASS
            self._failed(exc)
            return Stored.ERROR
        except _BACKEND_ERRORS as exc:
            self._failed(exc)
            return Stored.ERROR
        self.counters.sets += 1
        self.counters.bytes_written += len(payload)
        return Stored.CACHED

    def evict(self, tag: str, blobs: list[str]) -> list[str]:
        """Drop entries; returns the names that were actually in the cache."""
        if not self._available():
            return []
        evicted = []
        try:
            for blob in blobs:
                key = self.key(tag, blob)
                if self.backend.delete(key):
                    evicted.append(blob)
                i = 0  # chunks are unreachable without their manifest; free their memory too
                while self.backend.delete(chunk_key(key, i)):
                    i += 1
        except _BACKEND_ERRORS as exc:
            self._failed(exc)
        self.counters.evictions_requested += len(blobs)
        return evicted

    def cached(self, tag: str, blobs: list[str], *, batch: int = 256) -> list[str]:
        """Which of `blobs` have an entry of the tag's current generation in the cache now.

        Presence and generation come from item flags (memcached meta get), so a
        view over large cached blobs moves no payload. A retrieve still checks
        the full 64-bit token and the checksum before serving anything.
        """
        if not blobs or not self._available():
            return []
        present: list[str] = []
        try:
            gkey = self.gen_key(tag)
            gen = self._decode_gen(gkey, self.backend.get_many([gkey]).get(gkey))
            if gen is None:
                return []
            flag = gen & _FLAG_MASK
            for start in range(0, len(blobs), batch):
                keys = {self.key(tag, b): b for b in blobs[start : start + batch]}
                found = self.backend.present(list(keys))
                present.extend(b for k, b in keys.items() if found.get(k) == flag)
        except _BACKEND_ERRORS as exc:
            self._failed(exc)
        return present

    def stats(self) -> dict[str, Any]:
        if not self._available():
            return {"kind": self.kind, "reachable": False, "last_error": self.last_error}
        try:
            return {"kind": self.kind, "reachable": True, **self.backend.stats()}
        except _BACKEND_ERRORS as exc:
            self._failed(exc)
            return {"kind": self.kind, "reachable": False, "last_error": self.last_error}
