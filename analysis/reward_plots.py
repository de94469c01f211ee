"""The reward of every step, per action, agent or both: a sina plot of a trajectory.

Rewards take few distinct values (the reward table), so a box would collapse
to a line: each step is a point instead, spread sideways as wide as its
reward is frequent within its group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .frame import conform, group_keys
from .style import (
    FAILURE_COLOR,
    REWARD_LABEL,
    axes_for,
    color_for,
    note,
    ordered_groups,
)
from .ticks import group_label, rotate_ticks, use_fallback_fonts

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["plot_reward_distribution"]

# A strip plot of 100,000 points is slow to draw and no easier to read than 1,500.
_MAX_POINTS_PER_GROUP = 1500


def plot_reward_distribution(df: pd.DataFrame, by: str | Sequence[str] = "action", ax: Axes | None = None) -> Axes:
    """Reward of every step per group (``by="action"``, ``"agent"`` or both).

    Each step is a point, spread sideways as wide as its reward is frequent
    within the group (a sina plot), red crosses for failed steps, a white
    diamond at the group's mean. Tick labels carry the number of steps per group.
    """
    df = conform(df)
    keys = group_keys(by)
    ax = axes_for(ax)
    ax.set_title(f"Reward per step by {' and '.join(keys)}")
    ax.set_xlabel(" / ".join(keys))
    ax.set_ylabel(REWARD_LABEL)
    if df.empty:
        note(ax, "no steps yet")
        return ax
    groups = ordered_groups(df, group_keys(by, df))
    labels, means = _draw_steps(ax, groups, _bin_edges(df["reward"].to_numpy(dtype="float64")))
    positions = np.arange(1, len(groups) + 1)
    ax.scatter(positions, means, marker="D", s=40, color="white", edgecolors="0.1", linewidths=1.2, zorder=5)
    ax.axhline(0, color="0.5", lw=0.8, zorder=1)
    ax.set_xticks(positions, labels)
    ax.set_xlim(0.4, len(groups) + 0.6)
    ax.tick_params(axis="x", labelsize="small")
    rotate_ticks(ax, labels)
    use_fallback_fonts(ax.get_xticklabels())
    ax.grid(True, axis="y", alpha=0.3)
    _legend(ax)
    return ax


def _bin_edges(every: np.ndarray) -> np.ndarray:
    """Reward bins shared by all groups, so equal spreads mean equal frequencies."""
    finite = every[np.isfinite(every)]
    low, high = (finite.min(), finite.max()) if len(finite) else (0.0, 1.0)
    return np.linspace(low, high if high > low else low + 1.0, 41)


def _sina_offsets(values: np.ndarray, edges: np.ndarray, rng: np.random.Generator, half_width: float) -> np.ndarray:
    """Horizontal offsets that spread points as wide as their value is frequent (a sina plot)."""
    if not len(values):
        return values
    bins = np.clip(np.digitize(values, edges) - 1, 0, len(edges) - 2)
    counts = np.bincount(bins, minlength=len(edges) - 1)
    width = counts[bins] / counts.max()
    return rng.uniform(-1.0, 1.0, len(values)) * half_width * np.maximum(width, 0.08)


def _draw_steps(ax: Axes, groups: list[tuple[Any, pd.DataFrame]], edges: np.ndarray) -> tuple[list[str], list[float]]:
    """Scatter each group's steps at its position; return the tick labels and the groups' means."""
    rng = np.random.default_rng(0)  # fixed jitter: redraws of the same data look the same
    labels, means = [], []
    for pos, (key, frame) in enumerate(groups, start=1):
        reward = frame["reward"].to_numpy(dtype="float64")
        ok = frame["ok"].to_numpy(dtype=bool)
        shown = np.flatnonzero(np.isfinite(reward))
        if len(shown) > _MAX_POINTS_PER_GROUP:
            shown = np.sort(rng.choice(shown, _MAX_POINTS_PER_GROUP, replace=False))
        y = reward[shown]
        x = pos + _sina_offsets(y, edges, rng, 0.38)
        good = ok[shown]
        ax.scatter(x[good], y[good], s=10, alpha=0.45, color=color_for(key, pos - 1), linewidths=0, zorder=2)
        ax.scatter(x[~good], y[~good], s=14, alpha=0.7, color=FAILURE_COLOR, marker="x", linewidths=0.9, zorder=3)
        means.append(np.nanmean(reward) if np.isfinite(reward).any() else np.nan)
        labels.append(f"{group_label(key)}\n(n={len(reward):,})")
    return labels, means


def _legend(ax: Axes) -> None:
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], ls="", marker="o", color="0.45", alpha=0.6, label="step (ok)"),
        Line2D([], [], ls="", marker="x", color=FAILURE_COLOR, label="step (failed)"),
        Line2D([], [], ls="", marker="D", markerfacecolor="white", markeredgecolor="0.1", label="mean"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False,
              title="spread ∝ frequency", title_fontsize="x-small")
