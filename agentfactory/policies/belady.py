"""Belady's MIN: the offline optimum for unit sizes, the limit every policy is measured against.

It reads the future, so it is not a policy anyone can deploy: `prepare(stream)`
hands it the whole request sequence, and `access` must then be called with the
same requests in the same order. With bypass (a missed object whose next use is
farther than every resident's is not admitted) MIN is optimal for unit sizes;
with sizes it is the usual farthest-next-use approximation.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable

import numpy as np

from .base import Policy

NEVER = np.iinfo(np.int64).max


def next_use(keys: np.ndarray) -> np.ndarray:
    """For each position i, the index of the next request for keys[i] (NEVER if none)."""
    n = len(keys)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    result = np.full(n, NEVER, dtype=np.int64)
    same = sorted_keys[1:] == sorted_keys[:-1]
    result[order[:-1][same]] = order[1:][same]
    return result


class Belady(Policy):
    """Evict the resident object requested farthest in the future."""

    name = "belady"
    offline = True

    def __init__(self, capacity: int, **kwargs) -> None:
        super().__init__(capacity, **kwargs)
        self._next: list[int] | None = None
        self._position = 0
        self._resident: dict[Hashable, tuple[int, int]] = {}  # key -> (next use, size)
        self._heap: list[tuple[int, Hashable]] = []  # (-next use, key), stale entries skipped

    def prepare(self, keys: np.ndarray) -> None:
        """Learn the future: the full key sequence that `access` will be called with."""
        self._next = next_use(np.asarray(keys)).tolist()
        self._position = 0

    def access(self, key: Hashable, size: int = 1, tag: int = 0) -> bool:
        if self._next is None:
            raise RuntimeError("Belady needs the future: call prepare(keys) before access()")
        nxt = self._next[self._position]
        self._position += 1
        resident = self._resident
        if key in resident:
            resident[key] = (nxt, resident[key][1])
            heapq.heappush(self._heap, (-nxt, key))
            return True
        if size > self.capacity or nxt == NEVER:
            return False
        heap = self._heap
        while self.used + size > self.capacity:
            neg, victim = heap[0]
            entry = resident.get(victim)
            if entry is None or entry[0] != -neg:
                heapq.heappop(heap)  # stale: evicted already, or re-used since
                continue
            if entry[0] <= nxt:
                return False  # everything resident is needed sooner: bypass
            heapq.heappop(heap)
            del resident[victim]
            self.used -= entry[1]
            self._evicted(victim)
        resident[key] = (nxt, size)
        self.used += size
        heapq.heappush(heap, (-nxt, key))
        return False

    def __contains__(self, key: object) -> bool:
        return key in self._resident

    def __len__(self) -> int:
        return len(self._resident)
