"""The heuristics on hand-computed traces, Belady's bound, sizes and the Oracle."""

from __future__ import annotations

import numpy as np
import pytest

from agentfactory.policies.arc import ARC
from agentfactory.policies.belady import Belady
from agentfactory.policies.lfu import LFU
from agentfactory.policies.oracle import Oracle
from agentfactory.policies.registry import make_policy
from agentfactory.policies.s3fifo import S3FIFO
from agentfactory.policies.sieve import SIEVE
from agentfactory.policies.simple import FIFO, LRU
from agentfactory.policies.simulator import simulate
from agentfactory.policies.tinylfu import WTinyLFU
from agentfactory.workloads.stream import RequestStream

HEURISTICS = ["lru", "fifo", "lfu", "arc", "s3fifo", "sieve", "wtinylfu"]


def run(policy, trace) -> list[bool]:
    if getattr(policy, "offline", False):
        policy.prepare(np.asarray(trace))
    return [policy.access(key) for key in trace]


def stream_of(keys, sizes=None) -> RequestStream:
    keys = np.asarray(keys, dtype=np.int64)
    sizes = np.ones(len(keys), dtype=np.int64) if sizes is None else np.asarray(sizes, dtype=np.int64)
    return RequestStream(name="t", keys=keys, tags=np.zeros(len(keys), dtype=np.int32), sizes=sizes)


A, B, C, D, E = range(5)


def test_lru_by_hand():
    # cap 2: A m [A]; B m [A B]; A h [B A]; C m, evicts B [A C]; B m, evicts A [C B]; A m, evicts C [B A]
    assert run(LRU(2), [A, B, A, C, B, A]) == [False, False, True, False, False, False]


def test_fifo_by_hand():
    # cap 2: A m [A]; B m [A B]; A h (no reorder); C m, evicts A [B C]; B h; A m, evicts B [C A]
    assert run(FIFO(2), [A, B, A, C, B, A]) == [False, False, True, False, True, False]


def test_lfu_by_hand():
    # cap 2: A m {A1}; A h {A2}; B m {A2 B1}; C m, evicts B (freq 1) {A2 C1}; C h {A2 C2};
    # B m: A and C tie at 2, A reached 2 first, so A goes {C2 B1}; A m, evicts B (freq 1) {C2 A1}
    policy = LFU(2)
    assert run(policy, [A, A, B, C, C, B, A]) == [False, True, False, False, True, False, False]
    assert {k for k in range(5) if k in policy} == {C, A}


def test_sieve_by_hand():
    # cap 3, queue oldest->newest. A B C m [A B C]; A h (visited);
    # D m: hand at A (visited: clear, pass), evicts B, hand -> C; [A C D]
    # B m: evicts C (unvisited), hand -> D; [A D B]
    # E m: evicts D, hand -> B; [A B E];  A h (it survived the sweep)
    policy = SIEVE(3)
    assert run(policy, [A, B, C, A, D, B, E, A]) == [False] * 3 + [True] + [False] * 3 + [True]
    assert {k for k in range(5) if k in policy} == {A, B, E}


def test_arc_by_hand():
    # cap 2, p = 0. A m T1=[A]; A h T2=[A]; B m T1=[B];
    # C m: |T1|+|B1|+1 = 2, not > 2: REPLACE moves B to B1 (|T1| > p); T1=[C]
    # D m: |T1|+|B1|+1 = 3 > 2 and B1 not empty: drop B from B1, REPLACE moves C to B1; T1=[D]
    # A h: still in T2 (LRU would have lost it to the C, D scan)
    policy = ARC(2)
    assert run(policy, [A, A, B, C, D, A]) == [False, True, False, False, False, True]
    assert {k for k in range(5) if k in policy} == {A, D}
    # C again: a ghost hit in B1, p grows by max(|B2|/|B1|, 1) = 1; REPLACE: |T1| = 1 is not > p,
    # so T2's LRU (A) goes to B2; C enters T2
    assert run(policy, [C]) == [False]
    assert policy.p == 1.0
    assert {k for k in range(5) if k in policy} == {C, D}


