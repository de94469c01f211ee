"""agentfactory.analysis as a user meets it: numbers from a run, plots of it, a live dashboard.

No services: trajectories here are synthetic frames with the exact dtypes a
``Trajectory`` produces, and the live source is a small fake with ``to_frame``
and ``subscribe``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from agentfactory.analysis import (  # noqa: E402
    Dashboard,
    compare_runs,
    dashboard,
    hit_rate,
    plot_compare_hit_rate,
    plot_compare_runs,
    plot_hit_rate,
    plot_latency,
    plot_reward_distribution,
    plot_summary_numbers,
    plot_tier_contents,
    reward_by,
    run_summary,
    summary_figure,
    tier_contents,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)

DTYPES = {
    "step": "int64", "episode": "int64", "time": "datetime64[us, UTC]", "agent": "string",
    "command": "string", "action": "string", "params": "string", "ok": "bool", "reward": "float64",
    "cache_hit": "boolean", "tier": "string", "blobs": "int64", "bytes": "int64",
    "latency_ms": "float64", "error": "string",
}

ACTIONS = np.array(["assimilate", "query", "list_blobs", "retrieve", "prune", "destroy"])
ACTION_P = np.array([0.12, 0.14, 0.10, 0.50, 0.09, 0.05])
AGENT_OF = {"assimilate": "ingestor", "destroy": "ingestor", "query": "retriever",
            "list_blobs": "retriever", "retrieve": "retriever", "prune": "retriever"}
REWARD_OF = {"assimilate": 0.10, "query": 0.10, "list_blobs": 0.10, "prune": 0.05, "destroy": 0.05}
TIER_OF = {"assimilate": "both", "query": "cache", "list_blobs": "iowarp", "prune": "cache", "destroy": "both"}
LATENCY_MS = {"assimilate": 25.0, "query": 0.8, "list_blobs": 4.0, "prune": 0.6, "destroy": 12.0}
TAGS = [f"dataset_{i}" for i in range(6)] + ["climate/era5-2023"]


def make_trajectory(n: int = 1000, seed: int = 7, episodes: int = 5) -> pd.DataFrame:
    """A synthetic run of ``n`` steps with the dtypes of ``Trajectory.to_frame()``.

    The cache warms up: the chance that a retrieve hits grows from 0.3 to 0.85
    across the run. About 4% of steps fail with reward -0.5.
    """
    rng = np.random.default_rng(seed)
    step = np.arange(n, dtype="int64")
    action = rng.choice(ACTIONS, size=n, p=ACTION_P)
    failed = rng.random(n) < 0.04
    is_retrieve = action == "retrieve"
    p_hit = 0.3 + 0.55 * step / max(n - 1, 1)
    hit = rng.random(n) < p_hit
    reward = np.array([REWARD_OF.get(a, 0.0) for a in action])
    reward = np.where(is_retrieve, np.where(hit, 0.30, 0.20), reward)
    reward = np.where(failed, -0.5, reward)
    base = np.array([LATENCY_MS.get(a, 0.0) for a in action])
    base = np.where(is_retrieve, np.where(hit, 0.35, 3.5), base)
    latency = base * rng.lognormal(0.0, 0.45, n)
    tag = rng.choice(TAGS, size=n)
    blobs = np.where(action == "assimilate", rng.integers(1, 40, n),
                     np.where(is_retrieve, 1, rng.integers(0, 12, n)))
    blobs = np.where(failed, 0, blobs).astype("int64")
    nbytes = np.where(np.isin(action, ["assimilate", "retrieve"]), blobs * rng.integers(2_000, 900_000, n), 0)
    cache_hit = pd.array(np.where(is_retrieve, hit, False), dtype="boolean")
    cache_hit[~is_retrieve] = pd.NA
    tier = [("cache" if h else "both") if a == "retrieve" else TIER_OF[a] for a, h in zip(action, hit)]
    params = [json.dumps({"tag": t, "blob_name": f"b{i % 50}.bin"} if a == "retrieve" else {"tag_pattern": t},
                         sort_keys=True, separators=(",", ":")) for i, (a, t) in enumerate(zip(action, tag))]
    errors = np.where(failed, np.where(is_retrieve, "not_found: no blob", "storage: IOWarp timeout"), None)
    df = pd.DataFrame({
        "step": step,
        "episode": (step * episodes // n).astype("int64"),
        "time": pd.DatetimeIndex([T0 + timedelta(milliseconds=40 * int(i)) for i in step]).as_unit("us"),
        "agent": pd.array([AGENT_OF[a] for a in action], dtype="string"),
        "command": pd.array([f"{a} {t}" for a, t in zip(action, tag)], dtype="string"),
        "action": pd.array(action, dtype="string"),
        "params": pd.array(params, dtype="string"),
        "ok": ~failed,
        "reward": reward.astype("float64"),
        "cache_hit": cache_hit,
        "tier": pd.array(tier, dtype="string"),
        "blobs": blobs,
        "bytes": nbytes.astype("int64"),
        "latency_ms": latency.astype("float64"),
        "error": pd.array(errors, dtype="string"),
    })
    return df


def make_snapshot(with_bytes: bool = True) -> list[dict]:
    rows = []
    for i, tag in enumerate(TAGS):
        stored = 10 + 17 * i
        cached = stored // (i + 1)
        row = {"tag": tag, "iowarp_blobs": stored, "cached_blobs": cached}
        if with_bytes:
            row |= {"iowarp_bytes": stored * 300_000, "cached_bytes": cached * 300_000}
        rows.append(row)
    return rows


def tiny(hits: list) -> pd.DataFrame:
    """A hand-built frame of retrieves (None = not a retrieve) with rewards to match."""
    n = len(hits)
    return pd.DataFrame({
        "step": np.arange(n, dtype="int64"),
        "episode": np.zeros(n, dtype="int64"),
        "agent": pd.array(["retriever"] * n, dtype="string"),
        "action": pd.array(["query" if h is None else "retrieve" for h in hits], dtype="string"),
        "ok": np.ones(n, dtype=bool),
        "reward": [0.1 if h is None else (0.3 if h else 0.2) for h in hits],
        "cache_hit": pd.array(hits, dtype="boolean"),
        "latency_ms": np.arange(1, n + 1, dtype="float64"),
    })


@pytest.fixture(scope="module")
def run() -> pd.DataFrame:
    return make_trajectory()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# -- the synthetic run is what a Trajectory produces -------------------------------
def test_synthetic_run_has_trajectory_dtypes(run):
    assert {c: str(t) for c, t in run.dtypes.items()} == DTYPES
    assert len(run) == 1000
    assert run["cache_hit"].notna().sum() == (run["action"] == "retrieve").sum()
    assert (run.loc[~run["ok"], "reward"] == -0.5).all() and (~run["ok"]).sum() > 10
    assert run["error"].isna().equals(run["ok"])


# -- numbers ----------------------------------------------------------------------
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


# -- plots ------------------------------------------------------------------------
def _labelled(ax: Axes) -> None:
    assert isinstance(ax, Axes)
    assert ax.get_title().strip(), "no title"
    assert ax.get_xlabel().strip(), "no x label"
    assert ax.get_ylabel().strip(), "no y label"


def _texts(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.texts]


PLOTS = {
    "hit_rate": lambda data, ax: plot_hit_rate(data["df"], window=50, ax=ax),
    "reward_action": lambda data, ax: plot_reward_distribution(data["df"], by="action", ax=ax),
    "reward_agent": lambda data, ax: plot_reward_distribution(data["df"], by="agent", ax=ax),
    "reward_both": lambda data, ax: plot_reward_distribution(data["df"], by=("agent", "action"), ax=ax),
    "tiers_blobs": lambda data, ax: plot_tier_contents(data["snapshot"], ax=ax, metric="blobs"),
    "tiers_bytes": lambda data, ax: plot_tier_contents(data["snapshot"], ax=ax, metric="bytes"),
    "compare": lambda data, ax: plot_compare_runs(data["runs"], metric="reward_total", ax=ax),
    "compare_hit": lambda data, ax: plot_compare_hit_rate(data["runs"], window=30, ax=ax),
    "latency": lambda data, ax: plot_latency(data["df"], ax=ax),
}


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_plot_draws_on_the_axes_given_and_labels_it(run, name):
    data = {"df": run, "snapshot": make_snapshot(),
            "runs": {"seed 7": run, "seed 8": make_trajectory(600, seed=8)}}
    fig, ax = plt.subplots()
    out = PLOTS[name](data, ax)
    assert out is ax
    _labelled(ax)
    assert ax.has_data(), "nothing drawn"
    assert not _texts(ax) or name.startswith("tiers") or name == "compare"  # no "nothing to show" note


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_plot_makes_its_own_axes(run, name):
    data = {"df": run, "snapshot": make_snapshot(), "runs": {"a": run}}
    ax = PLOTS[name](data, None)
    _labelled(ax)
    assert ax.figure is not None


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_plot_of_nothing_says_so(run, name):
    empty = run.iloc[0:0]
    data = {"df": empty, "snapshot": [], "runs": {}}
    ax = PLOTS[name](data, None)
    _labelled(ax)
    notes = " ".join(_texts(ax))
    assert re.search(r"no (steps|retrieves|tags|runs)", notes), notes
    assert not ax.has_data()


def test_hit_rate_plot_without_retrieves_says_no_retrieves_yet(run):
    no_retrieves = run[run["action"] != "retrieve"]
    ax = plot_hit_rate(no_retrieves)
    assert "no retrieves yet" in _texts(ax)
    _labelled(ax)


def test_hit_rate_plot_units_and_range(run):
    ax = plot_hit_rate(run, window=50)
    assert ax.get_ylabel() == "hit rate (fraction of retrieves)"
    assert ax.get_xlabel() == "step"
    low, high = ax.get_ylim()
    assert -0.1 <= low < 0 and 1.05 <= high <= 1.1  # 100% is a line inside the frame, not on its border
    left, right = ax.get_xlim()
    assert left < run["step"].min() and right > run["step"].max()  # the end markers are whole
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("rolling" in t for t in labels) and "cumulative" in labels


def test_reward_plot_has_one_group_per_action_with_counts(run):
    ax = plot_reward_distribution(run, by="action")
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert [t.split("\n")[0] for t in ticks] == ["assimilate", "query", "list_blobs", "retrieve", "prune", "destroy"]
    n_retrieve = int((run["action"] == "retrieve").sum())
    assert f"(n={n_retrieve:,})" in ticks[3]
    assert "points" in ax.get_ylabel()
    ax = plot_reward_distribution(run, by="agent")
    assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()] == ["ingestor", "retriever"]


def test_tier_plot_bars_and_units():
    snapshot = make_snapshot()
    ax = plot_tier_contents(snapshot, metric="blobs")
    heights = [p.get_height() for p in ax.patches]
    assert heights[: len(TAGS)] == [r["iowarp_blobs"] for r in snapshot]
    assert heights[len(TAGS):] == [r["cached_blobs"] for r in snapshot]
    assert ax.get_ylabel() == "blobs (count)"
    ax = plot_tier_contents(snapshot, metric="bytes")
    assert ax.get_ylabel() == "stored size (MiB)"
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"IOWarp (persistent)", "cache (memcached)"}
    ax = plot_tier_contents(make_snapshot(with_bytes=False), metric="bytes")
    assert "the snapshot has no byte counts" in _texts(ax)
    with pytest.raises(ValueError, match="metric"):
        plot_tier_contents(snapshot, metric="files")


def test_compare_runs_plot_bars_are_the_numbers(run):
    other = make_trajectory(600, seed=8)
    ax = plot_compare_runs({"a": run, "b": other}, metric="hit_rate")
    table = compare_runs({"a": run, "b": other})
    assert [p.get_height() for p in ax.patches] == pytest.approx(table["hit_rate"].tolist())
    assert ax.get_ylabel() == "hit rate (fraction of retrieves)"
    assert plot_compare_runs(table, metric="latency_ms_p95").get_ylabel() == "95th percentile latency (ms)"
    with pytest.raises(ValueError, match="metric"):
        plot_compare_runs({"a": run}, metric="speed")


def test_long_unicode_tag_names_are_shortened_keeping_both_ends():
    ax = plot_tier_contents([{"tag": "实验/" + "x" * 200 + "-2023", "iowarp_blobs": 1, "cached_blobs": 0}])
    (label,) = [t.get_text() for t in ax.get_xticklabels()]
    assert label.startswith("实验/") and label.endswith("-2023") and "…" in label and len(label) <= 18


def test_tags_sharing_a_prefix_and_suffix_show_what_differs():
    tags = [f"experiment_{i:03d}_cifar10_resnet" for i in range(40)]
    ax = plot_tier_contents([{"tag": t, "iowarp_blobs": i + 1, "cached_blobs": 0} for i, t in enumerate(tags)])
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(labels) == 30 and len(set(labels)) == 30  # the 30 largest, all told apart
    assert labels[0] == "039"
    assert ax.get_xlabel() == "tag (experiment_…_cifar10_resnet)"
    assert "largest 30 of 40" in ax.get_title()


def test_summary_figure_is_the_four_views(run):
    fig = summary_figure(run, make_snapshot())
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("Cache hit rate")
    assert titles[1] == "Reward per step by action"
    assert titles[2] == "Tier contents: blobs per tag"
    assert titles[3] == "Run summary"
    cells = [c.get_text().get_text() for t in fig.axes[3].tables for c in t.get_celld().values()]
    assert "1,000 in 5 episodes" in cells
    assert summary_figure(run.iloc[0:0]).axes[0].texts[0].get_text() == "no steps yet"


def test_summary_numbers_panel_on_given_axes(run):
    fig, ax = plt.subplots()
    assert plot_summary_numbers(run, ax=ax) is ax
    assert ax.get_title() == "Run summary"


# -- dashboard --------------------------------------------------------------------
class FakeTrajectory:
    """Serves the first ``n`` rows of a frame; ``push`` records more, telling subscribers."""

    def __init__(self, frame: pd.DataFrame, n: int = 0) -> None:
        self._frame, self.n = frame, n
        self.subscribers: list = []
        self.frames_read = 0

    def to_frame(self) -> pd.DataFrame:
        self.frames_read += 1
        return self._frame.iloc[: self.n].copy()

    def subscribe(self, callback):
        self.subscribers.append(callback)

        def unsubscribe():
            self.subscribers.remove(callback)

        return unsubscribe

    def push(self, steps: int = 1, pause_s: float = 0.0) -> None:
        for _ in range(steps):
            self.n += 1
            for callback in list(self.subscribers):
                callback(self.n - 1)
            if pause_s:
                time.sleep(pause_s)


class FakeSession:
    def __init__(self, trajectory: FakeTrajectory, snapshot: list[dict]) -> None:
        self.trajectory = trajectory
        self._snapshot = snapshot
        self.snapshots_taken = 0

    def snapshot(self):
        self.snapshots_taken += 1
        return self._snapshot


def _png_views(board: Dashboard) -> dict[str, bytes]:
    return {name: bytes(image.value) for name, image in board.views.items()}


def test_dashboard_from_a_frame(run):
    board = dashboard(run, snapshot=make_snapshot())
    import ipywidgets

    assert isinstance(board.widget, ipywidgets.Widget)
    assert board.redraws == 1
    assert set(board.views) == {"hit_rate", "reward", "tiers"}
    for name, png in _png_views(board).items():
        assert png.startswith(PNG_MAGIC), name
    assert "1,000" in board.header.value and "errors" in board.header.value
    hit = run_summary(run)["hit_rate"]
    assert f"{hit:.1%}" in board.header.value
    bundle = board._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == "Dashboard(static, steps=1000, redraws=1, refresh_s=1.0)"
    board.close()


def test_dashboard_reward_grouping_can_change(run):
    board = dashboard(run)
    before = bytes(board.views["reward"].value)
    board.by.value = "agent"
    assert bytes(board.views["reward"].value) != before
    assert bytes(board.views["reward"].value).startswith(PNG_MAGIC)


def test_dashboard_throttles_a_burst_and_shows_every_step(run):
    trajectory = FakeTrajectory(run, n=0)
    board = dashboard(trajectory, refresh_s=0.3)
    assert board.redraws == 1 and "no steps yet" not in board.header.value
    empty_view = bytes(board.views["hit_rate"].value)

    trajectory.push(100)

    assert board.wait(120)
    assert 2 <= board.redraws <= 3, board.redraws  # not one redraw per step
    assert len(board.frame) == 100
    assert ">100<" in board.header.value
    assert bytes(board.views["hit_rate"].value) != empty_view
    board.close()


def test_dashboard_refreshes_while_steps_keep_arriving(run):
    trajectory = FakeTrajectory(run, n=0)
    board = dashboard(trajectory, refresh_s=0.2)
    seen: set[int] = set()
    started = time.monotonic()
    # Steps trickle in (as from an agent) until the dashboard has redrawn a few
    # times; on a loaded machine a redraw can take seconds, hence no fixed duration.
    while board.redraws < 4 and trajectory.n < len(run) and time.monotonic() - started < 120:
        trajectory.push(1, pause_s=0.01)
        seen.add(len(board.frame))
    elapsed = time.monotonic() - started
    streamed = trajectory.n
    assert board.wait(120)

    assert board.redraws >= 4, "the dashboard stopped redrawing while steps arrived"
    assert board.redraws <= 2 + elapsed / 0.2, (board.redraws, elapsed)  # never more than once per refresh_s
    assert len({n for n in seen if 0 < n < streamed}) >= 2, "no redraw showed steps while they arrived"
    assert len(board.frame) == streamed
    board.close()


def test_dashboard_refresh_forces_a_redraw(run):
    trajectory = FakeTrajectory(run, n=10)
    board = dashboard(trajectory, refresh_s=60)
    trajectory.n = 50  # recorded without telling anyone
    board.refresh()
    assert board.redraws == 2 and len(board.frame) == 50
    board.close()


def test_dashboard_close_unsubscribes(run):
    trajectory = FakeTrajectory(run, n=0)
    board = dashboard(trajectory, refresh_s=0.05)
    assert len(trajectory.subscribers) == 1
    trajectory.push(5)  # a redraw is now scheduled
    board.close()
    assert trajectory.subscribers == []
    redraws = board.redraws
    trajectory.push(50)
    time.sleep(0.3)
    assert board.redraws == redraws and not board.pending
    assert "closed" in board.header.value
    board.close()  # twice is fine


def test_dashboard_from_a_session_reads_its_snapshot(run, tmp_path):
    session = FakeSession(FakeTrajectory(run, n=300), make_snapshot())
    board = dashboard(session, refresh_s=0.05)
    assert session.snapshots_taken == 1
    assert board.snapshot == make_snapshot()
    session.trajectory.push(10)
    assert board.wait(120)
    assert session.snapshots_taken == 2 and len(board.frame) == 310

    path = board.save_png(tmp_path / "board.png")
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 1000 and height >= 600
    board.close()


def test_dashboard_survives_a_failing_snapshot(run):
    class Down(FakeSession):
        def snapshot(self):
            raise ConnectionError("IOWarp is down")

    board = dashboard(Down(FakeTrajectory(run, n=20), []), refresh_s=0.05)
    assert "IOWarp is down" in board.header.value
    assert bytes(board.views["tiers"].value).startswith(PNG_MAGIC)
    board.close()


def test_dashboard_follows_a_real_trajectory(run):
    from agentfactory.trajectory import Trajectory

    trajectory = Trajectory()
    board = dashboard(trajectory, refresh_s=0.1)
    assert len(board.frame) == 0 and board.redraws == 1

    def agent():
        for i in range(200):
            hit = i % 3 != 0
            trajectory.record(agent="retriever", action="retrieve", params={"tag": "t", "blob_name": f"b{i}"},
                              ok=True, reward=0.3 if hit else 0.2, cache_hit=hit, tier="cache" if hit else "both",
                              blobs=1, bytes=1024, latency_ms=0.5)

    worker = threading.Thread(target=agent)  # steps arrive from another thread, as in a kernel
    worker.start()
    worker.join()
    assert board.wait(120)
    assert len(board.frame) == 200 and board.redraws < 20
    assert run_summary(board.frame)["hit_rate"] == pytest.approx(133 / 200)
    assert f"{133 / 200:.1%}" in board.header.value
    board.close()
    trajectory.record(agent="retriever", action="query", params={}, ok=True, reward=0.1)
    time.sleep(0.3)
    assert len(board.frame) == 200


def test_dashboard_rejects_what_it_cannot_read():
    with pytest.raises(TypeError, match="to_frame"):
        dashboard(object())


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



def test_compare_hit_rate_overlays_runs_on_their_own_retrieve_count(run):
    """Issue 9, item 15: two runs of one session are overlaid, not drawn side by side."""
    first = run.iloc[:500]
    second = run.iloc[500:].copy()  # steps 500..999 of the same trajectory
    ax = plot_compare_hit_rate({"a": first, "b": second}, window=20)
    starts = [line.get_xdata()[0] for line in ax.get_lines()]
    assert starts == [1, 1] and ax.get_xlabel() == "retrieve (per run)"


def test_tier_bytes_show_small_tags_and_true_sizes(tmp_path):
    """Issue 9, items 15 and 20: a 3 KiB tag beside a 300 MiB one is visible, labels are sizes."""
    snapshot = [
        {"tag": "small", "iowarp_blobs": 1, "cached_blobs": 1, "iowarp_bytes": 3 * 1024, "cached_bytes": 3 * 1024},
        {"tag": "large", "iowarp_blobs": 3, "cached_blobs": 0, "iowarp_bytes": 300 << 20, "cached_bytes": 0},
    ]
    ax = plot_tier_contents(snapshot, metric="bytes")
    assert ax.get_yscale() == "log"
    texts = {t.get_text() for t in ax.texts}
    assert {"3.0 KiB", "300 MiB", "0 B"} <= texts, texts
    assert not any(re.fullmatch(r"\d+\.\d", t) for t in texts)  # no bare floats
    ax.figure.savefig(tmp_path / "tiers.png")


def test_a_saved_dashboard_leaves_a_picture_of_its_last_state(run, tmp_path):
    """Issue 9, item 18: reopened without a kernel, the output still shows the dashboard as it was."""
    import base64

    board = dashboard(run, snapshot=make_snapshot())
    bundle = board._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    png = base64.b64decode(bundle["image/png"])
    assert png.startswith(PNG_MAGIC)
    (tmp_path / "static.png").write_bytes(png)
    width = int.from_bytes(png[16:20], "big")
    assert width >= 800
    board.close()


@pytest.mark.parametrize("tags", [2, 4, 6, 9])
def test_tier_byte_labels_never_run_into_each_other(tags):
    """'2.9 MiB' beside '2.8 MiB' once printed as '2.9 MiB2.8 MiB': labels stand up, or go, when level ones collide."""
    snapshot = [{"tag": f"run_{i:02d}", "iowarp_blobs": 3, "cached_blobs": 2,
                 "iowarp_bytes": int(3.0e6 * (i + 1)), "cached_bytes": int(2.9e6 * (i + 1))} for i in range(tags)]
    fig, ax = plt.subplots(figsize=(6.4, 3.5))
    try:
        plot_tier_contents(snapshot, ax=ax, metric="bytes")
        fig.tight_layout()
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        labels = [t for t in ax.texts if "B" in t.get_text()]
        boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: b.x0)
        assert all(left.x1 < right.x0 for left, right in zip(boxes, boxes[1:]))
        axes_box = ax.get_window_extent(renderer)
        assert all(box.y1 <= axes_box.y1 + 1 for box in boxes), "a label sticks out above the axes"
        if tags <= 4:
            assert len(labels) == 2 * tags, "there is room for every label"
    finally:
        plt.close(fig)
