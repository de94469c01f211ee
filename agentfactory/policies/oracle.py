"""Oracle: hold the stream's truly most frequent objects, paying each first access.

On streams whose requests are drawn independently this is (close to) the best
any online policy can do, so it measures the headroom left above the heuristics;
Belady, which also knows *when* each object comes back, is the lower bound.

Like Belady it reads the future (`prepare(keys)`), so it is a reference, not a
deployable policy. With unit sizes it admits exactly the top-`capacity` keys by
request count (ties: the key requested first wins) on their first access and
never evicts. With sizes, a top key that does not fit displaces resident keys
with fewer requests, least requested first, or is not admitted.

`phase=N` re-ranks every N requests (the "per phase" oracle for drifting
streams such as `shifting`): residents outside the new phase's top set are
evicted at the phase boundary.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable

import numpy as np

from .base import Policy


class Oracle(Policy):
    """Keep the most requested objects of the (phase of the) stream."""

    name = "oracle"
    offline = True

    def __init__(self, capacity: int, *, phase: int | None = None, **kwargs) -> None:
        super().__init__(capacity, **kwargs)
        if phase is not None and phase < 1:
            raise ValueError(f"phase must be positive, got {phase}")
        self.phase = phase
        self._phases: list[dict[Hashable, int]] | None = None  # per phase: top key -> request count
        self._position = 0
        self._top: dict[Hashable, int] = {}
        self._resident: dict[Hashable, int] = {}  # key -> size
        self._heap: list[tuple[int, int, Hashable]] = []  # (count, order, key): least requested first
        self._order = 0

    def prepare(self, keys: np.ndarray) -> None:
        """Learn the future: the full key sequence that `access` will be called with."""
        keys = np.asarray(keys)
        span = self.phase or max(len(keys), 1)
        self._phases = [self._rank(keys[start:start + span]) for start in range(0, len(keys), span)] or [{}]
        self._position = 0
        self._top = self._phases[0]

    def _rank(self, keys: np.ndarray) -> dict[Hashable, int]:
        uniq, first, counts = np.unique(keys, return_index=True, return_counts=True)
        # most requested first; among equals, the one requested first
        order = np.lexsort((first, -counts))[: self.capacity]
        return dict(zip(uniq[order].tolist(), counts[order].tolist()))

    def access(self, key: Hashable, size: int = 1, tag: int = 0) -> bool:
        if self._phases is None:
            raise RuntimeError("Oracle needs the future: call prepare(keys) before access()")
        if self.phase is not None and self._position and self._position % self.phase == 0:
            self._next_phase()
        self._position += 1
        if key in self._resident:
            return True
        count = self._top.get(key)
        if count is None or size > self.capacity:
            return False
        if self.used + size > self.capacity and not self._make_room(size, count):
            return False
        self._resident[key] = size
        self.used += size
        heapq.heappush(self._heap, (count, self._order, key))
        self._order += 1
        return False

    def _make_room(self, size: int, count: int) -> bool:
        """Evict residents requested less often than `count` until `size` fits; False if it cannot."""
        heap = self._heap
        if not heap or heap[0][0] >= count:
            return False  # every resident is requested at least as often
        freed, victims = 0, []
        for entry in heapq.nsmallest(len(heap), heap):
            if self.used - freed + size <= self.capacity:
                break
            if entry[0] >= count:
                return False
            victims.append(entry)
            freed += self._resident[entry[2]]
        if self.used - freed + size > self.capacity:
            return False
        for entry in victims:
            heap.remove(entry)
            self._drop(entry[2])
        heapq.heapify(heap)
        return True

    def _next_phase(self) -> None:
        index = self._position // self.phase
        self._top = self._phases[index] if index < len(self._phases) else {}
        for key in [k for k in self._resident if k not in self._top]:
            self._drop(key)
        self._heap = [(self._top[k], i, k) for i, k in enumerate(self._resident)]
        heapq.heapify(self._heap)

    def _drop(self, key: Hashable) -> None:
        self.used -= self._resident.pop(key)
        self._evicted(key)

    def __contains__(self, key: object) -> bool:
        return key in self._resident

    def __len__(self) -> int:
        return len(self._resident)
