"""Queue-order heuristics: LRU and FIFO (the baselines everything is measured against)."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable

from .base import Policy


class LRU(Policy):
    """Evict the least recently used object."""

    name = "lru"

    def __init__(self, capacity: int, **kwargs) -> None:
        super().__init__(capacity, **kwargs)
        self._queue: OrderedDict[Hashable, int] = OrderedDict()

    def access(self, key: Hashable, size: int = 1, tag: int = 0) -> bool:
        queue = self._queue
        if key in queue:
            queue.move_to_end(key)
            return True
        if size > self.capacity:
            return False
        queue[key] = size
        self.used += size
        while self.used > self.capacity:
            old, old_size = queue.popitem(last=False)
            self.used -= old_size
            self._evicted(old)
        return False

    def __contains__(self, key: object) -> bool:
        return key in self._queue

    def __len__(self) -> int:
        return len(self._queue)


class FIFO(Policy):
    """Evict the oldest admitted object; hits change nothing."""

    name = "fifo"

    def __init__(self, capacity: int, **kwargs) -> None:
        super().__init__(capacity, **kwargs)
        self._sizes: dict[Hashable, int] = {}
        # a deque, not dict order: popping a dict's first key is O(deleted slots)
        self._queue: deque[Hashable] = deque()

    def access(self, key: Hashable, size: int = 1, tag: int = 0) -> bool:
        sizes = self._sizes
        if key in sizes:
            return True
        if size > self.capacity:
            return False
        sizes[key] = size
        self._queue.append(key)
        self.used += size
        while self.used > self.capacity:
            old = self._queue.popleft()
            self.used -= sizes.pop(old)
            self._evicted(old)
        return False

    def __contains__(self, key: object) -> bool:
        return key in self._sizes

    def __len__(self) -> int:
        return len(self._sizes)
