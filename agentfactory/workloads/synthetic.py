"""The policy lab's synthetic workloads, each a pure function of (seed, requests).

Every generator takes a numpy `Generator`-backed seed and never touches global
random state. `requests` scales a workload down (or up) as a whole: object
counts, phase lengths, scan periods and loop lengths shrink by the same factor,
so a 10,000-request version keeps the shape (and roughly the miss ratios) of the
1,000,000-request original.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .stream import RequestStream

DEFAULT_REQUESTS = 1_000_000


def _scaled(count: int, factor: float, minimum: int = 1) -> int:
    return max(minimum, int(round(count * factor)))


def zipf_ranks(rng: np.random.Generator, n_objects: int, alpha: float, size: int) -> np.ndarray:
    """`size` draws of ranks 0..n_objects-1 with P(rank r) proportional to (r+1)^-alpha.

    numpy's `Generator.zipf` needs alpha > 1 and has infinite support, so the
    finite Zipf used in caching papers is sampled by inverting its CDF.
    """
    weights = np.arange(1, n_objects + 1, dtype=np.float64) ** -alpha
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    return np.searchsorted(cdf, rng.random(size), side="right").clip(max=n_objects - 1).astype(np.int64)


def _stream(name: str, seed: int, keys: np.ndarray, tags: np.ndarray | None = None,
            tag_names: tuple[str, ...] = ("",), **meta) -> RequestStream:
    keys = np.ascontiguousarray(keys, dtype=np.int64)
    tags = np.zeros(len(keys), dtype=np.int32) if tags is None else tags.astype(np.int32)
    return RequestStream(name=name, keys=keys, tags=tags, sizes=np.ones(len(keys), dtype=np.int64),
                         tag_names=tag_names, seed=seed, meta=meta)


def zipf(seed: int, requests: int = DEFAULT_REQUESTS, *, alpha: float = 0.8,
         n_objects: int = 100_000) -> RequestStream:
    """Independent Zipf(alpha) requests over `n_objects`, the stationary baseline."""
    factor = requests / DEFAULT_REQUESTS
    rng = np.random.default_rng(seed)
    n = _scaled(n_objects, factor, 10)
    keys = rng.permutation(n)[zipf_ranks(rng, n, alpha, requests)]
    return _stream(f"zipf{alpha:g}", seed, keys, alpha=alpha)


def zipf_scan(seed: int, requests: int = DEFAULT_REQUESTS, *, alpha: float = 0.8,
              n_objects: int = 100_000, period: int = 100_000, scan_length: int = 10_000) -> RequestStream:
    """Zipf(alpha), and after every `period` requests a scan of `scan_length` never-seen objects.

    The scans come on top of the `requests` Zipf requests, so the stream is
    longer than `requests` by the scans; tag `scan` marks them.
    """
    factor = requests / DEFAULT_REQUESTS
    base = zipf(seed, requests, alpha=alpha, n_objects=n_objects)
    period, scan_length = _scaled(period, factor), _scaled(scan_length, factor)
    n = int(base.keys.max()) + 1
    parts, tags, next_new = [], [], n
    for start in range(0, requests, period):
        chunk = base.keys[start:start + period]
        parts.append(chunk)
        tags.append(np.zeros(len(chunk), dtype=np.int32))
        if start + period <= requests:
            parts.append(np.arange(next_new, next_new + scan_length, dtype=np.int64))
            tags.append(np.ones(scan_length, dtype=np.int32))
            next_new += scan_length
    return _stream(f"zipf{alpha:g}-scan", seed, np.concatenate(parts), np.concatenate(tags),
                   ("zipf", "scan"), alpha=alpha)


def shifting(seed: int, requests: int = DEFAULT_REQUESTS, *, alpha: float = 0.8,
             n_objects: int = 100_000, phase: int = 200_000) -> RequestStream:
    """Zipf(alpha) whose popularity ranking is re-drawn every `phase` requests (drift)."""
    factor = requests / DEFAULT_REQUESTS
    rng = np.random.default_rng(seed)
    n, phase = _scaled(n_objects, factor, 10), _scaled(phase, factor)
    ranks = zipf_ranks(rng, n, alpha, requests)
    keys = np.empty(requests, dtype=np.int64)
    for start in range(0, requests, phase):
        keys[start:start + phase] = rng.permutation(n)[ranks[start:start + phase]]
    return _stream("shifting", seed, keys, alpha=alpha, phase=phase)


TENANT_SHARES = {"hot": 0.50, "loop": 0.25, "onehit": 0.15, "scan": 0.10}


def tenants(seed: int, requests: int = DEFAULT_REQUESTS, *, hot_objects: int = 50_000, hot_alpha: float = 0.9,
            loop_objects: int = 8_000, scan_objects: int = 200_000) -> RequestStream:
    """Four tags share one cache: a Zipf `hot` set, a cyclic `loop`, `onehit` wonders and a `scan`.

    Each request picks its tag at random with the shares in `TENANT_SHARES`;
    within a tag, `loop` and `scan` walk their objects in order (wrapping),
    `onehit` asks for a new object every time. Tags own disjoint key ranges.
    """
    factor = requests / DEFAULT_REQUESTS
    rng = np.random.default_rng(seed)
    names = tuple(TENANT_SHARES)
    tags = rng.choice(len(names), size=requests, p=list(TENANT_SHARES.values())).astype(np.int32)
    hot_n, loop_n, scan_n = (_scaled(hot_objects, factor, 10), _scaled(loop_objects, factor, 2),
                             _scaled(scan_objects, factor, 2))
    keys = np.empty(requests, dtype=np.int64)
    offset = 0
    for code, name in enumerate(names):
        where = np.flatnonzero(tags == code)
        count = len(where)
        if name == "hot":
            local = rng.permutation(hot_n)[zipf_ranks(rng, hot_n, hot_alpha, count)]
            span = hot_n
        elif name == "loop":
            local, span = np.arange(count) % loop_n, loop_n
        elif name == "scan":
            local, span = np.arange(count) % scan_n, scan_n
        else:
            local, span = np.arange(count), max(count, 1)
        keys[where] = offset + local
        offset += span
    return _stream("tenants", seed, keys, tags, names)


def lognormal_sizes(seed: int, requests: int = DEFAULT_REQUESTS, *, mean_log: float = 9.0,
                    sigma: float = 1.5) -> RequestStream:
    """`zipf0.8` with lognormal object sizes (median ~8 KiB): for byte-capacity runs.

    Sizes are a property of the object (drawn once per key), as in real stores.
    """
    base = zipf(seed, requests)
    rng = np.random.default_rng([seed, 1])
    per_object = np.maximum(1, rng.lognormal(mean_log, sigma, int(base.keys.max()) + 1)).astype(np.int64)
    return RequestStream(name="lognormal", keys=base.keys, tags=base.tags, sizes=per_object[base.keys],
                         tag_names=base.tag_names, seed=seed)


WORKLOADS: dict[str, Callable[..., RequestStream]] = {
    "zipf0.8": zipf,
    "zipf0.8-scan": zipf_scan,
    "shifting": shifting,
    "tenants": tenants,
    "lognormal": lognormal_sizes,
}


def workload_names() -> list[str]:
    return list(WORKLOADS)


def make_workload(name: str, seed: int = 0, requests: int | None = None) -> RequestStream:
    """The workload `name` for `seed`, scaled to `requests` requests (default: its full size).

    Raises:
        KeyError: with the known names, when `name` is not a workload.
    """
    try:
        generator = WORKLOADS[name]
    except KeyError:
        raise KeyError(f"unknown workload {name!r}; known: {', '.join(WORKLOADS)}") from None
    if requests is not None and requests < 1:
        raise ValueError(f"requests must be positive, got {requests}")
    return generator(seed, DEFAULT_REQUESTS if requests is None else requests)