def test_s3fifo_by_hand():
    # cap 10 -> small 1, main 9, ghost 9; move to main after 2 hits in small
    policy = S3FIFO(10)
    # 0 fills small; 1..9 go to main (small full, nothing evicted yet)
    assert run(policy, list(range(10))) == [False] * 10
    # 10: small evicts 0 (no hits) into the ghost, 10 enters small
    # 0: ghost hit; small evicts 10 to the ghost; 0 enters main (main now 10 > 9)
    # 11: main over its share: evicts 1 (counter 0); 11 enters small
    # 1: miss (main evictions leave no ghost); small evicts 11; 1 enters small
    # 1, 1: hits in small (2 hits)
    # 12: small's 1 has 2 hits -> main; small empty, main 10 > 9 -> main evicts 2
    hits = run(policy, [10, 0, 11, 1, 1, 1, 12])
    assert hits == [False, False, False, False, True, True, False]
    assert 2 not in policy and 1 in policy and 0 in policy and 12 in policy
    # 11: ghost hit -> main, after small evicts 12 (no hits)
    assert run(policy, [11]) == [False]
    assert 11 in policy and 12 not in policy
    # 3 hit in main (counter 1); 13: main over share -> 3 gets a second chance, 4 is evicted
    assert run(policy, [3, 13]) == [True, False]
    assert 3 in policy and 4 not in policy


def test_wtinylfu_by_hand():
    # cap 10 -> window 1, main 9 (probation 1, protected 7). Keys 0..9 fill the window first.
    policy = WTinyLFU(10)
    assert run(policy, list(range(10))) == [False] * 10
    # 10: window victims move into main while it has room: 0 to probation, 1..7 to protected,
    # 8 to probation (both segments full, main not); 9 meets a full main and contests probation's
    # LRU 0: the sketch saw 0 twice (admitted, left the window) and 9 once, so 9 is dropped
    assert run(policy, [10]) == [False]
    assert 9 not in policy and all(k in policy for k in range(9)) and 10 in policy
    # a window hit is not counted by the sketch; a main hit is
    before = list(policy.sketch.counters)
    assert run(policy, [10]) == [True] and policy.sketch.counters == before
    assert run(policy, [3]) == [True] and sum(policy.sketch.counters) == sum(before) + policy.sketch.hashes


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("capacity", [4, 25])
def test_belady_bounds_every_policy(seed, capacity):
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, 81) ** 0.9
    stream = stream_of(rng.choice(80, size=3000, p=weights / weights.sum()))
    best = simulate(Belady(capacity), stream).misses
    for name in HEURISTICS + ["oracle"]:
        assert best <= simulate(make_policy(name, capacity), stream).misses, name


@pytest.mark.parametrize("name", HEURISTICS + ["oracle", "belady"])
def test_sizes_respected_and_every_eviction_announced(name):
    rng = np.random.default_rng(7)
    keys = rng.integers(0, 300, size=4000)
    per_object = rng.integers(1, 21, size=300)
    sizes = per_object[keys]
    keys[::97] = 300 + np.arange(len(keys[::97]))  # objects bigger than the cache: never admitted
    sizes[::97] = 1500
    capacity = 1000
    evicted: list[int] = []
    policy = make_policy(name, capacity, on_evict=evicted.append)
    if policy.offline:
        policy.prepare(keys)
    resident: set[int] = set()
    for key, size in zip(keys.tolist(), sizes.tolist()):
        evicted.clear()
        was_in = key in policy
        hit = policy.access(key, size)
        assert hit == was_in
        assert policy.used <= capacity
        for victim in evicted:
            assert victim in resident and victim not in policy
            resident.discard(victim)
        if size > capacity:
            assert key not in policy
        elif key in policy:
            resident.add(key)
        assert len(policy) == len(resident)
    assert resident == {k for k in set(keys.tolist()) if k in policy}


def test_oracle_admits_exactly_the_most_requested():
    # counts: A 5, B 3, C 2, D 1; cap 2 -> {A, B}, each admitted on its first access, C and D never
    trace = [D, C, A, B, A, C, A, B, A, B, A]
    policy = Oracle(2)
    hits = run(policy, trace)
    assert hits == [False, False, False, False, True, False, True, True, True, True, True]
    assert {k for k in range(5) if k in policy} == {A, B}
    # ties on count: the key requested first wins
    policy = Oracle(1)
    assert run(policy, [B, A, A, B]) == [False, False, False, True]


def test_oracle_per_phase_reranks():
    # phase 4: first phase's top-1 is A, second's is B: A is dropped at the boundary
    evicted: list[int] = []
    policy = Oracle(1, phase=4, on_evict=evicted.append)
    assert run(policy, [A, A, A, B, B, B, B, A]) == [False, True, True, False, False, True, True, False]
    assert evicted == [A]


def test_oracle_needs_the_future():
    with pytest.raises(RuntimeError):
        Oracle(2).access(A)
