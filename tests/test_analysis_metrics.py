"""The numbers of a run: hit rates over retrieves only, rewards by agent and action, tier contents, runs compared.

No services: frames are synthetic (tests/_analysis_data.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _analysis_data import tiny

from agentfactory.analysis import (
    compare_runs,
    hit_rate,
    reward_by,
    run_summary,
    tier_contents,
)


def test_hit_rate_counts_retrieves_only():
    rates = hit_rate(tiny([True, False, True, None]), window=2)

    assert rates.index.name == "step"
    assert rates.index.tolist() == [0, 1, 2]
    assert rates["cumulative_hit_rate"].round(3).tolist() == [1.0, 0.5, 0.667]
    assert rates["rolling_hit_rate"].tolist() == [1.0, 0.5, 0.5]
    assert list(rates.columns) == ["rolling_hit_rate", "cumulative_hit_rate"]


def test_hit_rate_skips_other_steps_in_the_window():
    # the query at step 1 must neither count as a miss nor shorten the window
    rates = hit_rate(tiny([False, None, True, True]), window=2)
    assert rates.index.tolist() == [0, 2, 3]
    assert rates["rolling_hit_rate"].tolist() == [0.0, 0.5, 1.0]


def test_hit_rate_of_object_column_and_empty_frames():
    frame = tiny([True, False, None]).assign(cache_hit=[True, False, None])  # as a user might build it
    assert hit_rate(frame)["cumulative_hit_rate"].tolist() == [1.0, 0.5]
    assert hit_rate(tiny([None, None])).empty
    assert hit_rate(tiny([]).iloc[0:0]).empty
    with pytest.raises(ValueError, match="window"):
        hit_rate(frame, window=0)


def test_hit_rate_of_the_run_warms_up(run):
    rates = hit_rate(run, window=50)
    assert len(rates) == (run["action"] == "retrieve").sum()
    assert rates["rolling_hit_rate"].between(0, 1).all()
    first, last = rates["rolling_hit_rate"].iloc[49], rates["rolling_hit_rate"].iloc[-1]
    assert last > first + 0.2  # the generator's cache warms from 0.3 to 0.85


def test_reward_by_agent_and_action():
    frame = tiny([True, False, None, True])
    table = reward_by(frame)
    assert table.index.names == ["agent", "action"]
    assert list(table.columns) == ["count", "mean", "sum", "min", "max"]
    retrieve = table.loc[("retriever", "retrieve")]
    assert retrieve["count"] == 3
    assert retrieve["sum"] == pytest.approx(0.8)
    assert retrieve["mean"] == pytest.approx(0.8 / 3)
    assert (retrieve["min"], retrieve["max"]) == (0.2, 0.3)
    assert table.loc[("retriever", "query"), "count"] == 1
    assert reward_by(frame, by="action").index.name == "action"
    assert reward_by(frame.iloc[0:0]).empty


def test_reward_by_of_the_run(run):
    table = reward_by(run, by="agent")
    assert table["count"].sum() == 1000
    assert table["sum"].sum() == pytest.approx(run["reward"].sum())
    assert (table["min"] == -0.5).all()  # both agents have failures in this run


def test_tier_contents_one_row_per_tag_bytes_optional():
    table = tier_contents([
        {"tag": "a", "iowarp_blobs": 3, "cached_blobs": 1},
        {"tag": "b", "iowarp_blobs": 5, "cached_blobs": 5, "iowarp_bytes": 500, "cached_bytes": 500},
    ])
    assert table.index.tolist() == ["a", "b"]
    assert table.loc["a", "iowarp_blobs"] == 3 and table.loc["b", "cached_blobs"] == 5
    assert pd.isna(table.loc["a", "iowarp_bytes"]) and table.loc["b", "cached_bytes"] == 500
    assert str(table["iowarp_bytes"].dtype) == "Int64" and str(table["iowarp_blobs"].dtype) == "int64"
    assert tier_contents([]).empty and tier_contents(None).empty


def test_compare_runs_one_row_per_run():
    a = tiny([True, True, False, None])
    b = tiny([False, False]).assign(ok=[True, False], reward=[0.2, -0.5])
    table = compare_runs({"warm": a, "cold": b})
    assert table.index.tolist() == ["warm", "cold"]
    assert list(table.columns) == ["steps", "retrieves", "hit_rate", "reward_total", "reward_mean",
                                   "errors", "latency_ms_median", "latency_ms_p95"]
    assert table.loc["warm", "hit_rate"] == pytest.approx(2 / 3)
    assert table.loc["cold", "hit_rate"] == 0.0
    assert table.loc["warm", "reward_total"] == pytest.approx(0.9)
    assert table.loc["cold", "reward_mean"] == pytest.approx(-0.15)
    assert table.loc["cold", "errors"] == 1 and table.loc["warm", "errors"] == 0
    assert table.loc["warm", "latency_ms_median"] == 2.5
    assert table.loc["warm", "latency_ms_p95"] == pytest.approx(np.percentile([1, 2, 3, 4], 95))
    assert table["steps"].tolist() == [4, 2]


def test_run_summary_without_retrieves():
    numbers = run_summary(tiny([None, None]))
    assert numbers["retrieves"] == 0 and np.isnan(numbers["hit_rate"])
    assert numbers["steps"] == 2
