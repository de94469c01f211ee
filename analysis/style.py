"""How every analysis view looks: colours, axis labels, empty-view notes, the order of groups.

One home for these so an action has the same colour and place in every plot,
and a new view starts from the same Axes contract: draw on the ``ax`` given,
or on a new pyplot figure's, and say on the axes why a view is empty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from agentfactory.core.vocabulary import ACTION_ORDER

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "ACTION_COLORS",
    "FAILURE_COLOR",
    "HIT_RATE_LABEL",
    "METRIC_LABELS",
    "OTHER_COLORS",
    "REWARD_LABEL",
    "TIER_COLORS",
    "action_rank",
    "axes_for",
    "color_for",
    "note",
    "ordered_groups",
]

# Fixed colours so an action looks the same in every view; red is kept for failures.
ACTION_COLORS: dict[str, str] = {
    "assimilate": "#1f77b4",
    "query": "#ff7f0e",
    "list_blobs": "#2ca02c",
    "retrieve": "#9467bd",
    "prune": "#8c564b",
    "destroy": "#e377c2",
}
OTHER_COLORS: tuple[str, ...] = ("#17becf", "#bcbd22", "#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a", "#c5b0d5",
                                 "#c49c94")
FAILURE_COLOR = "#d62728"
TIER_COLORS: dict[str, str] = {"iowarp": "#33557f", "cache": "#f0a030"}

#: Axis labels of the run-summary numbers, with their units.
METRIC_LABELS: dict[str, str] = {
    "steps": "steps (count)",
    "retrieves": "retrieves (count)",
    "hit_rate": "hit rate (fraction of retrieves)",
    "reward_total": "total reward (points)",
    "reward_mean": "mean reward (points per step)",
    "errors": "failed steps (count)",
    "latency_ms_median": "median latency (ms)",
    "latency_ms_p95": "95th percentile latency (ms)",
}
HIT_RATE_LABEL = METRIC_LABELS["hit_rate"]
REWARD_LABEL = "reward (points per step)"


def axes_for(ax: Axes | None, figsize: tuple[float, float] = (8.0, 4.0)) -> Axes:
    """``ax`` itself, or the Axes of a new pyplot figure (shown inline in Jupyter)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def note(ax: Axes, text: str) -> None:
    """Write why the view is empty in the middle of the axes."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            fontsize=12, color="0.35", style="italic")
    ax.set_xticks([])
    ax.set_yticks([])


def color_for(key: Any, index: int) -> str:
    """The action's own colour for a group ending in an action; a spare colour otherwise."""
    action = key[-1] if isinstance(key, tuple) else key
    if isinstance(action, str) and action in ACTION_COLORS:
        return ACTION_COLORS[action]
    return OTHER_COLORS[index % len(OTHER_COLORS)]


def action_rank(value: Any) -> tuple[int, str]:
    """Sort key putting actions in data-flow order and anything else after them, by name."""
    text = str(value)
    return (ACTION_ORDER.index(text), "") if text in ACTION_ORDER else (len(ACTION_ORDER), text)


def ordered_groups(df: pd.DataFrame, keys: list[str]) -> list[tuple[Any, pd.DataFrame]]:
    """Groups of ``df`` by ``keys``; actions in data-flow order, everything else sorted."""
    grouped = df.groupby(keys if len(keys) > 1 else keys[0], sort=False, observed=True, dropna=False)

    def rank(item: tuple[Any, pd.DataFrame]) -> tuple:
        key = item[0] if isinstance(item[0], tuple) else (item[0],)
        return tuple(action_rank(v) if k == "action" else (0, str(v)) for k, v in zip(keys, key))

    return sorted(grouped, key=rank)
