"""ARC (FAST'03): recency list T1, frequency list T2, their ghosts B1/B2, and a learned split p.

Semantics follow libcachesim's `ARC` so miss ratios agree: p is a float,
a ghost hit in B1 grows p by max(|B2|/|B1|, 1) and one in B2 shrinks it by
max(|B1|/|B2|, 1); a ghost hit is a miss that enters T2; eviction (only when the
cache is full) uses REPLACE, and a miss on all four lists first trims B1 (when
|T1|+|B1| would exceed the capacity) or B2 (when the directory holds twice the
capacity). Sizes count in every list, so the same rules apply to bytes.

Each list is an OrderedDict (least recent first) of key -> size.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from .base import Policy


class ARC(Policy):
    """Adaptive Replacement Cache."""

    name = "arc"

    def __init__(self, capacity: int, **kwargs) -> None:
        super().__init__(capacity, **kwargs)
        self._t1: OrderedDict[Hashable, int] = OrderedDict()
        self._t2: OrderedDict[Hashable, int] = OrderedDict()
        self._b1: OrderedDict[Hashable, int] = OrderedDict()
        self._b2: OrderedDict[Hashable, int] = OrderedDict()
        self._t1_used = 0  # T2's share is used - _t1_used
        self._b1_used = 0
        self._b2_used = 0
        self.p = 0.0

    def access(self, key: Hashable, size: int = 1, tag: int = 0) -> bool:
        t2 = self._t2
        if key in t2:
            t2.move_to_end(key)
            return True
        t1 = self._t1
        s = t1.pop(key, None)
        if s is not None:
            self._t1_used -= s
            t2[key] = s
            return True
        in_b1 = in_b2 = False
        if key in self._b1:
            s = self._b1.pop(key)
            self.p = min(self.p + max(self._b2_used / self._b1_used, 1.0), self.capacity)
            self._b1_used -= s
            in_b1 = True
        elif key in self._b2:
            s = self._b2.pop(key)
            self.p = max(self.p - max(self._b1_used / self._b2_used, 1.0), 0.0)
            self._b2_used -= s
            in_b2 = True
        if size > self.capacity:
            return False
        while self.used + size > self.capacity:
            if in_b1 or in_b2:
                self._replace(in_b2)
            else:
                self._evict_full_miss(size)
        if in_b1 or in_b2:
            t2[key] = size
        else:
            t1[key] = size
            self._t1_used += size
        self.used += size
        return False

    def _replace(self, in_b2: bool) -> None:
        """REPLACE: demote T1's LRU to B1 or T2's LRU to B2, depending on p."""
        t1_used = self._t1_used
        if (t1_used > 0 and (t1_used > self.p or (t1_used == self.p and in_b2))) or not self._t2:
            key, s = self._t1.popitem(last=False)
            self._t1_used -= s
            self._b1[key] = s
            self._b1_used += s
        else:
            key, s = self._t2.popitem(last=False)
            self._b2[key] = s
            self._b2_used += s
        self.used -= s
        self._evicted(key)

    def _evict_full_miss(self, size: int) -> None:
        """Case IV of the paper: keep the directory within c (L1) and 2c (all lists)."""
        if self._t1_used + self._b1_used + size > self.capacity:
            if self._b1_used > 0:
                _, s = self._b1.popitem(last=False)
                self._b1_used -= s
                self._replace(False)
            else:
                key, s = self._t1.popitem(last=False)  # T1 alone fills the cache: no ghost
                self._t1_used -= s
                self.used -= s
                self._evicted(key)
        else:
            if self.used + self._b1_used + self._b2_used >= 2 * self.capacity and self._b2_used > 0:
                _, s = self._b2.popitem(last=False)
                self._b2_used -= s
            self._replace(False)

    def __contains__(self, key: object) -> bool:
        return key in self._t1 or key in self._t2

    def __len__(self) -> int:
        return len(self._t1) + len(self._t2)
