"""Cache cases: a `retrieve` hit and miss through IOWarpEnv against raw pymemcache (and native IOWarp).

| case | ours                                                      | baseline                                 |
|------|-----------------------------------------------------------|------------------------------------------|
| hit  | `retrieve` hit: IOWarpEnv.step + reward + trajectory      | pymemcache `get` of the same cache value |
|      | the same for a 3 MiB value cached as chunks               | pymemcache `get_many` of its items       |
| miss | `retrieve` miss: IOWarpEnv.step (cache, bridge, re-cache) | native IOWarp get + pymemcache `set`     |
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import Any

from .context import Context, KiB, MemBlob, MiB, raw_memcached, size_label
from .timing import CaseResult, Sample, Target, time_batch, time_each


def _need_memcached(ctx: Context, names: list[str], target: Target) -> list[CaseResult] | None:
    if ctx.memcached_server is None:
        why = "needs a memcached server (the store runs on the embedded cache)"
        return [CaseResult(n, "time", Sample(), Sample(), target=target, skipped=why) for n in names]
    return None


def _expect(counter: Callable[[], int], number: int, what: str, fn: Callable[[], float]) -> Callable[[], float]:
    """Wrap a round so it fails loudly if it did not do what it claims (hits must be hits)."""

    def round_() -> float:
        before = counter()
        out = fn()
        done = counter() - before
        if done != number:
            raise RuntimeError(f"expected {number} {what} in a round, saw {done}")
        return out

    return round_


# -- hit path ------------------------------------------------------------------------------
def hit_path(ctx: Context) -> list[CaseResult]:
    from ..env import IOWarpEnv
    from ..trajectory import Trajectory

    targets = {KiB: Target("<=", 1.5), 512 * KiB: Target("<=", 1.2)}  # issue 10's targets
    names = {s: f"hit {size_label(s)} (time ratio)" for s in targets}
    skipped = _need_memcached(ctx, list(names.values()), Target("<=", 1.5))
    if skipped:
        return skipped
    store, raw = ctx.store, raw_memcached(ctx.memcached_server)
    env = IOWarpEnv(store, trajectory=Trajectory())
    tag = ctx.tag("hit")
    results = []
    try:
        for size, target in targets.items():
            blob = f"value_{size}"
            store.assimilate([MemBlob(blob, os.urandom(size))], tag)
            action = {"action": "retrieve", "params": {"tag": tag, "blob_name": blob}}
            key = store.cache.key(tag, blob)
            if raw.get(key) is None:
                raise RuntimeError("the value is not in memcached after assimilate")
            number = ctx.plan.n(400 if size <= 64 * KiB else 100)
            ours = _expect(lambda: store.counters.hits, number, "cache hits",
                           lambda: time_batch(lambda: env.step(action), number))
            base = lambda: time_batch(lambda: raw.get(key), number)  # noqa: E731
            a, b = ctx.compare(names[size], ours, base)
            results.append(CaseResult(names[size], "time", a, b, target=target, nbytes=0,
                                      ours_label="IOWarpEnv.step(retrieve) hit: parse, cache get, reward, trajectory",
                                      baseline_label="pymemcache Client.get of the same cache value"))
        results.append(_chunked_hit(ctx, env, raw, tag))
    finally:
        raw.close()
    return results


def _chunked_hit(ctx: Context, env: Any, raw: Any, tag: str) -> CaseResult:
    """A value above memcached's item limit, cached as chunks (issue 10): the hit against fetching its items raw."""
    from ..storage.cache_keys import chunk_key

    store, size = ctx.store, 3 * MiB
    name = f"hit {size_label(size)} chunked (time ratio)"
    before, store.cache.max_chunked = store.cache.max_chunked, 32 * MiB
    try:
        blob = "value_chunked"
        store.assimilate([MemBlob(blob, os.urandom(size))], tag)  # streamed to IOWarp, not cached...
        store.retrieve(tag, blob)  # ...the first read caches it (cache-aside)
        key = store.cache.key(tag, blob)
        keys = [key, *(chunk_key(key, i) for i in range(-(-size // store.cache.max_payload)))]
        if len(raw.get_many(keys)) != len(keys):
            raise RuntimeError("the chunked value is not in memcached after assimilate")
        action = {"action": "retrieve", "params": {"tag": tag, "blob_name": blob}}
        number = ctx.plan.n(30)
        ours = _expect(lambda: store.counters.hits, number, "cache hits",
                       lambda: time_batch(lambda: env.step(action), number))
        a, b = ctx.compare(name, ours, lambda: time_batch(lambda: raw.get_many(keys), number))
    finally:
        store.cache.max_chunked = before
    return CaseResult(name, "time", a, b, target=None, nbytes=0,
                      ours_label="IOWarpEnv.step(retrieve) hit of a 3 MiB value cached as chunks (each MAC-checked)",
                      baseline_label="pymemcache get_many of the same manifest and chunk items")


# -- miss path -----------------------------------------------------------------------------
def miss_path(ctx: Context) -> list[CaseResult]:
    from ..env import IOWarpEnv
    from ..trajectory import Trajectory

    targets = {KiB: Target("<=", 4.0), 512 * KiB: Target("<=", 2.0)}  # issue 10's targets
    sizes = tuple(targets)
    names = {s: f"miss {size_label(s)} (time ratio)" for s in sizes}
    skipped = _need_memcached(ctx, list(names.values()), targets[KiB])
    if skipped:
        return skipped
    store = ctx.store
    env = IOWarpEnv(store, trajectory=Trajectory())
    tag = ctx.tag("miss")
    results = []
    for size in sizes:
        blob = f"value_{size}"
        store.assimilate([MemBlob(blob, os.urandom(size))], tag)
        action = {"action": "retrieve", "params": {"tag": tag, "blob_name": blob}}
        number = ctx.plan.n(150 if size <= 64 * KiB else 50)
        evict = lambda: store.cache.evict(tag, [blob])  # noqa: E731
        ours = _expect(lambda: store.counters.misses, number, "cache misses",
                       lambda: time_each(lambda: env.step(action), evict, number))
        raw_key = f"afbench:miss:{uuid.uuid4().hex}"
        base = lambda: ctx.native.call("miss", tag=tag, blob=blob, server=ctx.memcached_server,  # noqa: E731
                                       key=raw_key, number=number)
        a, b = ctx.compare(names[size], ours, base)
        results.append(CaseResult(names[size], "time", a, b, target=targets[size],
                                  ours_label="IOWarpEnv.step(retrieve) miss: cache get, bridge get, re-cache, "
                                             "reward, trajectory",
                                  baseline_label="native IOWarp get (size + read) + pymemcache set, in-process"))
    return results
