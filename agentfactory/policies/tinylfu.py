"""W-TinyLFU: a small LRU window in front of a segmented-LRU main cache, guarded by a frequency sketch.

Semantics follow libcachesim's `WTinyLFU` (window 1% of the capacity, main an
SLRU split 1:4 into probation and protection) so miss ratios agree, including
its sketch: one counting Bloom filter sized for the main cache's object count at
a 0.1% error rate (about 14.4 counters per entry, 10 hash functions), estimate =
the minimum of an object's counters, all counters halved every 32 x (main
capacity) main-cache hits. The sketch counts each admission to the window, each
main-cache hit and each time an object leaves the window; window hits are not
counted. When the cache is full, the window's LRU object enters main only if the
sketch says it is strictly more frequent than main's victim (probation's LRU
end); otherwise it is dropped. While main has room, window victims move in
freely.

Departure from libcachesim only where it would cache nothing: the window is at
least one unit (libcachesim's is empty below 100 objects of capacity). Objects
larger than the window or the probation segment are not admitted, as there.

The sketch's per-object counter positions are computed once, when the object is
admitted, and kept with it, so a hit costs ten list increments and no hashing.
"""

from __future__ import annotations

import math
import zlib
from collections import OrderedDict
from collections.abc import Hashable

from .base import Policy

class CountingBloomFilter:
    """libcachesim's `minimalIncrementCBF`: every add bumps all k counters (no conservative update)."""

    def __init__(self, entries: int, error: float = 0.001) -> None:
        bits_per_entry = -math.log(error) / 0.480453013918201  # ln(2)^2
        self.hashes = int(math.ceil(0.693147180559945 * bits_per_entry))
        self.size = max(int(math.ceil(bits_per_entry * max(entries, 1))), 2 * self.hashes)
        self.counters = [0] * self.size
        self._max_stride = max(1, self.size // self.hashes)

    def positions(self, key: Hashable) -> tuple[int, ...]:
        """The k counter positions of `key`: (a + i*b) mod size, as in the C filter.

        Choosing the stride b below size/k means the progression wraps at most
        once, so it is built from one or two C-level `range`s instead of k
        Python-level modulos: this runs on every miss.
        """
        h = hash((key, 0x2545F491)) if type(key) is int else zlib.crc32(repr(key).encode()) * 0x9E3779B1
        n, k = self.size, self.hashes
        a = h % n
        b = 1 + (h >> 24) % self._max_stride
        end = a + k * b
        if end <= n:
            return tuple(range(a, end, b))
        head = range(a, n, b)
        return tuple(head) + tuple(range(head[-1] + b - n, end - n, b))

    def add(self, positions: tuple[int, ...]) -> None:
        counters = self.counters
        for x in positions:
            counters[x] += 1

    def estimate(self, positions: tuple[int, ...]) -> int:
        return min(map(self.counters.__getitem__, positions))

    def decay(self) -> None:
        self.counters[:] = [c >> 1 for c in self.counters]  # in place: policies hold the list


class WTinyLFU(Policy):
    """Window LRU + SLRU main cache with TinyLFU admission from window to main."""

    name = "wtinylfu"

    def __init__(self, capacity: int, *, window_ratio: float = 0.01, **kwargs) -> None:
        super().__init__(capacity, **kwargs)
        self.window_capacity = max(1, int(self.capacity * window_ratio))
        self.main_capacity = self.capacity - self.window_capacity
        self.probation_capacity = int(1 / 5 * self.main_capacity)
        self.protected_capacity = int(4 / 5 * self.main_capacity)
        self.sketch = CountingBloomFilter(self.main_capacity)
        self._decay_every = 32 * self.main_capacity
        self._main_hits = 0
        # key -> (size, sketch positions); least recently used first
        self._window: OrderedDict[Hashable, tuple[int, tuple[int, ...]]] = OrderedDict()
        self._probation: OrderedDict[Hashable, tuple[int, tuple[int, ...]]] = OrderedDict()
        self._protected: OrderedDict[Hashable, tuple[int, tuple[int, ...]]] = OrderedDict()
        self._probation_used = self._protected_used = 0
        self._counters = self.sketch.counters
        self._positions = self.sketch.positions
        self._max_admit = min(self.capacity, self.window_capacity, self.probation_capacity)

    def access(self, key: Hashable, size: int = 1, tag: int = 0) -> bool:
        window = self._window
        if key in window:
            window.move_to_end(key)
            return True
        protected = self._protected
        entry = protected.get(key)
        if entry is None:
            entry = self._probation.pop(key, None)
            if entry is not None:
                self._promote(key, entry)
        else:
            protected.move_to_end(key)
        counters = self._counters
        if entry is not None:
            for x in entry[1]:
                counters[x] += 1
            self._main_hits += 1
            if self._main_hits >= self._decay_every:
                self._main_hits = 0
                self.sketch.decay()
            return True
        if size > self._max_admit:
            return False
        while self.used + size > self.capacity:
            self._evict()
        positions = self._positions(key)
        window[key] = (size, positions)
        self.used += size
        for x in positions:
            counters[x] += 1
        return False

    # -- main cache (segmented LRU) ----------------------------------------
    def _promote(self, key: Hashable, entry: tuple[int, tuple[int, ...]]) -> None:
        """A probation hit moves to protected; protected's LRU overflow cools back to probation."""
        size = entry[0]
        self._probation_used -= size
        self._protected[key] = entry
        self._protected_used += size
        while self._protected_used > self.protected_capacity:
            old, old_entry = self._protected.popitem(last=False)
            self._protected_used -= old_entry[0]
            self._probation[old] = old_entry
            self._probation_used += old_entry[0]
            while self._probation_used > self.probation_capacity:
                self._evict_main()

    def _evict_main(self) -> None:
        if self._probation:
            key, entry = self._probation.popitem(last=False)
            self._probation_used -= entry[0]
        else:
            key, entry = self._protected.popitem(last=False)
            self._protected_used -= entry[0]
        self.used -= entry[0]
        self._evicted(key)

    def _insert_main(self, key: Hashable, entry: tuple[int, tuple[int, ...]]) -> None:
        size = entry[0]
        if self._probation_used + size <= self.probation_capacity:
            self._probation[key] = entry
            self._probation_used += size
        elif self._protected_used + size <= self.protected_capacity:
            self._protected[key] = entry  # still warming up: protected has room
            self._protected_used += size
        else:
            while self._probation_used + self._protected_used + size > self.main_capacity:
                self._evict_main()
            self._probation[key] = entry
            self._probation_used += size
        self.used += size

    # -- window -> main admission ---------------------------------------------
    def _evict(self) -> None:
        window = self._window
        counters = self._counters
        get = counters.__getitem__
        while window:
            key, entry = window.popitem(last=False)
            size, positions = entry
            self.used -= size
            if self._probation_used + self._protected_used + size <= self.main_capacity:
                self._insert_main(key, entry)  # main still has room: no contest
                for x in positions:
                    counters[x] += 1
                continue
            segment = self._probation or self._protected
            victim = segment[next(iter(segment))]
            if min(map(get, positions)) > min(map(get, victim[1])):
                self._evict_main()
                self._insert_main(key, entry)
            else:
                self._evicted(key)
            for x in positions:
                counters[x] += 1
            return
        self._evict_main()

    def __contains__(self, key: object) -> bool:
        return key in self._window or key in self._probation or key in self._protected

    def __len__(self) -> int:
        return len(self._window) + len(self._probation) + len(self._protected)
