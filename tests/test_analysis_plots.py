"""Plots of a run: each draws on the Axes given (or its own), labels it with units, says when there is nothing.

No services: frames and snapshots are synthetic (tests/_analysis_data.py); figures are drawn with Agg.
"""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from _analysis_data import TAGS, make_snapshot, make_trajectory  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from agentfactory.analysis import (  # noqa: E402
    compare_runs,
    plot_compare_hit_rate,
    plot_compare_runs,
    plot_hit_rate,
    plot_latency,
    plot_reward_distribution,
    plot_summary_numbers,
    plot_tier_contents,
    summary_figure,
)

pytestmark = pytest.mark.usefixtures("close_figures")


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


# -- issue 9: plots that tell runs and sizes apart ------------------------------------
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
