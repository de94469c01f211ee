"""Pictures of the policy lab: miss-ratio curves and learning curves.

They take the frames `agentfactory.policies.lab` returns (`compare` /
`summarize` / `learning_curves`) and, like every plot here, draw on `ax` (or a
new Axes) and return it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .style import axes_for

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: offline limits are drawn dashed: they are references, not policies anyone can run
LIMITS = ("belady", "oracle")
#: the learned policy stands out; the limits are black/grey; heuristics take the colour cycle
_COLORS = {"learned": "crimson", "belady": "black", "oracle": "dimgray"}


def _summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Accept per-seed results (from `compare`) or a summary (from `summarize`)."""
    if "seed" in frame.columns:
        from agentfactory.policies.lab import summarize

        return summarize(frame)
    return frame


def plot_miss_ratio_curve(results: pd.DataFrame, workload: str | None = None, ax: Axes | None = None) -> Axes:
    """Miss ratio against cache size for every policy (95% CI bars); Belady and the oracle dashed.

    results: `compare(...)` rows or their `summarize(...)`; with several workloads
        name one (default: the first).
    """
    ax = axes_for(ax, (7.5, 4.5))
    summary = _summary(results)
    if summary.empty:
        ax.text(0.5, 0.5, "no results to plot", ha="center", va="center", transform=ax.transAxes)
        return ax
    workload = workload or summary["workload"].iloc[0]
    data = summary[summary["workload"] == workload].copy()
    if data.empty:
        raise ValueError(f"no results for workload {workload!r}; have: {', '.join(summary['workload'].unique())}")
    data["size"] = data["fraction"].astype(float)
    for name, group in data.groupby("policy", sort=False):
        group = group.sort_values("size")
        limit = name in LIMITS
        ax.errorbar(group["size"] * 100, group["miss_ratio"], yerr=group["miss_ratio_ci95"], label=name,
                    linestyle="--" if limit else "-", marker="" if limit else "o", markersize=4,
                    linewidth=2.6 if name == "learned" else 1.2, color=_COLORS.get(name),
                    capsize=2, zorder=3 if name == "learned" else 2)
    sizes = sorted(data["size"].unique())
    ax.set_xticks([s * 100 for s in sizes], [f"{s * 100:g}%" for s in sizes])
    if len(sizes) > 1 and sizes[-1] / sizes[0] >= 10:
        ax.set_xscale("log")
        ax.set_xticks([s * 100 for s in sizes], [f"{s * 100:g}%" for s in sizes])
        ax.minorticks_off()
    ax.set_xlabel("cache size (% of distinct objects)")
    ax.set_ylabel("miss ratio (lower is better)")
    seeds = int(data["seeds"].max())
    ax.set_title(f"{workload}: miss ratio by cache size ({seeds} seed{'s' if seeds != 1 else ''})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2, frameon=False)
    return ax


def plot_learning_curve(curves: pd.DataFrame, ax: Axes | None = None, *, title: str | None = None) -> Axes:
    """Rolling miss ratio over requests, one line per policy (from `learning_curves`)."""
    ax = axes_for(ax, (7.5, 4.5))
    if curves.empty:
        ax.text(0.5, 0.5, "no requests to plot", ha="center", va="center", transform=ax.transAxes)
        return ax
    for name, group in curves.groupby("policy", sort=False):
        ax.plot(group["request"], group["miss_ratio"], label=name, color=_COLORS.get(name),
                linewidth=2.0 if name == "learned" else 1.2, linestyle="--" if name in LIMITS else "-")
    ax.set_xlabel("request")
    ax.set_ylabel("miss ratio (rolling window)")
    ax.set_ylim(0, min(1.0, float(curves["miss_ratio"].max()) * 1.1 + 0.02))
    ax.set_title(title or "learning curve: rolling miss ratio")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    return ax
