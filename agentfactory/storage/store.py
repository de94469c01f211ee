"""TwoTierStore: the six data flows of ARCHITECTURE.md over cache + IOWarp.

IOWarp is the source of truth: writes land there first, reads fall back to
it, and a cache problem (down, full, evicting, corrupt) only ever costs a
miss. Every outcome is checked, so "nothing happened" is an error (a blob or
tag that does not exist, a source that yielded nothing), never a success.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from ..core.errors import BlobNotFound, NothingStored, StorageError, TagNotFound
from .cache_tier import CacheCounters, CacheTier, Lookup, Stored
from .iowarp_tier import IOWarpTier
from .names import check_name, check_names, check_text

ASSIMILATE_BATCH_BLOBS = 64
ASSIMILATE_BATCH_BYTES = 8 << 20


class BlobSource(Protocol):
    """What `assimilate` consumes (agentfactory.uri.SourceBlob fits)."""

    name: str
    size: int
    metadata: dict[str, Any]

    def chunks(self) -> Iterator[bytes]: ...


@dataclass(slots=True)
class BlobRef:
    tag: str
    blob: str
    cached: bool | None = None
    score: float | None = None


@dataclass(slots=True)
class StoreResult:
    """What one store operation did; the environment turns it into a step."""

    action: str
    tier: str
    blobs: list[BlobRef] = field(default_factory=list)
    bytes: int = 0
    cache_hit: bool | None = None
    data: bytes | None = None
    metadata: dict[str, Any] | None = None
    bypassed: list[str] = field(default_factory=list)
    healed: bool = False


@dataclass(slots=True)
class StoreCounters:
    hits: int = 0
    misses: int = 0
    bypasses: int = 0
    healed: int = 0
    errors: int = 0
    cache_down: int = 0  # reads served by IOWarp while the cache was unreachable: not misses
    bytes_from_cache: int = 0
    bytes_from_iowarp: int = 0
    bytes_to_cache: int = 0
    bytes_to_iowarp: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _count_error(fn: Callable[..., StoreResult]) -> Callable[..., StoreResult]:
    """Every failed operation counts in `counters.errors`, whatever raised it."""

    @functools.wraps(fn)
    def wrapper(self: TwoTierStore, *args: Any, **kwargs: Any) -> StoreResult:
        try:
            return fn(self, *args, **kwargs)
        except Exception:
            self.counters.errors += 1
            raise

    return wrapper


class TwoTierStore:
    def __init__(self, cache: CacheTier, iowarp: IOWarpTier) -> None:
        self.cache = cache
        self.iowarp = iowarp
        self.counters = StoreCounters()

    # -- writes ---------------------------------------------------------------
    @_count_error
    def assimilate(self, sources: Iterable[BlobSource], dst: str) -> StoreResult:
        """Write-through: each blob to IOWarp first, then to the cache if it fits.

        Small blobs travel to IOWarp in batches (one bridge round trip, puts in
        flight together); each batch is in IOWarp before any of it is cached.
        """
        result = StoreResult("assimilate", tier="both")
        check_name(dst, "tag")
        limit = self.cache.max_payload
        batch: list[tuple[str, bytes, dict[str, Any]]] = []
        batch_bytes = 0
        for src in sources:
            check_name(src.name)
            if src.size <= limit:
                batch.append((src.name, b"".join(src.chunks()), src.metadata))
                batch_bytes += src.size
                if len(batch) >= ASSIMILATE_BATCH_BLOBS or batch_bytes >= ASSIMILATE_BATCH_BYTES:
                    self._flush(dst, batch, result)
                    batch, batch_bytes = [], 0
            else:  # streamed: never held whole in memory, and too big for one item
                # the cache cannot take the new version, so the old one must go: before the
                # write (or nothing is written), and after it (a reader may have re-cached
                # the old bytes from IOWarp in between)
                self.cache.forget(dst, [src.name])
                size = self.iowarp.put_blob(dst, src.name, src.chunks(), src.metadata)
                self.cache.forget(dst, [src.name])
                self.cache.counters.bypasses += 1
                result.bypassed.append(src.name)
                self._stored(result, dst, src.name, size, cached=False)
        self._flush(dst, batch, result)
        self.counters.bypasses += len(result.bypassed)
        if not result.blobs:
            raise NothingStored(f"the source yielded no blob; nothing was stored in {dst!r}")
        return result

    def _flush(self, dst: str, batch: list[tuple[str, bytes, dict[str, Any]]], result: StoreResult) -> None:
        if not batch:
            return
        self.iowarp.put_many(dst, batch)
        uncached = []
        for name, payload, metadata in batch:
            status = self.cache.put(dst, name, payload, metadata)
            if status is Stored.CACHED:
                self.counters.bytes_to_cache += len(payload)
            else:
                uncached.append(name)
                if status is Stored.BYPASS:
                    result.bypassed.append(name)
            self._stored(result, dst, name, len(payload), cached=status is Stored.CACHED)
        # an older version cached before must not outlive a write the cache did not take
        self.cache.forget(dst, uncached)

    def _stored(self, result: StoreResult, dst: str, name: str, size: int, *, cached: bool) -> None:
        self.counters.bytes_to_iowarp += size
        result.bytes += size
        result.blobs.append(BlobRef(dst, name, cached=cached))

    # -- reads ----------------------------------------------------------------
    @_count_error
    def retrieve(self, tag: str, blob: str) -> StoreResult:
        """Cache-aside read: a verified hit, else IOWarp and re-cache."""
        check_name(tag, "tag")
        check_name(blob)
        lookup, entry = self.cache.get(tag, blob)
        if entry is not None:
            self.counters.hits += 1
            self.counters.bytes_from_cache += len(entry.payload)
            return StoreResult(
                "retrieve", tier="cache", blobs=[BlobRef(tag, blob, True)], bytes=len(entry.payload),
                cache_hit=True, data=entry.payload, metadata=entry.metadata,
            )
        outage = lookup is Lookup.ERROR
        self.counters.cache_down += outage
        self.counters.misses += not outage
        stored = self.iowarp.get_blob(tag, blob)
        self.counters.bytes_from_iowarp += len(stored.data)
        status = self.cache.put(tag, blob, stored.data, stored.metadata)
        healed = lookup is Lookup.CORRUPT and status is Stored.CACHED
        self.counters.healed += healed
        self.counters.bypasses += status is Stored.BYPASS
        return StoreResult(
            "retrieve", tier="iowarp", blobs=[BlobRef(tag, blob, status is Stored.CACHED)], bytes=len(stored.data),
            # an outage is not a miss: a hit-rate curve must not read it as the policy's fault
            cache_hit=None if outage else False, data=stored.data, metadata=stored.metadata, healed=healed,
            bypassed=[blob] if status is Stored.BYPASS else [],
        )

    def _tags(self, pattern: str) -> list[str]:
        tags = self.iowarp.list_tags(pattern)
        if not tags and not any(c in pattern for c in "*?["):
            raise TagNotFound(f"tag {pattern!r} does not exist", hint="`list blobs in *` shows the tags there are")
        return tags

    def _ranked(self, tags: list[str], prompt: str, max_results: int | None) -> list[BlobRef]:
        check_text(prompt, "prompt")
        k = max_results or 10
        hits = [BlobRef(t, b, score=s) for t in tags for b, s in self.iowarp.search(t, prompt, k)]
        hits.sort(key=lambda r: (-(r.score or 0.0), r.tag, r.blob))
        return hits[:k]

    @_count_error
    def query(self, tag_pattern: str = "*", prompt: str | None = None, max_results: int | None = None) -> StoreResult:
        """What of the matching tags is in the cache now (by relevance with `prompt`)."""
        tags = self._tags(tag_pattern)
        if prompt:
            refs = self._ranked(tags, prompt, max_results)
            by_tag: dict[str, list[BlobRef]] = {}
            for ref in refs:
                by_tag.setdefault(ref.tag, []).append(ref)
            for tag, group in by_tag.items():
                present = set(self.cache.cached(tag, [r.blob for r in group]))
                for ref in group:
                    ref.cached = ref.blob in present
            return StoreResult("query", tier="both", blobs=refs)
        refs = [BlobRef(t, b, True) for t in tags for b in self.cache.cached(t, self.iowarp.list_blobs(t))]
        return StoreResult("query", tier="cache", blobs=refs[:max_results] if max_results else refs)

    @_count_error
    def list_blobs(self, tag_pattern: str = "*", prompt: str | None = None, max_results: int | None = None) -> StoreResult:
        """What IOWarp holds persistently for the matching tags."""
        tags = self._tags(tag_pattern)
        if prompt:
            return StoreResult("list_blobs", tier="iowarp", blobs=self._ranked(tags, prompt, max_results))
        refs = [BlobRef(t, b) for t in tags for b in self.iowarp.list_blobs(t)]
        return StoreResult("list_blobs", tier="iowarp", blobs=refs[:max_results] if max_results else refs)

    # -- removal --------------------------------------------------------------
    @_count_error
    def prune(self, tag: str, blob_names: list[str]) -> StoreResult:
        """Evict from the cache only; IOWarp keeps the data. Unknown names are an error."""
        check_name(tag, "tag")
        check_names(blob_names)
        held = set(self.iowarp.list_blobs(tag))
        missing = [b for b in blob_names if b not in held]
        if missing:
            raise BlobNotFound(
                f"tag {tag!r} has no blob {', '.join(repr(m) for m in missing)}; nothing was pruned",
                hint=f"`list blobs in {tag}` shows what it holds",
            )
        evicted = set(self.cache.evict(tag, blob_names))
        return StoreResult("prune", tier="cache", blobs=[BlobRef(tag, b, cached=False) for b in blob_names if b in evicted])

    @_count_error
    def destroy(self, tags: list[str]) -> StoreResult:
        """Delete whole tags from IOWarp and make their cache entries unreachable.

        Every tag is invalidated before anything is deleted, so a cache that does
        not answer fails the step with nothing destroyed; and again afterwards,
        because a reader racing the delete may re-cache old bytes under the
        first new token.
        """
        check_names(tags, "tag")
        existing = set(self.iowarp.list_tags("*"))
        missing = [t for t in tags if t not in existing]
        if missing:
            raise TagNotFound(
                f"no tag {', '.join(repr(m) for m in missing)}; nothing was destroyed",
                hint="`list blobs in *` shows the tags there are",
            )
        result = StoreResult("destroy", tier="both")
        for tag in tags:
            self.cache.invalidate_tag(tag)
        for tag in tags:
            names = self.iowarp.list_blobs(tag)
            if not self.iowarp.delete_tag(tag):
                raise StorageError(f"IOWarp refused to delete tag {tag!r}")
            result.blobs.extend(BlobRef(tag, b, cached=False) for b in names)
        for tag in tags:
            self.cache.invalidate_tag(tag)
        return result

    # -- views ----------------------------------------------------------------
    def snapshot(self, tag_pattern: str = "*") -> list[dict[str, Any]]:
        """Per tag: blobs and bytes in IOWarp and in the cache (for tier-content plots).

        Cached bytes are the IOWarp sizes of the blobs the cache holds now.
        """
        rows = []
        for tag in self.iowarp.list_tags(tag_pattern):
            sizes = self.iowarp.blob_sizes(tag)
            cached = self.cache.cached(tag, list(sizes))
            rows.append({
                "tag": tag, "iowarp_blobs": len(sizes), "cached_blobs": len(cached),
                "iowarp_bytes": sum(sizes.values()), "cached_bytes": sum(sizes[b] for b in cached),
            })
        return rows

    def reader(self) -> TwoTierStore:
        """The same two tiers over connections of its own, for a background thread (a live dashboard).

        Neither client may be shared between threads without care: pymemcache's
        has no lock, and an error it raises would also mark this store's cache
        down for `retry_after_s` (false misses in the running cell). The reader
        keeps its own counters and failure state; close it when done.
        """
        cache = replace(self.cache, backend=self.cache.backend.clone(), counters=CacheCounters(), _gens={},
                        _down_until=0.0, last_error=None)
        iowarp = IOWarpTier(self.iowarp.endpoint, timeout_s=self.iowarp.timeout_ms / 1000,
                            part_bytes=self.iowarp.part_bytes, curve=self.iowarp.curve)
        return TwoTierStore(cache, iowarp)

    def retarget(self, *, memcached: list[str] | None, bridge: str | None) -> list[str]:
        """Point this store at services that moved (restarted on other ports); what changed, as words.

        In place: every environment and agent holding this store (or sharing its
        backend or bridge client) follows, with no stale connection left behind.
        """
        moved = []
        backend = self.cache.backend
        if memcached and hasattr(backend, "retarget") and list(backend.servers) != list(memcached):
            backend.retarget(list(memcached))
            self.cache.forget_state()
            moved.append(f"memcached {', '.join(memcached)}")
        if bridge and bridge != self.iowarp.endpoint:
            self.iowarp.retarget(bridge)
            moved.append(f"bridge {bridge}")
        return moved

    def stats(self) -> dict[str, Any]:
        return {"store": self.counters.as_dict(), "cache": {**asdict(self.cache.counters), **self.cache.stats()}}

    def close(self) -> None:
        self.iowarp.close()
        self.cache.backend.close()
