"""The learned policy: it learns what the stream shows, and it beats the heuristics where it claims to."""

from __future__ import annotations

import numpy as np
import pytest

from agentfactory.policies import make_policy, simulate
from agentfactory.policies.learned import DriftDetector, Learned
from agentfactory.policies.lab import compare, paired_gaps
from agentfactory.workloads import RequestStream, make_workload


def _stream(keys, tags=None) -> RequestStream:
    keys = np.asarray(keys, dtype=np.int64)
    tags = np.zeros(len(keys), dtype=np.int32) if tags is None else np.asarray(tags, dtype=np.int32)
    return RequestStream("test", keys, tags, np.ones(len(keys), dtype=np.int64), tag_names=("a", "b"))


def test_respects_capacity_and_announces_every_eviction() -> None:
    stream = make_workload("tenants", 3, requests=30_000)
    evicted: list = []
    policy = Learned(200, on_evict=evicted.append)
    admitted = set()
    for key, tag in zip(stream.keys.tolist(), stream.tags.tolist()):
        policy.access(key, 1, tag)
        assert policy.used == len(policy) <= 200
        if key in policy:
            admitted.add(key)
    assert len(set(evicted)) > 0
    assert {k for k in admitted if k not in policy} <= set(evicted)


def test_a_tag_whose_objects_never_come_back_is_not_admitted() -> None:
    rng = np.random.default_rng(0)
    n = 40_000
    tags = (rng.random(n) < 0.5).astype(np.int32)
    hot = rng.integers(0, 300, n)
    keys = np.where(tags == 0, hot, 1_000_000 + np.arange(n))  # tag 1: a new key every time
    policy = Learned(100)
    simulate(policy, _stream(keys, tags))
    assert policy.value(1, 1) == 0.0
    assert policy.value(0, 5) > 0.3
    resident_tags = [t for k, t in zip(keys[-2000:], tags[-2000:]) if k in policy]
    assert resident_tags and set(resident_tags) == {0}


def test_forgets_counts_when_popularity_is_redrawn_but_not_on_a_scan() -> None:
    shifting = make_workload("shifting", 0, requests=200_000)  # 5 phases
    policy = Learned(shifting.capacity(0.05))
    simulate(policy, shifting)
    assert 3 <= policy.drift.changes <= 5
    scan = make_workload("zipf0.8-scan", 0, requests=200_000)
    policy = Learned(scan.capacity(0.05))
    simulate(policy, scan)
    assert policy.drift.changes == 0


def test_drift_detector_ignores_noise_and_catches_a_collapse() -> None:
    rng = np.random.default_rng(5)
    detector = DriftDetector(warmup=5_000)
    changes = [detector.observe_block(int(rng.binomial(detector.block, 0.3))) for _ in range(2_000)]
    assert not any(changes)
    assert detector.observe_block(int(0.05 * detector.block))


def test_learned_is_deterministic() -> None:
    stream = make_workload("tenants", 2, requests=20_000)
    a = simulate(Learned(stream.capacity(0.05)), stream, record=True).hits
    b = simulate(Learned(stream.capacity(0.05)), stream, record=True).hits
    assert np.array_equal(a, b)


@pytest.mark.parametrize("workload", ["shifting", "tenants", "zipf0.8-scan"])
def test_learned_beats_the_best_heuristic_on_every_seed(workload: str) -> None:
    """Scaled down (60,000 requests, 3 seeds): the paired gap to the best heuristic is negative on each seed."""
    results = compare([workload], fractions=["0.05", "0.1"], seeds=[11, 12, 13], requests=60_000,
                      policies=["lru", "arc", "s3fifo", "sieve", "wtinylfu", "learned"])
    gaps = paired_gaps(results)
    for row in gaps.itertuples():
        assert row.gap < 0, f"{workload} at {row.fraction}: learned {row.policy_miss_ratio:.4f} vs {row.best_rival} {row.rival_miss_ratio:.4f}"
    # and never better than the offline optimum
    for seed in (11,):
        stream = make_workload(workload, seed, requests=60_000)
        belady = simulate(make_policy("belady", stream.capacity(0.05)), stream).miss_ratio
        learned = results.query("policy == 'learned' and seed == @seed and fraction == '0.05'")["miss_ratio"].iloc[0]
        assert belady <= learned


def test_a_window_that_no_admission_moves_for_a_horizon_keeps_ranking_its_keys() -> None:
    """A long run of keys seen once (never admitted) aged the window's keys out of the model: KeyError later."""
    keys = list(range(20)) * 30 + list(range(1_000, 21_000)) + list(range(5_000_000, 5_000_300)) * 3
    policy = Learned(100)
    result = simulate(policy, _stream(keys))
    assert policy.used == len(policy) <= 100
    assert result.requests - result.misses >= 20 * 29  # the first loop is cached
