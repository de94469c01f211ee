"""What the learned policy learns: the per-class reuse model and the drift detector.

Kept apart from `learned.py` (the cache structure) because these two are the
learning: what a class of objects is worth, and when the past stopped counting.
Classes are small ints packed as tag block + idle offset + count class.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable

import numpy as np

LEVELS = 16           # value levels: coarse, so counts decide between close values
MAX_CLASS = 15        # counts above this share one class
IDLE = MAX_CLASS + 1  # class offset for residents idle for a whole horizon
TAG_BLOCK = 2 * IDLE  # classes per tag: (count 0..15) x (active, idle)
MAX_TAGS = 256        # tags with classes of their own
PRIOR_WEIGHT = 50.0   # pseudo-entries pulling a tag's estimate towards all tags'
ADMIT_MIN = 0.01      # classes less likely than this to come back are not even let into the window
CLASS_BITS = 20      # packed (time << CLASS_BITS | class); class = tag block + idle offset + count class
COUNT_BITS = 24      # bucket key = level << COUNT_BITS | count
CLASS_MASK = (1 << CLASS_BITS) - 1
COUNT_MAX = (1 << COUNT_BITS) - 1


class ReuseModel:
    """P(asked again within `horizon` requests | class), learned from the stream itself.

    A request puts its key in a class; the label (re-used in time or not)
    matures `horizon` requests later, so an entry counts as "not re-used" only
    once it had its chance. Counters halve every 8 horizons to follow change.
    Classes are small ints (see `Learned._new_tag`), so the tables are lists.
    """

    def __init__(self, horizon: int) -> None:
        self.horizon = horizon
        self.entered: list[float] = []
        self.reused: list[float] = []
        self.levels: list[int] = []
        self.admit: list[bool] = []
        self.pending: deque[int] = deque()
        self._halve_at = 8 * horizon

    def grow(self, n_classes: int) -> None:
        extra = n_classes - len(self.entered)
        if extra > 0:
            self.entered += [0.0] * extra
            self.reused += [0.0] * extra
            # unknown classes start at the top level: trusted until the data says otherwise
            self.levels += [LEVELS] * extra
            self.admit += [True] * extra

    def relevel(self, now: int) -> None:
        """Turn the counters into value levels (0 .. LEVELS); halve them every 8 horizons.

        A class's estimate is shrunk towards the same count class pooled over all
        tags (empirical Bayes, `PRIOR_WEIGHT` pseudo-entries): a tag with little
        data behaves like the stream as a whole, a tag with much data like
        itself. Vectorised: a trace tagged by file or client has many classes.
        """
        entered, reused = np.asarray(self.entered), np.asarray(self.reused)
        by_tag_e, by_tag_r = entered.reshape(-1, TAG_BLOCK), reused.reshape(-1, TAG_BLOCK)
        pooled_e, pooled_r = by_tag_e.sum(axis=0), by_tag_r.sum(axis=0)
        pooled = np.where(pooled_e >= 20, np.minimum(1.0, pooled_r / np.maximum(pooled_e, 1e-9)), 1.0)
        p = np.minimum(1.0, (by_tag_r + PRIOR_WEIGHT * pooled) / (by_tag_e + PRIOR_WEIGHT)).ravel()
        scaled = LEVELS * p
        levels = np.asarray(self.levels)
        # hysteresis: a level moves only when the estimate leaves it clearly,
        # so noise does not re-rank the whole cache at every relevel
        move = np.abs(scaled - (levels + 0.5)) > 1.0
        levels = np.where(move, np.minimum(LEVELS, scaled.astype(np.int64)), levels)
        levels[::IDLE] = 0  # count 0: forgotten by a drift reset
        self.levels = levels.tolist()
        # admission is finer than level 0 (p < 1/16): a storage trace whose new blocks come back
        # 2% of the time still earns LRU's few hits; one-hit tags and scans (p ~ 0) stay out
        self.admit = (p >= ADMIT_MIN).tolist()
        if now >= self._halve_at:
            self._halve_at = now + 8 * self.horizon
            self.entered = (entered / 2).tolist()
            self.reused = (reused / 2).tolist()

    def probability(self, cls: int) -> float | None:
        entered = self.entered[cls] if cls < len(self.entered) else 0.0
        return None if entered < 10 else min(1.0, self.reused[cls] / entered)


class DriftDetector:
    """Says when the hit ratio on known keys collapses against its own long-run level.

    Blocks are sized so that a block expects about `expected_hits` hits at the
    current level: a collapse to below `drop` x level is then several standard
    deviations away from noise, and one low block is enough to act on.
    """

    def __init__(self, *, min_block: int = 500, expected_hits: int = 100, drop: float = 0.6,
                 sag: float = 0.75, floor: float = 0.02, smoothing: float = 0.2, warmup: int = 20_000) -> None:
        """`warmup` known-key requests pass after a start or a change before a collapse can
        be judged: a filling cache's hit ratio on known keys falls from ~1 as it learns,
        and that is not drift. `Learned` sets it to a few cache turnovers.

        A block below `drop` x level is a change; two blocks in a row below `sag` x
        level are one too (a policy that adapts quickly only sags after a change),
        and a sagging block does not pull the level down with it.
        """
        self.min_block, self.expected_hits = min_block, expected_hits
        self.drop, self.sag, self.floor, self.smoothing, self.warmup = drop, sag, floor, smoothing, warmup
        self.block = min_block
        self._seen = self._sagging = 0
        self._level: float | None = None
        self.changes = 0

    def observe_block(self, hits: int) -> bool:
        """Take one block's hit count on known keys; True when a change is detected."""
        ratio = hits / self.block
        self._seen += self.block
        level = self._level
        if level is not None and self._seen > self.warmup and level >= self.floor and ratio < self.sag * level:
            self._sagging += 1
            if ratio < self.drop * level or self._sagging >= 2:
                self._level, self._seen, self._sagging, self.block = None, 0, 0, self.min_block
                self.changes += 1
                return True
            return False
        self._sagging = 0
        level = self._level = ratio if level is None else level + self.smoothing * (ratio - level)
        self.block = min(20 * self.min_block, max(self.min_block, int(self.expected_hits / max(level, 1e-3))))
        return False




