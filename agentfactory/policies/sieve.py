"""SIEVE (NSDI'24): one FIFO queue, a visited bit, and a hand that sweeps from old to new.

A hit only sets the visited bit (lazy promotion, no reordering); on eviction the
hand moves from the oldest end towards the newest, clearing visited bits, and
evicts the first unvisited object, then stays where it stopped. New objects
enter at the newest end, behind the hand's path until it wraps.

As in libcachesim: eviction happens before the new object is inserted, and when
the hand passes the newest object it wraps to the oldest.

The queue is a dict in insertion order plus a list of keys indexed by position;
a removed slot is left as a hole and the list is compacted when holes dominate,
so evictions from the middle cost O(1) amortised instead of a linked-list walk.
"""

from __future__ import annotations

from collections.abc import Hashable

from .base import Policy

_HOLE = object()


class SIEVE(Policy):
    """Evict the first unvisited object at or before the hand (oldest side)."""

    name = "sieve"

    def __init__(self, capacity: int, **kwargs) -> None:
        super().__init__(capacity, **kwargs)
        # key -> [visited, size]
        self._meta: dict[Hashable, list] = {}
        self._slots: list = []  # oldest first; removed entries are _HOLE
        self._hand = 0  # next slot the hand inspects
        self._holes = 0

    def access(self, key: Hashable, size: int = 1, tag: int = 0) -> bool:
        meta = self._meta.get(key)
        if meta is not None:
            meta[0] = True
            return True
        if size > self.capacity:
            return False
        while self.used + size > self.capacity:
            self._evict_one()
        self._meta[key] = [False, size]
        self._slots.append(key)
        self.used += size
        return False

    def _evict_one(self) -> None:
        slots, metas = self._slots, self._meta
        i = self._hand
        n = len(slots)
        while True:
            if i >= n:
                i = 0  # passed the newest object: wrap to the oldest
            key = slots[i]
            if key is not _HOLE:
                meta = metas[key]
                if not meta[0]:
                    break
                meta[0] = False
            i += 1
        slots[i] = _HOLE
        self._holes += 1
        del metas[key]
        self.used -= meta[1]
        # the hand rests on the next newer resident; past the newest it wraps to the oldest
        j = i + 1
        while j < n and slots[j] is _HOLE:
            j += 1
        self._hand = j if j < n else 0
        if self._holes > 64 and self._holes * 2 > len(slots):
            self._compact()
        self._evicted(key)

    def _compact(self) -> None:
        """Drop holes, keeping order and the hand's place among the survivors."""
        slots = self._slots
        hand = self._hand
        live = []
        new_hand = None
        for i, key in enumerate(slots):
            if i == hand:
                new_hand = len(live)
            if key is not _HOLE:
                live.append(key)
        self._slots = live
        self._hand = 0 if new_hand is None or new_hand >= len(live) else new_hand
        self._holes = 0

    def __contains__(self, key: object) -> bool:
        return key in self._meta

    def __len__(self) -> int:
        return len(self._meta)
