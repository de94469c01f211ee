"""The learned policy on streams it was not shaped on: recency-dominated (storage-like) ones."""

from __future__ import annotations

import numpy as np

from agentfactory.policies import make_policy, simulate
from agentfactory.policies.learned import Learned
from agentfactory.policies.learning import LruShadow, WindowTuner
from agentfactory.workloads import RequestStream, make_workload


def stack_distance_stream(requests: int, seed: int, *, p_new: float = 0.05, scale: float = 200.0) -> RequestStream:
    """Each request re-asks for the object at a lognormal depth of the LRU stack (or a new one):
    reuse is predicted by recency alone, so LRU is close to optimal and frequency misleads."""
    rng = np.random.default_rng(seed)
    draws, depths = rng.random(requests), rng.lognormal(np.log(scale), 1.2, requests).astype(np.int64)
    stack: list[int] = []
    keys, fresh = [], 0
    for u, depth in zip(draws.tolist(), depths.tolist()):
        if u < p_new or len(stack) < 10:
            key, fresh = fresh, fresh + 1
        else:
            key = stack.pop(-1 - min(depth, len(stack) - 1))
        keys.append(key)
        stack.append(key)
    return RequestStream("stack", np.asarray(keys, dtype=np.int64), np.zeros(requests, np.int32),
                         np.ones(requests, np.int64))


def test_on_a_stack_distance_stream_it_is_as_good_as_lru() -> None:
    """Before the window sized itself, the frequency ranking lost 10-27% to LRU on such streams."""
    stream = stack_distance_stream(50_000, 0)
    for fraction in (0.05, 0.1):
        capacity = stream.capacity(fraction)
        policy = Learned(capacity)
        learned = simulate(policy, stream).miss_ratio
        lru = simulate(make_policy("lru", capacity), stream).miss_ratio
        assert learned <= 1.01 * lru, f"at {fraction}: learned {learned:.4f} vs LRU {lru:.4f}"
        assert policy._window_cap > capacity // 2  # it got there by growing the LRU window


def test_on_independent_draws_the_window_stays_small() -> None:
    stream = make_workload("zipf0.8", 3, requests=100_000)
    policy = Learned(stream.capacity(0.05))
    simulate(policy, stream)
    assert policy._window_cap <= 0.1 * policy.capacity


def test_tuner_moves_towards_the_side_that_earns_more_per_slot_and_doubles_its_steps() -> None:
    tuner = WindowTuner(1000)  # tail and first step: 50 slots
    tuner.window_hits, tuner.main_hits = 200.0, 20.0
    assert tuner.adjust(window=500, main=500) == 50
    tuner.window_hits, tuner.main_hits = 200.0, 20.0
    assert tuner.adjust(window=550, main=450) == 100
    tuner.window_hits, tuner.main_hits = 10.0, 12.0  # noise: no move, the step resets
    assert tuner.adjust(window=650, main=350) == 0
    tuner.window_hits, tuner.main_hits = 5.0, 200.0
    assert tuner.adjust(window=650, main=350) == -50
    tuner.window_hits, tuner.main_hits = 5.0, 200.0  # but never away from an LRU that is not behind
    assert tuner.adjust(window=600, main=400, lru=0) == 0


def test_lru_shadow_says_when_a_plain_lru_would_have_done_better() -> None:
    ahead = LruShadow(10)
    for key in list(range(5)) * 20:  # an LRU of 10 holds all 5 keys; this cache missed them
        ahead.access(key, 1, hit=False)
    assert ahead.verdict() == 1
    behind = LruShadow(10)
    for key in list(range(20)) * 5:  # a loop of 20 defeats an LRU of 10; this cache hit it
        behind.access(key, 1, hit=True)
    assert behind.verdict() == -1
    even = LruShadow(10)
    for i, key in enumerate(list(range(5)) * 20):  # both miss the first pass, then both hit
        even.access(key, 1, hit=i >= 5)
    assert even.verdict() == 0