class WindowTuner:
    """Sizes the LRU window so that a slot earns as much at its edge as in the main cache.

    Whether recency or frequency predicts reuse is a property of the stream: on
    a stack-distance (storage-like) trace the object just asked for is the best
    bet and a whole-cache window (LRU) wins; on independent draws a tiny window
    in front of a frequency-ranked main cache wins; mixes lie in between. Two
    caches sharing a capacity are best split where their marginal hit rates are
    equal (utility-based partitioning), and each side measures its own margin
    inside: hits on the window's oldest `tail` slots, and on the main cache's
    lowest-ranked `tail` slots, per slot. Each period the window moves one step
    towards the side whose margin is clearly (z standard errors) higher; steps
    double while the direction holds. Inside margins need no evictions to be
    seen, unlike ghosts (a main cache that rejects every candidate never evicts),
    and pair the two sides on the same requests, unlike a climber comparing hit
    ratios across periods (too noisy: Caffeine's climber cost ~1% on Zipf).
    """

    def __init__(self, capacity: int, *, tail: float = 0.05, z: float = 3.0, max_step: float = 0.25) -> None:
        self.tail = self.step = self.min_step = max(1, int(tail * capacity))
        self.max_step = max(1, int(max_step * capacity))
        self.z = z
        self.window_hits = self.main_hits = 0.0
        self._direction = 0
        self.ghost: OrderedDict[Hashable, None] = OrderedDict()  # keys the window let go unadmitted

    def let_go(self, key: Hashable) -> None:
        """The window let `key` go unadmitted: a miss on it soon is the window's margin."""
        ghost = self.ghost
        ghost[key] = None
        if len(ghost) > self.tail:
            ghost.popitem(last=False)

    @staticmethod
    def boundary(buckets: dict[int, OrderedDict], slots: int) -> tuple[int, float]:
        """The rank up to which the main cache's lowest `slots` lie, and the share of its bucket inside."""
        below = 0
        for rank in sorted(buckets):
            size = sum(buckets[rank].values())
            if below + size >= slots:
                return rank, (slots - below) / size
            below += size
        return -1, 0.0

    def tails(self, window: int, main: int) -> tuple[int, int]:
        """Slots measured on each side: `tail`, or the older half of a side smaller than that."""
        return max(1, min(self.tail, window // 2)), max(1, min(self.tail, main // 2))

    def adjust(self, window: int, main: int, lru: int = -1) -> int:
        """End of a period: the signed change of the window (0 when the evidence is unclear).

        The ghost's slots, just past the window, count on the window's side: its
        margin is then measured on both sides of its edge. Margins are local, so a
        plain LRU of the same size is the global check (`lru`, see `LruShadow.verdict`):
        clearly ahead, the window (itself an LRU) grows whatever they say; not
        behind, the window does not shrink away from it.
        """
        w, m = self.window_hits, self.main_hits
        self.window_hits, self.main_hits = w / 2, m / 2
        tw, tm = self.tails(window, main)
        tw += len(self.ghost)
        gap = 1.0 if lru > 0 else w / tw - m / tm
        if lru <= 0 and (abs(gap) <= self.z * (w / tw ** 2 + m / tm ** 2 + 1e-9) ** 0.5 or w + m < 4
                         or (gap < 0 and lru == 0)):
            self._direction, self.step = 0, self.min_step
            return 0
        direction = 1 if gap > 0 else -1
        self.step = min(self.max_step, 2 * self.step) if direction == self._direction else self.min_step
        self._direction = direction
        return direction * self.step


class LruShadow:
    """A key-sampled LRU of the same capacity: the global check on the window's local margins.

    Margins see one step either way; a trace whose recency the main cache's
    ranking misreads can make a small window look locally right (the main
    cache's newest, lowest-ranked objects are the ones hit). Requests for one
    key in `rate` (a fixed multiplicative hash; crc32 for keys that are not
    ints, so runs are deterministic) replay through an LRU of capacity / `rate`,
    paired with this cache's own hit or miss on them.
    """

    def __init__(self, capacity: int, *, rate: int = 8, z: float = 3.0) -> None:
        self.mask = rate - 1 if capacity >= 64 * rate else 0  # small caches: every key
        self.capacity = max(1, capacity // (self.mask + 1))
        self.z = z
        self.keys: OrderedDict[Hashable, int] = OrderedDict()
        self.used = 0
        self.ahead = self.behind = 0.0  # LRU hit where this cache missed, and the other way round

    def access(self, key: Hashable, size: int, hit: bool) -> None:
        keys = self.keys
        if key in keys:
            keys.move_to_end(key)
            if not hit:
                self.ahead += 1
            return
        if hit:
            self.behind += 1
        keys[key] = size
        self.used += size
        while self.used > self.capacity and keys:
            self.used -= keys.popitem(last=False)[1]

    def verdict(self) -> int:
        """End of a period: 1 if the LRU is clearly ahead (z standard errors of the paired
        difference), 0 if it is not behind, -1 if it is behind."""
        a, b = self.ahead, self.behind
        self.ahead, self.behind = a / 2, b / 2
        if a - b > self.z * (a + b) ** 0.5 and a + b >= 8:
            return 1
        return 0 if a >= b else -1
