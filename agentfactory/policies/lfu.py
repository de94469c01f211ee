"""LFU: evict the resident object with the fewest hits, as libcachesim's `LFU` does.

Frequencies count hits while resident only (an evicted object starts again at
1), and ties go to the object that entered its frequency class first, so the
miss ratios agree with libcachesim's C implementation. Buckets are OrderedDicts
(one per frequency) rather than a heap: every step is O(1) and a hit is two dict
operations.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from .base import Policy


class LFU(Policy):
    """Evict the least frequently used object; FIFO among equals."""

    name = "lfu"

    def __init__(self, capacity: int, **kwargs) -> None:
        super().__init__(capacity, **kwargs)
        self._freq: dict[Hashable, int] = {}
        self._sizes: dict[Hashable, int] = {}
        self._buckets: dict[int, OrderedDict[Hashable, None]] = {1: OrderedDict()}
        self._min = 1

    def access(self, key: Hashable, size: int = 1, tag: int = 0) -> bool:
        freq = self._freq
        f = freq.get(key)
        buckets = self._buckets
        if f is not None:
            bucket = buckets[f]
            del bucket[key]
            f += 1
            freq[key] = f
            up = buckets.get(f)
            if up is None:
                up = buckets[f] = OrderedDict()
            up[key] = None
            if not bucket and self._min == f - 1:
                self._min = f  # the object just moved there, so it is not empty
            return True
        if size > self.capacity:
            return False
        while self.used + size > self.capacity:
            self._evict_one()
        freq[key] = 1
        self._sizes[key] = size
        buckets[1][key] = None
        self._min = 1
        self.used += size
        return False

    def _evict_one(self) -> None:
        buckets = self._buckets
        m = self._min
        while not buckets.get(m):
            m += 1
        self._min = m
        victim, _ = buckets[m].popitem(last=False)
        del self._freq[victim]
        self.used -= self._sizes.pop(victim)
        self._evicted(victim)

    def __contains__(self, key: object) -> bool:
        return key in self._freq

    def __len__(self) -> int:
        return len(self._freq)
