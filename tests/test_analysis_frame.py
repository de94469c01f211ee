"""What agentfactory.analysis accepts as a run: a Trajectory's frame, or a hand-built one with the required columns.

No services: frames are synthetic (tests/_analysis_data.py) or recorded in memory.
Also the package boundary: importing analysis is cheap, and agentfactory never imports it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from _analysis_data import tiny  # noqa: E402

from agentfactory.analysis import (  # noqa: E402
    compare_runs,
    dashboard,
    hit_rate,
    plot_compare_hit_rate,
    plot_hit_rate,
    plot_latency,
    plot_reward_distribution,
    plot_summary_numbers,
    reward_by,
    run_summary,
    summary_figure,
)

pytestmark = pytest.mark.usefixtures("close_figures")

DTYPES = {
    "step": "int64", "episode": "int64", "time": "datetime64[us, UTC]", "agent": "string",
    "command": "string", "action": "string", "params": "string", "ok": "bool", "reward": "float64",
    "cache_hit": "boolean", "tier": "string", "blobs": "int64", "bytes": "int64",
    "latency_ms": "float64", "error": "string",
}


# -- the synthetic run is what a Trajectory produces -------------------------------
def test_synthetic_run_has_trajectory_dtypes(run):
    assert {c: str(t) for c, t in run.dtypes.items()} == DTYPES
    assert len(run) == 1000
    assert run["cache_hit"].notna().sum() == (run["action"] == "retrieve").sum()
    assert (run.loc[~run["ok"], "reward"] == -0.5).all() and (~run["ok"]).sum() > 10
    assert run["error"].isna().equals(run["ok"])


# -- what counts as a trajectory ------------------------------------------------------
def test_a_recorded_trajectory_passes_through_conform_untouched():
    from agentfactory.analysis.frame import conform
    from agentfactory.trajectory import Trajectory

    trajectory = Trajectory()
    trajectory.record(agent="retriever", action="retrieve", params={"tag": "t", "blob_name": "b"}, ok=True,
                      reward=0.3, cache_hit=True, tier="cache", blobs=1, bytes=10, latency_ms=0.5)
    frame = trajectory.to_frame()
    assert conform(frame) is frame  # no copy on the path every plot takes


def test_a_hand_built_frame_reads_missing_optional_columns_as_nothing_said():
    from agentfactory.analysis.frame import OPTIONAL, conform

    bare = pd.DataFrame({"step": [0, 1], "action": ["retrieve", "query"], "reward": [0.3, 0.1]})
    frame = conform(bare)
    assert set(OPTIONAL) <= set(frame.columns) and list(bare.columns) == ["step", "action", "reward"]
    assert frame["ok"].tolist() == [True, True] and frame["cache_hit"].isna().all()
    assert str(frame["cache_hit"].dtype) == "boolean" and frame["latency_ms"].isna().all()
    numbers = run_summary(frame)
    assert numbers["errors"] == 0 and numbers["retrieves"] == 0
    assert plot_latency(bare).texts[0].get_text() == "no latencies recorded"
    assert summary_figure(bare).get_suptitle() == "AgentFactory run"  # no times: no time span


@pytest.mark.parametrize("call", [
    lambda df: hit_rate(df), lambda df: reward_by(df), lambda df: plot_hit_rate(df),
    lambda df: plot_reward_distribution(df), lambda df: plot_latency(df), lambda df: plot_summary_numbers(df),
    lambda df: summary_figure(df), lambda df: compare_runs({"a": df}), lambda df: plot_compare_hit_rate({"a": df}),
    lambda df: dashboard(df),
])
def test_a_frame_that_is_not_a_trajectory_is_refused_by_name(call):
    from agentfactory.analysis.frame import NotATrajectory
    from agentfactory.core.errors import AgentFactoryError

    prices = pd.DataFrame({"ticker": ["ACME"], "price": [12.5], "step": [0]})
    with pytest.raises(NotATrajectory, match="'action', 'reward'") as caught:
        call(prices)
    assert isinstance(caught.value, AgentFactoryError) and caught.value.columns == ("action", "reward")
    assert "optional: episode" in str(caught.value)  # the hint says what a frame may have


def test_values_of_the_wrong_kind_are_refused_naming_the_column():
    from agentfactory.analysis.frame import NotATrajectory

    frame = tiny([True, False]).assign(reward=["lots", "some"])
    with pytest.raises(NotATrajectory, match="column 'reward'") as caught:
        plot_reward_distribution(frame)
    assert caught.value.columns == ("reward",)
    with pytest.raises(NotATrajectory, match="column 'cache_hit'"):
        hit_rate(tiny([True]).assign(cache_hit=["maybe"]))
    with pytest.raises(NotATrajectory, match="got list"):
        plot_hit_rate([{"step": 0}])


def test_grouping_by_a_column_the_frame_lacks_is_a_key_error():
    with pytest.raises(KeyError, match="backend"):
        reward_by(tiny([True]), by=("backend", "action"))
    with pytest.raises(KeyError, match="backend"):
        plot_reward_distribution(tiny([True]), by="backend")
    assert reward_by(tiny([True]).assign(backend="rule"), by="backend")["count"].tolist() == [1]


# -- packaging ----------------------------------------------------------------------
def test_import_is_cheap_and_agentfactory_never_imports_analysis():
    code = ("import sys, agentfactory.analysis, agentfactory.trajectory; "
            "print(sorted(m for m in ('matplotlib', 'ipywidgets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    root = Path(__file__).resolve().parents[1] / "agentfactory"
    offenders = [str(p) for p in root.rglob("*.py")
                 if re.search(r"^\s*(from|import)\s+(agentfactory\.analysis|\.+analysis)\b", p.read_text(), re.M)]
    assert offenders == []
