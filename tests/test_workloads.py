"""Workloads are pure functions of their seed and keep the shapes the policy lab promises."""

from __future__ import annotations

import numpy as np
import pytest

from agentfactory.core.errors import ConfigError
from agentfactory.workloads import make_workload, read_trace, workload_names


@pytest.mark.parametrize("name", workload_names())
def test_same_seed_same_stream_other_seed_other_stream(name: str) -> None:
    a, b, c = (make_workload(name, seed, requests=20_000) for seed in (7, 7, 8))
    assert np.array_equal(a.keys, b.keys) and np.array_equal(a.tags, b.tags) and np.array_equal(a.sizes, b.sizes)
    assert not np.array_equal(a.keys, c.keys)


def test_workloads_never_touch_global_random_state() -> None:
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    make_workload("tenants", 1, requests=5_000)
    assert np.array_equal(np.random.get_state()[1], before)


def test_full_size_zipf_has_the_documented_shape() -> None:
    stream = make_workload("zipf0.8", 1)
    assert len(stream) == 1_000_000
    assert 90_000 < stream.n_objects <= 100_000
    counts = np.bincount(stream.keys)
    # Zipf 0.8: the most popular object gets ~1/H(100k, 0.8) = 2.2% of requests
    assert 0.019 < counts.max() / len(stream) < 0.025


def test_scan_workload_adds_scans_of_new_objects_every_period() -> None:
    stream = make_workload("zipf0.8-scan", 0, requests=100_000)  # period 10,000, scans of 1,000
    assert len(stream) == 100_000 + 10 * 1_000
    scans = stream.tags == stream.tag_names.index("scan")
    scan_keys = stream.keys[scans]
    assert len(np.unique(scan_keys)) == len(scan_keys)  # never seen twice
    assert not np.isin(scan_keys, stream.keys[~scans]).any()  # never seen outside the scan


def test_shifting_redraws_the_ranking_each_phase() -> None:
    stream = make_workload("shifting", 0, requests=100_000)  # phases of 20,000
    top = [np.bincount(stream.keys[i:i + 20_000]).argmax() for i in range(0, 100_000, 20_000)]
    assert len(set(top)) >= 4


def test_tenants_mix_and_tag_behaviour() -> None:
    stream = make_workload("tenants", 0, requests=100_000)
    assert stream.tag_names == ("hot", "loop", "onehit", "scan")
    share = np.bincount(stream.tags) / len(stream)
    assert np.allclose(share, [0.5, 0.25, 0.15, 0.10], atol=0.01)
    onehit = stream.keys[stream.tags == 2]
    assert len(np.unique(onehit)) == len(onehit)
    loop = stream.keys[stream.tags == 1]
    assert np.array_equal(loop[:800], loop[800:1600])  # 800 objects, in order, again and again


def test_unknown_workload_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="zipf0.8"):
        make_workload("zipf9")


def test_trace_replay_factorises_keys_and_defaults_size(tmp_path) -> None:
    path = tmp_path / "mytrace.csv"
    path.write_text("key,tag\n/a b/c,vol1\nx,vol2\n/a b/c,vol1\ny,vol2\n", encoding="utf-8")
    stream = read_trace(path)
    assert stream.name == "mytrace"
    assert stream.keys.tolist() == [0, 1, 0, 2]
    assert stream.tag_names == ("vol1", "vol2") and stream.tags.tolist() == [0, 1, 0, 1]
    assert stream.sizes.tolist() == [1, 1, 1, 1]


@pytest.mark.parametrize("text, message", [
    ("name,size\na,1\n", "no 'key' column"),
    ("key,size\na,-3\n", "not a positive number"),
    ("key\n", "no requests"),
])
def test_bad_traces_are_clear_errors(tmp_path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        read_trace(path)
