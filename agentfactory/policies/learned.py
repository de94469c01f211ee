"""The learned policy: exact frequency ranked by a learned value per (tag, count) class.

Why this shape. On streams whose requests are drawn independently the best
online policy holds the objects with the highest request *rate*; exact counts
rank them better than a sketch (W-TinyLFU) or recency (LRU, ARC). What counts
alone get wrong is what a count cannot see, and this policy learns it, online,
from the stream it serves:

* **Value of a class** (`ReuseModel`): for every class (tag, count so far, idle
  or not), the probability of another request within a horizon of a few cache
  turnovers, from the labels the stream reveals (a histogram model in the
  spirit of Baleen's admission and LHD's classes). Objects rank by (value
  level, count): a tag whose objects never come back (one-hit wonders, scans) is
  worth 0 and not even admitted; a loop's objects are kept from their first
  request. With a single tag value rises with count: plain LFU.
* **Idleness**: a resident not asked for within a horizon enters its class's
  *idle* twin; on a stationary stream idle objects come back as often as the
  others, on a working set that moves on they sink to level 0 and go first.
* **Memory** (`DriftDetector`): counts run since the last detected change. The
  hit ratio on *known* keys (seen before) is tracked per block; when it
  collapses the popularity ranking has changed (a scan cannot trigger this: its
  keys are unknown), and counts are forgotten so new favourites win at once.
* An LRU **window** in front, as in W-TinyLFU, lets a new object prove itself
  before it competes with the main cache; a window object that comes to
  outrank the main cache's victim swaps places with it.
* **Recency or frequency** (`WindowTuner`): which one predicts reuse is a
  property of the stream (storage traces are often recency-dominated: LRU is
  near optimal there). The window starts at 1% and moves to where a slot earns
  as much at its edge as at the main cache's: towards the whole cache on a
  stack-distance trace, 1% on independent draws, in between on mixes.

Eviction takes the least recently used object of the lowest (value, count)
bucket; a window leaver is admitted only if it ranks above that victim.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable
from zlib import crc32

import numpy as np

from .base import Policy
from .learning import CLASS_BITS, CLASS_MASK, COUNT_BITS, COUNT_MAX, IDLE, MAX_CLASS, MAX_TAGS, TAG_BLOCK
from .learning import DriftDetector, LruShadow, ReuseModel, WindowTuner

__all__ = ["DriftDetector", "Learned", "ReuseModel", "WindowTuner"]


class Learned(Policy):
    """Frequency-ranked cache whose ranking, admission and memory are learned online.

    Args:
        capacity: objects (or bytes, when sizes are bytes).
        window: share of the capacity for the LRU window in front (the start and the least).
        horizon: the model's label horizon, in cache capacities of requests.
        aging: counts halve every `aging` capacities of requests (bounds the history).
        idle_after: a resident is idle after `idle_after` horizons without a request.
        adaptive: let the window size itself (False: it stays at `window`).
    """

    name = "learned"

    def __init__(self, capacity: int, *, window: float = 0.01, horizon: float = 2.5,
                 aging: float = 32.0, idle_after: float = 1.0, adaptive: bool = True, **kwargs) -> None:
        super().__init__(capacity, **kwargs)
        self._now = 0
        self._count: dict[Hashable, int] = {}
        self._last: dict[Hashable, int] = {}       # key -> now << CLASS_BITS | class
        self._tag_codes: dict[Hashable, int] = {}
        self._window: OrderedDict[Hashable, int] = OrderedDict()
        self._buckets: dict[int, OrderedDict[Hashable, int]] = {}
        self._where: dict[Hashable, int] = {}      # resident in main -> its bucket key
        self._min = 0
        self._main_used = self._window_used = 0
        self._window_cap = self._window_min = max(1, int(capacity * window))
        self._main_cap = capacity - self._window_cap
        self._idle_after = idle_after
        self.model = ReuseModel(max(1000, int(horizon * capacity)))
        self._relevel_every = max(1000, capacity // 2)
        self._until_relevel = self._relevel_every
        self._aging_every = max(10_000, int(aging * capacity))
        self._until_aging = self._aging_every
        self.tuner = WindowTuner(capacity) if adaptive else None
        self._tail_age = self._tail_rank = -1  # the margins the tuner measures; none until the cache is full
        self._tail_share = 0.0
        self._span = 0.0  # the age at which objects leave the window (moving average): the LRU's reach
        self._ghost = self.tuner.ghost if adaptive else {}
        self.shadow = LruShadow(capacity) if adaptive else None
        self.drift = DriftDetector(warmup=max(5 * 500, 8 * capacity))
        self._known = self._known_hits = 0
        self._block_start = 0
        self._recent: deque[Hashable] = deque(maxlen=20 * self.drift.min_block)

    def _new_tag(self, tag: Hashable) -> int:
        """Give a tag its block of classes; returns the block's first class.

        Past `MAX_TAGS` tags (a trace tagged by file or client), newcomers share
        the last block: the model stays small and the relevel cheap.
        """
        if len(self._tag_codes) >= MAX_TAGS:
            base = self._tag_codes[tag] = (MAX_TAGS - 1) * TAG_BLOCK
            return base
        base = self._tag_codes[tag] = len(self._tag_codes) * TAG_BLOCK
        self.model.grow(base + TAG_BLOCK)
        return base

    # -- the request path ----------------------------------------------------
    def access(self, key: Hashable, size: int = 1, tag: Hashable = 0) -> bool:
        now = self._now = self._now + 1
        self._recent.append(key)
        count = self._count.get(key, 0) + 1
        self._count[key] = count
        code = self._tag_codes.get(tag)
        if code is None:
            code = self._new_tag(tag)
        cls = code + (count if count < MAX_CLASS else MAX_CLASS)
        model = self.model
        horizon_start = now - model.horizon
        previous = self._last.get(key)
        if previous is not None and (previous >> CLASS_BITS) >= horizon_start:
            model.reused[previous & CLASS_MASK] += 1.0
        stamp = now << CLASS_BITS | cls
        self._last[key] = stamp
        pending = model.pending
        pending.append(stamp)
        while pending[0] >> CLASS_BITS < horizon_start:
            model.entered[pending.popleft() & CLASS_MASK] += 1.0

        where = self._where
        if key in where:
            hit = True
            level = model.levels[cls]
            rank = where[key]
            if rank <= self._tail_rank:
                self.tuner.main_hits += 1.0 if rank < self._tail_rank else self._tail_share
            self._move(key, rank, level << COUNT_BITS | (count if count < COUNT_MAX else COUNT_MAX))
        elif key in self._window:
            hit = True
            self._window.move_to_end(key)
            rank = model.levels[cls] << COUNT_BITS | (count if count < COUNT_MAX else COUNT_MAX)
            if rank > self._min and self._where:
                self._promote(key, rank)
            elif now - (previous >> CLASS_BITS) >= self._tail_age >= 0:
                self.tuner.window_hits += 1  # the main cache would not hold it: the window's own hit
        else:
            hit = False
            if key in self._ghost:
                del self._ghost[key]
                self.tuner.window_hits += 1
        if count > 1:
            self._known += 1
            self._known_hits += hit
            if self._known >= self.drift.block:
                if self.drift.observe_block(self._known_hits):
                    self._forget(now - self._block_start)
                self._known = self._known_hits = 0
                self._block_start = now
        if not hit and size <= self.capacity and model.admit[cls]:
            self._admit_to_window(key, size)
        shadow = self.shadow  # one key in 8, by a fixed hash (str keys: crc32, not the salted hash())
        if shadow is not None and not (key if type(key) is int else crc32(repr(key).encode())) * 2654435761 >> 16 & shadow.mask:
            shadow.access(key, size, hit)
        self._until_relevel -= 1
        if self._until_relevel <= 0:
            self._relevel()
        return hit

    def _move(self, key: Hashable, old: int, new: int) -> None:
        buckets = self._buckets
        bucket = buckets[old]
        size = bucket.pop(key)
        if not bucket:
            del buckets[old]
            if old == self._min:
                self._min = min(buckets) if buckets else new
        target = buckets.get(new)
        if target is None:
            target = buckets[new] = OrderedDict()
        target[key] = size
        self._where[key] = new
        if new < self._min:
            self._min = new

    def _admit_to_window(self, key: Hashable, size: int) -> None:
        window = self._window
        window[key] = size
        self._window_used += size
        self.used += size
        if self._window_used > self._window_cap:
            self._drain_window()

    def _drain_window(self) -> None:
        """Offer the window's oldest to the main cache until the window fits its share."""
        window = self._window
        while self._window_used > self._window_cap:
            key, size = window.popitem(last=False)
            self._span += 0.01 * (self._now - (self._last[key] >> CLASS_BITS) - self._span)
            self._window_used -= size
            self.used -= size
            self._offer_to_main(key, size)

    def _rank(self, key: Hashable) -> int:
        """(value level, count) packed in one int: the order of the main cache."""
        count = self._count.get(key, 0)
        cls = self._last[key] & CLASS_MASK
        base = cls - cls % IDLE  # the tag's block, idle or not
        level = self.model.levels[base + (count if count < MAX_CLASS else MAX_CLASS)]
        return level << COUNT_BITS | (count if count < COUNT_MAX else COUNT_MAX)

    def _offer_to_main(self, key: Hashable, size: int) -> None:
        """Admit a window leaver if it outranks the main cache's victims (the TinyLFU rule)."""
        rank = self._rank(key)
        while self._main_used + size > self._main_cap:
            if not self._where or self._min >= rank:
                if self.tuner is not None:
                    self.tuner.let_go(key)
                self._evicted(key)
                return
            victim, victim_size = self._pop_main()
            self.used -= victim_size
            self._evicted(victim)
        self._place(key, size, rank)
        self._main_used += size
        self.used += size

    def _place(self, key: Hashable, size: int, rank: int) -> None:
        bucket = self._buckets.get(rank)
        if bucket is None:
            bucket = self._buckets[rank] = OrderedDict()
        bucket[key] = size
        if not self._where or rank < self._min:
            self._min = rank
        self._where[key] = rank

    def _promote(self, key: Hashable, rank: int) -> None:
        """A window object now outranks the main cache's victim: they swap places.

        Else a large window locks the main cache: what earns a place there is asked
        for again, so never leaves the window; stale favourites face only cold leavers.
        """
        bucket = self._buckets[self._min]
        if self._window[key] > bucket[next(iter(bucket))]:
            return  # larger than the victim's place (byte sizes): it waits for its turn to leave
        size = self._window.pop(key)
        victim, victim_size = self._pop_main()
        self._window[victim] = victim_size
        self._window.move_to_end(victim, last=False)
        self._window_used += victim_size - size
        self._main_used += size
        self._place(key, size, rank)
        self._drain_window()  # a larger victim (byte sizes) may not fit the window: it leaves first

    def _pop_main(self) -> tuple[Hashable, int]:
        """Take the main cache's victim out (the least recently used of the lowest bucket)."""
        buckets = self._buckets
        bucket = buckets[self._min]
        victim, size = bucket.popitem(last=False)
        if not bucket:
            del buckets[self._min]
            self._min = min(buckets) if buckets else 0
        del self._where[victim]
        self._main_used -= size
        return victim, size

    def _tune_window(self) -> None:
        """Resize the window by the tuner's verdict, then set the margins of the next period.

        The window's oldest slots are told by age (an LRU's positions grow about
        linearly with age), the main cache's lowest by rank.
        """
        if self.used < self.capacity or not self._window:
            return
        self._resize_window(self.tuner.adjust(self._window_cap, self._main_cap, self.shadow.verdict()))
        tail_window, tail_main = self.tuner.tails(self._window_cap, self._main_cap)
        self._tail_age = int(self._span * (1 - tail_window / self._window_cap))
        self._tail_rank, self._tail_share = self.tuner.boundary(self._buckets, tail_main)

    def _resize_window(self, delta: int) -> None:
        """Move `delta` of capacity from the main cache to the window (negative: back).

        Growing demotes the main cache's lowest to the window's old end rather than
        dropping them; shrinking offers the window's oldest to the main cache.
        """
        new = min(self.capacity - self._window_min, max(self._window_min, self._window_cap + delta))
        if new == self._window_cap:
            return
        delta, self._window_cap = new - self._window_cap, new
        self._main_cap -= delta
        window = self._window
        while self._main_used > self._main_cap and self._where:
            key, size = self._pop_main()
            window[key] = size
            window.move_to_end(key, last=False)
            self._window_used += size
        self._drain_window()

    # -- learning --------------------------------------------------------------
    def _relevel(self) -> None:
        """New value levels from the model; residents of classes whose level moved are re-ranked."""
        self._until_relevel = self._relevel_every
        before = np.asarray(self.model.levels)
        self.model.relevel(self._now)
        moved = set(np.flatnonzero(before != np.asarray(self.model.levels)).tolist())
        self._until_aging -= self._relevel_every
        if self._until_aging <= 0:
            self._until_aging = self._aging_every
            self._count = {k: c >> 1 for k, c in self._count.items() if c > 1}
            horizon_start = (self._now - self.model.horizon) << CLASS_BITS
            # residents keep their class, in the window as in the main cache: a window that no
            # admission has moved for a horizon (a stream of never-admitted one-hit keys) still ranks them
            window, where = self._window, self._where
            self._last = {k: s for k, s in self._last.items() if s >= horizon_start or k in where or k in window}
            self._rebuild()
        elif moved:
            self._rerank(moved)
        self._mark_idle()
        if self.tuner is not None:
            self._tune_window()

    def _rerank(self, classes: set[int]) -> None:
        """Re-rank the residents whose class is in `classes` (LRU order kept among them)."""
        last, count_of = self._last, self._count
        stale = []
        for key, rank in self._where.items():
            cls = last[key] & CLASS_MASK
            count = count_of.get(key, 0)
            if cls - cls % IDLE + (count if count < MAX_CLASS else MAX_CLASS) in classes:
                stale.append(key)
        for key in sorted(stale, key=last.__getitem__):
            self._move(key, self._where[key], self._rank(key))

    def _rebuild(self) -> None:
        """Every main-cache resident re-ranked, LRU order kept (after counts were halved or forgotten)."""
        sizes = {k: b[k] for b in self._buckets.values() for k in b}
        self._buckets, self._where, self._min = {}, {}, 0
        for key in sorted(sizes, key=self._last.__getitem__):
            self._place(key, sizes[key], self._rank(key))

    def _mark_idle(self) -> None:
        """Residents not asked for within a horizon move to their tag's idle classes.

        Being idle is a trial like any request: the model learns whether idle
        objects of a class still come back (stationary streams: as often as
        before) or not (a working set that moves on: then they sink to level 0).
        """
        now = self._now
        oldest = (now - int(self.model.horizon * self._idle_after)) << CLASS_BITS
        last, count_of, levels = self._last, self._count, self.model.levels
        pending = self.model.pending
        stale = [k for k in self._where if last[k] < oldest and (last[k] & CLASS_MASK) % TAG_BLOCK < IDLE]
        for key in sorted(stale, key=last.__getitem__):
            cls = last[key] & CLASS_MASK
            count = count_of.get(key, 0)
            idle = cls - cls % IDLE + IDLE + (count if count < MAX_CLASS else MAX_CLASS)
            stamp = now << CLASS_BITS | idle
            last[key] = stamp
            pending.append(stamp)
            rank = levels[idle] << COUNT_BITS | min(count, COUNT_MAX)
            if rank != self._where[key]:  # same rank: keep its place, idleness is not a use
                self._move(key, self._where[key], rank)

    def _forget(self, since: int) -> None:
        """The popularity ranking changed: counts from before say nothing now.

        The requests of the block that showed the change already belong to the
        new regime, so they are counted again rather than lost.
        """
        recent = list(self._recent)[-since:]
        self._count = {}
        for key in recent:
            self._count[key] = self._count.get(key, 0) + 1
        self._rebuild()

    # -- views -------------------------------------------------------------------
    def __contains__(self, key: object) -> bool:
        return key in self._where or key in self._window

    def __len__(self) -> int:
        return len(self._where) + len(self._window)

    def value(self, tag: Hashable, count: int) -> float | None:
        """The learned P(re-use within the horizon) for an object of `tag` seen `count` times."""
        base = self._tag_codes.get(tag)
        if base is None:
            return None
        return self.model.probability(base + min(count, MAX_CLASS))
