"""Matplotlib views of a trajectory over its steps: hit rate (one run or several) and latency.

Every view in this package takes the data and ``ax=None`` and returns the Axes.
Pass an ``ax`` to compose several views in one figure; leave it out and the
function makes a new pyplot figure (shown inline in Jupyter). Titles, axis
labels with units and legends are always set, and a view with nothing to show
yet (an empty frame, no retrieves, no tags) says so on the axes instead of
raising, so a dashboard can draw from the very first step. The reward, tier
and summary views live beside this module (``reward_plots``, ``tier_plots``,
``summary_plots``); how they all look is ``style``'s and ``ticks``' business.

matplotlib is imported inside the functions, never at module import, so
``import agentfactory.analysis`` stays cheap in scripts that only want numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .frame import conform
from .metrics import hit_rate
from .style import (
    ACTION_COLORS,
    HIT_RATE_LABEL,
    OTHER_COLORS,
    axes_for,
    color_for,
    note,
    ordered_groups,
)
from .ticks import group_label, rotate_ticks, short

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["plot_compare_hit_rate", "plot_hit_rate", "plot_latency"]

# Episode starts are drawn up to this many; more would hatch the plot grey.
_MAX_EPISODE_LINES = 20


def plot_hit_rate(df: pd.DataFrame, window: int = 50, ax: Axes | None = None, *, manual: bool = False) -> Axes:
    """Rolling and cumulative cache hit rate of the retrieves, against the step.

    The rolling line averages the last ``window`` retrieves; the cumulative one
    every retrieve so far. Dotted verticals mark episode starts (up to 20).
    Retrieves of agent ``manual`` (a person inspecting) count only with ``manual=True``.
    """
    df = conform(df)
    ax = axes_for(ax)
    rates = hit_rate(df, window, manual=manual)
    ax.set_xlabel("step")
    ax.set_ylabel(HIT_RATE_LABEL)
    if rates.empty:
        ax.set_title("Cache hit rate")
        note(ax, "no steps yet" if df.empty else "no retrieves yet")
        return ax

    steps = rates.index.to_numpy()
    marker = "o" if len(rates) < 20 else None
    ax.plot(steps, rates["rolling_hit_rate"], color=ACTION_COLORS["retrieve"], lw=1.3, alpha=0.9,
            marker=marker, ms=4, label=f"rolling (last {window} retrieves)")
    ax.plot(steps, rates["cumulative_hit_rate"], color="0.15", lw=2.2, marker=marker, ms=4,
            label="cumulative")
    starts = df.groupby("episode", sort=True)["step"].min().to_numpy()[1:]
    if 0 < len(starts) <= _MAX_EPISODE_LINES:
        for i, start in enumerate(starts):
            ax.axvline(start, color="0.6", lw=0.8, ls=":", label="episode start" if i == 0 else None)
    overall = rates["cumulative_hit_rate"].iloc[-1]
    ax.set_title(f"Cache hit rate: {overall:.0%} of {len(rates):,} retrieves")
    # 100% is the common answer: keep it, and the markers at either end, off the frame
    ax.set_ylim(-0.05, 1.08)
    ax.set_yticks(np.linspace(0, 1, 6))
    first, last = int(df["step"].min()), int(df["step"].max())
    pad = max(0.5, 0.02 * (last - first))
    ax.set_xlim(first - pad, max(last, first + 1) + pad)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return ax


def plot_compare_hit_rate(runs: Mapping[str, pd.DataFrame], window: int = 50, ax: Axes | None = None) -> Axes:
    """The rolling hit rate of several runs overlaid, one line per run.

    Runs are aligned on their own retrieve count (the 1st, 2nd, ... retrieve of
    each run), not on the session's global step: runs recorded one after the
    other in one trajectory would otherwise sit side by side, never overlaid.
    """
    rates_of = {name: hit_rate(frame, window) for name, frame in runs.items()}
    ax = axes_for(ax)
    ax.set_xlabel("retrieve (per run)")
    ax.set_ylabel(HIT_RATE_LABEL)
    ax.set_title(f"Rolling cache hit rate per run (last {window} retrieves)")
    drawn = 0
    for i, (name, rates) in enumerate(rates_of.items()):
        if rates.empty:
            continue
        ax.plot(np.arange(1, len(rates) + 1), rates["rolling_hit_rate"], lw=1.5,
                color=OTHER_COLORS[i % len(OTHER_COLORS)] if i >= 10 else f"C{i}",
                label=f"{short(name, 30)} ({rates['cumulative_hit_rate'].iloc[-1]:.0%} overall)")
        drawn += 1
    if not drawn:
        note(ax, "no runs yet" if not runs else "no retrieves yet")
        return ax
    ax.set_ylim(-0.05, 1.08)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize="small", title="run")
    return ax


def plot_latency(df: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Latency of the steps per action, as boxes on a log scale (whiskers 5th–95th percentile)."""
    df = conform(df)
    ax = axes_for(ax)
    ax.set_title("Step latency by action")
    ax.set_xlabel("action")
    ax.set_ylabel("latency (ms, log scale)")
    # log scale needs positive numbers; a 0 ms step is a step that was not timed
    timed = df[df["latency_ms"] > 0]
    if timed.empty:
        note(ax, "no steps yet" if df.empty else "no latencies recorded")
        return ax
    groups = ordered_groups(timed, ["action"])
    data = [g["latency_ms"].to_numpy(dtype="float64") for _, g in groups]
    labels = [f"{group_label(k)}\n(n={len(d):,})" for (k, _), d in zip(groups, data)]
    positions = np.arange(1, len(groups) + 1)
    boxes = ax.boxplot(data, positions=positions, widths=0.6, whis=(5, 95), patch_artist=True,
                       flierprops={"marker": ".", "markersize": 3, "alpha": 0.4, "markeredgecolor": "0.4"},
                       medianprops={"color": "0.1", "lw": 1.5})
    for i, ((key, _), box) in enumerate(zip(groups, boxes["boxes"])):
        box.set_facecolor(color_for(key, i))
        box.set_alpha(0.55)
    ax.set_yscale("log")
    ax.set_xticks(positions, labels)
    ax.tick_params(axis="x", labelsize="small")
    rotate_ticks(ax, labels)
    ax.grid(True, axis="y", which="major", alpha=0.3)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(facecolor="0.75", edgecolor="0.2", label="25th–75th percentile"),
                       Line2D([], [], color="0.1", lw=1.5, label="median"),
                       Line2D([], [], color="0.2", lw=1, label="whiskers: 5th–95th")],
              loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    return ax
