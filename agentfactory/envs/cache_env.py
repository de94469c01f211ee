"""CacheEnv: a cache's decisions as a Gymnasium environment (Park's cache env, Gymnasium API).

A cache only has something to decide on a miss, so the env fast-forwards
through hits and stops at each miss: admit the object or not, and, when the
cache is full, which of `k` sampled residents to evict (sampling, as in Redis,
LRB and HALP, keeps a decision O(k) however large the cache). The reward of a
decision is the number of hits served before the next one, so an episode's
return is exactly the number of hits over the stream.

Speed matters more than elegance here (an agent needs millions of decisions):
residents live in a list plus a key->slot dict (O(1) sampling and
swap-remove), per-key history in plain lists indexed by dense keys, and the
features are written by a Python loop through a memoryview onto one
preallocated float32 array (numpy item assignment costs about twice as much).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ..workloads import RequestStream, make_workload

#: per-object feature columns of an observation row (see `CacheEnv`)
RECENCY, FREQUENCY, SIZE, AGE, REUSE_GAP, CANDIDATE, FULLNESS, TAG = range(8)
FEATURE_NAMES: tuple[str, ...] = ("recency", "frequency", "size", "age", "reuse_gap", "candidate", "fullness")
#: at most this many tag one-hot columns; higher tag codes share the last one
MAX_TAG_COLUMNS = 8
_RANDOM_BATCH = 4096


@lru_cache(maxsize=4)
def _log_table(n: int) -> list[float]:
    """log1p(i) / log1p(n) for i in 0..n, as a list: indexing it is ~3x cheaper than log1p.

    Shared between envs over equally long streams (vector envs), ~32 bytes per request.
    """
    return (np.log1p(np.arange(n + 1, dtype=np.float64)) / math.log1p(n)).tolist()


class CacheEnv(gym.Env[np.ndarray, np.int64]):
    """Admission and eviction decisions of an object-count cache over a request stream.

    Each step is one miss. Action (``Discrete(k + 1)``): ``0`` bypasses (the
    object is not admitted); ``i >= 1`` admits it, evicting candidate ``i - 1``
    when the cache is full (when it is not full every ``i >= 1`` just admits).
    Reward: the hits served between this decision and the next, so the return
    is the total hit count; ``info`` carries the running ``hits``, ``misses``,
    ``evictions``, the stream ``position`` of the miss and its ``key``. The
    episode terminates at the end of the stream (never truncates).

    Observation: float32 ``Box(0, 1, shape=(k + 1, 7 + T))``. Row 0 is the
    incoming (missed) object, rows 1..k the sampled eviction candidates (all
    zero when nothing needs evicting). Every row carries the same columns, so
    a per-row scorer (one network scoring each candidate, as in LRB/HALP) sees
    everything it needs. Times are counted in requests; ``L(x)`` is
    ``log1p(x) / log1p(len(stream))``, which maps 0..len(stream) onto [0, 1]:

    - ``recency``  L(requests since the object's last access); 1 if never seen.
    - ``frequency`` L(number of earlier requests for the object, hits or not).
    - ``size``     log1p(size) / log1p(largest size in the stream).
    - ``age``      L(requests since it was admitted); 0 for the incoming object.
    - ``reuse_gap`` L(mean gap between its past accesses, rounded down); 1 with fewer than two.
    - ``candidate`` 1 on a valid candidate row, 0 on row 0 and on unused rows.
    - ``fullness`` resident objects / capacity (the same on every row).
    - ``tag_*``    one-hot of the tag (a candidate's: that of the request that
      admitted it; T = min(#tags, 8) columns, codes past the last share it).

    Candidates are drawn uniformly without replacement from the residents
    with ``self.np_random`` (seeded by ``reset(seed=...)``); a cache holding
    fewer than ``k`` objects repeats them. The stream itself is fixed at
    construction, so the same seed gives the same observations and rewards.

    A reference agent, sampled LRU (`sampled_lru_action`): admit, and evict
    the candidate with the largest recency::

        env = CacheEnv()
        obs, info = env.reset(seed=0)
        total, done = 0.0, False
        while not done:
            obs, reward, done, _, info = env.step(sampled_lru_action(obs))
            total += reward          # == info["hits"] at the end

    Raises:
        ValueError: an empty stream, ``k < 1`` or a capacity below 1.
        KeyError: an unknown workload name.
    """

    metadata = {"render_modes": []}

    def __init__(self, workload: str = "zipf0.8", *, requests: int = 20_000, cache_fraction: float = 0.05,
                 k: int = 8, stream: RequestStream | None = None, workload_seed: int = 0,
                 capacity: int | None = None, render_mode: str | None = None) -> None:
        """Args:
            workload: a `make_workload` name, used when `stream` is None.
            requests: length of that workload (default small enough for tests).
            cache_fraction: capacity as a fraction of the stream's distinct objects.
            k: eviction candidates per decision.
            stream: a `RequestStream` to serve instead of a named workload.
            workload_seed: seed of the generated workload (not of candidate sampling).
            capacity: capacity in objects, overriding `cache_fraction`.
        """
        if stream is None:
            stream = make_workload(workload, workload_seed, requests)
        if len(stream) == 0:
            raise ValueError("CacheEnv needs a stream with at least one request")
        if k < 1:
            raise ValueError(f"k (eviction candidates) must be at least 1, got {k}")
        self.stream = stream
        self.k = int(k)
        self.capacity = int(capacity) if capacity is not None else stream.capacity(cache_fraction)
        if self.capacity < 1:
            raise ValueError(f"cache capacity must be at least 1, got {self.capacity}")
        self.render_mode = render_mode

        keys = np.asarray(stream.keys)
        if keys.min() < 0 or keys.max() >= 4 * len(keys) + 1024:
            keys = np.unique(keys, return_inverse=True)[1]  # per-key lists need small dense keys
        self._keys: list[int] = keys.astype(np.int64).tolist()
        self._n_keys = int(max(self._keys)) + 1
        self.n_tags = min(len(stream.tag_names), MAX_TAG_COLUMNS)
        self._tags: list[int] = np.minimum(stream.tags, self.n_tags - 1).astype(np.int64).tolist()
        sizes = np.asarray(stream.sizes, dtype=np.float64)
        self._size_feature: list[float] = (np.log1p(sizes) / math.log1p(sizes.max())).tolist()
        self._varied_sizes = bool(sizes.min() != sizes.max())  # equal sizes: a constant column
        self._log = _log_table(len(self._keys))

        self.n_features = TAG + self.n_tags
        self.feature_names = FEATURE_NAMES + tuple(f"tag_{n or 'none'}" for n in stream.tag_names[:self.n_tags])
        self.observation_space = spaces.Box(0.0, 1.0, shape=(self.k + 1, self.n_features), dtype=np.float32)
        self.action_space = spaces.Discrete(self.k + 1)
        self._obs = np.zeros((self.k + 1, self.n_features), dtype=np.float32)
        self._flat = memoryview(self._obs).cast("B").cast("f")  # writes land in self._obs
        self._t = len(self._keys)  # no episode until reset()

    # -- Gymnasium API ---------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        """Empty the cache and stop at the first request (always a miss).

        Args:
            seed: seeds `self.np_random`, the only randomness (candidate sampling).
            options: unused.

        Returns:
            The observation of the first miss and the info dict.
        """
        super().reset(seed=seed)
        n = self._n_keys
        self._last = [-1] * n  # -1: never requested
        self._first = [0] * n
        self._count = [0] * n
        self._admitted = [0] * n
        self._slots: list[int] = []
        self._index: dict[int, int] = {}
        self._cand: list[int] = [0] * self.k
        self._random: list[float] = []
        self._next_random = 0
        self._hits = self._evictions = 0
        self._misses = 1  # the first request always misses: the cache starts empty
        self._t = 0
        self._reset_rows()
        self._observe()
        return self._obs.copy(), self._info()

    def step(self, action: int | np.integer) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply the decision for the current miss, then serve hits until the next miss.

        Returns:
            (observation, hits served, terminated, False, info).

        Raises:
            RuntimeError: stepping after the episode ended (or before reset).
            ValueError: an action outside 0..k.
        """
        t, keys = self._t, self._keys
        if t >= len(keys):
            raise RuntimeError("the episode is over (end of stream): call reset()")
        choice = int(action)
        if not 0 <= choice <= self.k:
            raise ValueError(f"action must be in 0..{self.k}, got {action!r}")
        key = keys[t]
        last, count = self._last, self._count
        if count[key] == 0:
            self._first[key] = t
        last[key] = t
        count[key] += 1
        if choice:
            slots, index = self._slots, self._index
            if len(slots) >= self.capacity:
                self._evict(self._cand[choice - 1])
            index[key] = len(slots)
            slots.append(key)
            self._admitted[key] = t

        # fast-forward through hits: the agent has nothing to decide there
        index, end, hits = self._index, len(keys), 0
        t += 1
        while t < end:
            key = keys[t]
            if key not in index:
                break
            last[key] = t
            count[key] += 1
            hits += 1
            t += 1
        self._t = t
        self._hits += hits
        terminated = t >= end
        if terminated:
            self._reset_rows()
        else:
            self._misses += 1
            self._observe()
        # a copy, the one allocation per step: agents and recorders keep observations
        # (Gymnasium's check_env tests for a reused buffer), and 9x11 floats copy in <1 us
        return self._obs.copy(), float(hits), terminated, False, self._info()

    # -- internals -------------------------------------------------------------------------

    def _reset_rows(self) -> None:
        """Blank the observation; `_observe` then writes only what changes."""
        self._obs.fill(0.0)
        self._fullness = -1.0
        self._row_tags = [-1] * (self.k + 1)
        self._candidate_rows = False
        if not self._varied_sizes:
            self._obs[0, SIZE] = self._size_feature[0]

    def _evict(self, victim: int) -> None:
        """Swap-remove `victim` from the resident list: O(1), order does not matter."""
        slots, index = self._slots, self._index
        hole = index.pop(victim)
        moved = slots.pop()
        if moved != victim:
            slots[hole] = moved
            index[moved] = hole
        self._evictions += 1

    def _draws(self, count: int) -> int:
        """Make `count` U[0,1) draws available in `self._random` from `self.np_random`.

        Drawn 4096 at a time: one numpy call per step would cost more than the step.
        Returns the index of the first of them.
        """
        i = self._next_random
        if i + count > len(self._random):
            self._random = self.np_random.random(max(_RANDOM_BATCH, count)).tolist()
            i = 0
        self._next_random = i + count
        return i

    def _pick_slots(self, resident: int) -> list[int]:
        """k distinct resident slots, uniformly (all of them, repeated, if k >= resident)."""
        k = self.k
        if resident <= k:
            return [i % resident for i in range(k)]
        i = self._draws(k)
        picks = [int(u * resident) for u in self._random[i:i + k]]
        return picks if len(set(picks)) == k else self._distinct(picks, resident)

    def _distinct(self, picks: list[int], resident: int) -> list[int]:
        """Redraw the repeats in `picks` (rare when resident >> k): sampling without replacement."""
        chosen: list[int] = []
        for slot in picks:
            while slot in chosen:
                slot = int(self._random[self._draws(1)] * resident)
            chosen.append(slot)
        return chosen

    def _observe(self) -> None:
        """Write the features of the miss at `self._t` (and of fresh candidates) into `self._obs`.

        Column offsets are literals (RECENCY=0, FREQUENCY=1, SIZE=2, AGE=3, REUSE_GAP=4):
        this loop is the env's cost, and a literal is the cheapest load there is.
        """
        resident, capacity = len(self._slots), self.capacity
        fullness = resident / capacity if resident < capacity else 1.0
        if fullness != self._fullness:
            self._obs[:, FULLNESS] = fullness
            self._fullness = fullness
        self._observe_request()
        if resident < capacity:  # no eviction needed: candidate rows stay blank
            if self._candidate_rows:
                self._obs[1:, :FULLNESS] = 0.0
                self._obs[1:, TAG:] = 0.0
                self._row_tags[1:] = [-1] * self.k
                self._candidate_rows = False
            return
        self._observe_candidates(resident)

    def _observe_request(self) -> None:
        """Row 0: the requested object's recency, frequency, size, reuse gap and tag."""
        t, flat, log, row_tags = self._t, self._flat, self._log, self._row_tags
        key = self._keys[t]
        count, last, first = self._count, self._last, self._first
        seen = count[key]
        if seen:
            since = last[key]
            flat[0] = log[t - since]
            flat[1] = log[seen]
            flat[4] = log[(since - first[key]) // (seen - 1)] if seen > 1 else 1.0
        else:
            flat[0], flat[1], flat[4] = 1.0, 0.0, 1.0
        if self._varied_sizes:
            flat[2] = self._size_feature[t]
        tag = self._tags[t]
        if row_tags[0] != tag:
            if row_tags[0] >= 0:
                flat[TAG + row_tags[0]] = 0.0
            flat[TAG + tag] = 1.0
            row_tags[0] = tag

    def _observe_candidates(self, resident: int) -> None:
        """Rows 1..k: k residents sampled uniformly, the eviction candidates."""
        t, flat, log, row_tags, tags = self._t, self._flat, self._log, self._row_tags, self._tags
        last, count, first, slots = self._last, self._count, self._first, self._slots
        varied_sizes, size_feature = self._varied_sizes, self._size_feature
        if not self._candidate_rows:
            self._obs[1:, CANDIDATE] = 1.0
            if not varied_sizes:
                self._obs[1:, SIZE] = size_feature[0]
            self._candidate_rows = True
        admitted, cand, width, k = self._admitted, self._cand, self.n_features, self.k
        i = self._next_random
        if resident > k and i + k <= len(self._random):  # the common case, inlined
            self._next_random = i + k
            picks = [int(u * resident) for u in self._random[i:i + k]]
            if len(set(picks)) < k:
                picks = self._distinct(picks, resident)
        else:
            picks = self._pick_slots(resident)
        base = 0
        for row, slot in enumerate(picks):
            base += width
            key = slots[slot]
            cand[row] = key
            seen, since, admit = count[key], last[key], admitted[key]
            flat[base] = log[t - since]
            flat[base + 1] = log[seen]
            flat[base + 3] = log[t - admit]
            flat[base + 4] = log[(since - first[key]) // (seen - 1)] if seen > 1 else 1.0
            if varied_sizes:
                flat[base + 2] = size_feature[admit]
            tag = tags[admit]
            if row_tags[row + 1] != tag:
                if row_tags[row + 1] >= 0:
                    flat[base + TAG + row_tags[row + 1]] = 0.0
                flat[base + TAG + tag] = 1.0
                row_tags[row + 1] = tag

    def _info(self) -> dict[str, Any]:
        # the same keys at every step (Minari and vector envs rely on a fixed info structure)
        done = self._t >= len(self._keys)
        return {"hits": self._hits, "misses": self._misses, "evictions": self._evictions,
                "position": self._t, "key": -1 if done else self._keys[self._t]}


def sampled_lru_action(observation: np.ndarray) -> int:
    """The sampled-LRU reference agent: always admit; evict the least recently used candidate.

    It is the baseline a learned agent has to beat on this env (Redis's
    eviction policy), and the test that the env rewards good decisions.
    """
    if observation[1, CANDIDATE] == 0.0:
        return 1  # not full: admit, nothing to evict
    return 1 + int(np.argmax(observation[1:, RECENCY]))
