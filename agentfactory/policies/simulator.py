"""Replay a `RequestStream` through a policy: miss ratio, byte miss ratio, CPU time.

The loop is deliberately plain Python over lists (numpy scalars are slower to
hash than ints): one `access` call per request is the whole cost, so a policy's
req/s here is its own cost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..workloads.stream import RequestStream
from .base import Policy


@dataclass(frozen=True)
class SimResult:
    """What one replay measured. `hits` is per request when `record=True` was asked."""

    policy: str
    requests: int
    misses: int
    bytes_requested: int
    bytes_missed: int
    cpu_s: float
    hits: np.ndarray | None = None

    @property
    def miss_ratio(self) -> float:
        return self.misses / self.requests if self.requests else 0.0

    @property
    def byte_miss_ratio(self) -> float:
        return self.bytes_missed / self.bytes_requested if self.bytes_requested else 0.0

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.cpu_s if self.cpu_s > 0 else float("inf")


def simulate(policy: Policy, stream: RequestStream, *, bytes_mode: bool = False,
             record: bool = False) -> SimResult:
    """Serve every request of `stream` with `policy` (which must start empty).

    bytes_mode: pass each request's size to the policy (capacity in bytes);
        otherwise every object counts 1 (capacity in objects).
    record: keep the per-request hit/miss vector (for learning curves).
    """
    keys = stream.keys.tolist()
    tags = stream.tags.tolist()
    sizes = stream.sizes.tolist()
    if getattr(policy, "offline", False):
        policy.prepare(stream.keys)
    access = policy.access
    hit_flags = np.zeros(len(keys), dtype=bool) if record else None
    missed_bytes = misses = 0
    start = time.process_time()
    if bytes_mode:
        for i, (key, size, tag) in enumerate(zip(keys, sizes, tags)):
            if access(key, size, tag):
                if record:
                    hit_flags[i] = True
            else:
                misses += 1
                missed_bytes += size
    else:
        for i, (key, tag) in enumerate(zip(keys, tags)):
            if access(key, 1, tag):
                if record:
                    hit_flags[i] = True
            else:
                misses += 1
                missed_bytes += sizes[i]
    cpu = time.process_time() - start
    return SimResult(policy=policy.name, requests=len(keys), misses=misses,
                     bytes_requested=stream.total_bytes, bytes_missed=missed_bytes, cpu_s=cpu, hits=hit_flags)
