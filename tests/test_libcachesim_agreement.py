"""Our heuristics agree with libcachesim (test extra) on the same streams; the peers run.

libcachesim is GPL-3.0 and installed by the `dev` extra only: it is imported
here directly (a missing install fails loudly rather than skipping).
"""

from __future__ import annotations

import builtins

import libcachesim  # noqa: F401  (the dev extra installs it; fail, do not skip, without it)
import pytest

from agentfactory.core.errors import ConfigError
from agentfactory.policies import peers
from agentfactory.policies.registry import make_policy
from agentfactory.policies.simulator import simulate
from agentfactory.workloads import synthetic

HEURISTICS = ["lru", "fifo", "lfu", "arc", "s3fifo", "sieve", "wtinylfu"]
TOLERANCE = 0.005


@pytest.mark.parametrize("workload", ["zipf0.8", "zipf0.8-scan", "shifting", "tenants"])
def test_heuristics_agree_with_libcachesim(workload):
    stream = synthetic.make_workload(workload, seed=1, requests=100_000)
    for fraction in (0.05, 0.1):
        capacity = stream.capacity(fraction)
        theirs = peers.run_peers(HEURISTICS, stream, capacity)
        for name in HEURISTICS:
            ours = simulate(make_policy(name, capacity), stream).miss_ratio
            assert abs(ours - theirs[name].miss_ratio) < TOLERANCE, (workload, fraction, name, ours,
                                                                     theirs[name].miss_ratio)


def test_belady_matches_libcachesim_belady():
    # the oracleGeneral trace carries next-access times, so libcachesim's Belady is exact here
    stream = synthetic.make_workload("zipf0.8", seed=2, requests=30_000)
    capacity = stream.capacity(0.05)
    ours = simulate(make_policy("belady", capacity), stream).miss_ratio
    assert abs(ours - peers.run_peer("belady", stream, capacity).miss_ratio) < 1e-3


def test_peers_run_on_our_stream():
    stream = synthetic.make_workload("tenants", seed=3, requests=20_000)
    capacity = stream.capacity(0.1)
    results = peers.run_peers(["lcs-cacheus", "lcs-lecar", "lcs-twoq", "lcs-3lcache"], stream, capacity)
    lru = simulate(make_policy("lru", capacity), stream).miss_ratio
    for name, result in results.items():
        assert result.policy == name and result.requests == len(stream)
        assert 0 < result.miss_ratio < 1 and result.cpu_s >= 0
        assert result.misses == round(result.miss_ratio * len(stream))
        assert result.byte_miss_ratio == pytest.approx(result.miss_ratio, abs=1e-4)  # unit sizes
        assert result.miss_ratio < lru + 0.1, name


def test_peers_byte_mode_reports_byte_misses():
    stream = synthetic.make_workload("lognormal", seed=1, requests=5_000)
    result = peers.run_peer("lcs-twoq", stream, stream.byte_capacity(0.1), bytes_mode=True)
    assert 0 < result.byte_miss_ratio < 1 and result.bytes_requested == stream.total_bytes


def test_unknown_peer_is_named():
    stream = synthetic.make_workload("zipf0.8", seed=1, requests=1_000)
    with pytest.raises(KeyError, match="lcs-cacheus"):
        peers.run_peer("lcs-nope", stream, 10)


def test_missing_libcachesim_is_a_config_error(monkeypatch):
    real_import = builtins.__import__

    def no_libcachesim(name, *args, **kwargs):
        if name == "libcachesim":
            raise ImportError("No module named 'libcachesim'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_libcachesim)
    stream = synthetic.make_workload("zipf0.8", seed=1, requests=1_000)
    with pytest.raises(ConfigError, match="pip install libcachesim"):
        peers.run_peer("lcs-twoq", stream, 10)
