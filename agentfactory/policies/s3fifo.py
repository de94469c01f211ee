"""S3-FIFO (SOSP'23): a small probationary FIFO, a main FIFO with 2-bit clock, and a ghost FIFO.

Semantics follow libcachesim's `S3FIFO` (its defaults too) so miss ratios agree:

- small queue = 10% of the capacity, main = the rest, ghost = 90% (of the
  capacity, in the same unit) remembering keys recently dropped from small;
- a miss whose key is in the ghost goes straight to main; any other miss goes to
  small (before the first eviction, to main once small is full);
- evicting from small: an object hit at least `move_to_main_threshold` (2) times
  while in small moves to main, otherwise it is dropped into the ghost;
- evicting from main: an object with a non-zero counter is reinserted with its
  counter (capped at 3) minus one, otherwise dropped;
- main is evicted from when it is over its share (or small is empty).

Departures from libcachesim, only where it would cache nothing: the small queue
is at least one unit, and an object admitted to it may fill it exactly
(libcachesim never caches an object whose size reaches the small queue's, i.e.
anything at all below 20 objects of capacity). Objects larger than the small
queue are not admitted (probation is impossible for them), as in libcachesim.

Queues are deques of keys plus a dict of counters, so every step is O(1).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable

from .base import Policy


class S3FIFO(Policy):
    """Quick demotion through a small FIFO; frequent objects live in main."""

    name = "s3fifo"

    def __init__(self, capacity: int, *, small_ratio: float = 0.1, ghost_ratio: float = 0.9,
                 move_to_main_threshold: int = 2, **kwargs) -> None:
        super().__init__(capacity, **kwargs)
        self.small_capacity = max(1, int(self.capacity * small_ratio))
        self.main_capacity = self.capacity - self.small_capacity
        self.ghost_capacity = int(self.capacity * ghost_ratio)
        self.threshold = move_to_main_threshold
        self._small: dict[Hashable, int] = {}  # key -> hits while in small
        self._small_q: deque[Hashable] = deque()
        self._main: dict[Hashable, int] = {}  # key -> clock counter
        self._main_q: deque[Hashable] = deque()
        self._ghost: OrderedDict[Hashable, int] = OrderedDict()  # key -> size
        self._sizes: dict[Hashable, int] = {}
        self._small_used = 0  # main's share is used - _small_used
        self._ghost_used = 0
        self._has_evicted = False

    def access(self, key: Hashable, size: int = 1, tag: int = 0) -> bool:
        main = self._main  # main holds most hits: look there first (the queues are disjoint)
        f = main.get(key)
        if f is not None:
            if f < 3:
                main[key] = f + 1
            return True
        small = self._small
        f = small.get(key)
        if f is not None:
            small[key] = f + 1
            return True
        ghost_size = self._ghost.pop(key, None)
        if ghost_size is not None:
            self._ghost_used -= ghost_size
        if size > self.small_capacity:
            return False
        while self.used + size > self.capacity:
            self._has_evicted = True
            if self.used - self._small_used > self.main_capacity or not self._small_used:
                self._evict_main()
            else:
                self._evict_small()
        self._sizes[key] = size
        if ghost_size is not None or (not self._has_evicted and self._small_used >= self.small_capacity):
            main[key] = 0
            self._main_q.append(key)
        else:
            small[key] = 0
            self._small_q.append(key)
            self._small_used += size
        self.used += size
        return False

    def _evict_small(self) -> None:
        small, queue, sizes = self._small, self._small_q, self._sizes
        main = self._main
        threshold = self.threshold
        while queue:
            key = queue.popleft()
            f = small.pop(key)
            size = sizes[key]
            self._small_used -= size
            if f >= threshold:
                main[key] = 0
                self._main_q.append(key)
                continue
            del sizes[key]
            self.used -= size
            if size <= self.ghost_capacity:  # remember it: a quick return goes straight to main
                ghost = self._ghost
                while self._ghost_used + size > self.ghost_capacity:
                    self._ghost_used -= ghost.popitem(last=False)[1]
                ghost[key] = size
                self._ghost_used += size
            if self.on_evict is not None:
                self.on_evict(key)
            return

    def _evict_main(self) -> None:
        main, queue = self._main, self._main_q
        while queue:
            key = queue.popleft()
            f = main[key]
            if f:
                main[key] = f - 1
                queue.append(key)
                continue
            del main[key]
            self.used -= self._sizes.pop(key)
            if self.on_evict is not None:
                self.on_evict(key)
            return

    def __contains__(self, key: object) -> bool:
        return key in self._small or key in self._main

    def __len__(self) -> int:
        return len(self._small) + len(self._main)
