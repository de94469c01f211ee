"""The numbers of a run as tables on an Axes, runs compared bar by bar, and the one-figure summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .frame import conform
from .metrics import SUMMARY_FIELDS, compare_runs, reward_by, run_summary, tier_contents
from .plots import plot_hit_rate
from .reward_plots import plot_reward_distribution
from .style import METRIC_LABELS, action_rank, axes_for, note
from .ticks import rotate_ticks, short, use_fallback_fonts
from .tier_plots import plot_tier_contents

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.table import Table

__all__ = ["plot_compare_runs", "plot_summary_numbers", "summary_figure"]

# A run with many custom actions shows its busiest, so the table's rows stay readable.
_MAX_ACTION_ROWS = 8
_BAR_FORMATS = {"hit_rate": "{:.1%}", "reward_total": "{:,.1f}", "reward_mean": "{:.3f}",
                "latency_ms_median": "{:,.2f}", "latency_ms_p95": "{:,.2f}"}


def plot_compare_runs(runs: Mapping[str, pd.DataFrame] | pd.DataFrame, metric: str = "hit_rate",
                      ax: Axes | None = None) -> Axes:
    """One bar per run for one number of :func:`~agentfactory.analysis.metrics.compare_runs`.

    ``runs`` maps run names to trajectory frames, or is ``compare_runs``'s
    table itself. ``metric`` is one of its columns (``hit_rate``,
    ``reward_total``, ``reward_mean``, ``errors``, ``latency_ms_median``, ...).
    """
    if metric not in SUMMARY_FIELDS:
        raise ValueError(f"metric must be one of {list(SUMMARY_FIELDS)}, got {metric!r}")
    table = runs if isinstance(runs, pd.DataFrame) else compare_runs(runs)
    ax = axes_for(ax)
    ax.set_title(f"Runs compared: {METRIC_LABELS[metric].split(' (')[0]}")
    ax.set_xlabel("run")
    ax.set_ylabel(METRIC_LABELS[metric])
    if table.empty:
        note(ax, "no runs yet")
        return ax
    values = table[metric].astype("float64").to_numpy()
    x = np.arange(len(table))
    colors = [f"C{i % 10}" for i in range(len(table))]
    bars = ax.bar(x, np.nan_to_num(values), 0.6, color=colors)
    fmt = _BAR_FORMATS.get(metric, "{:,.0f}")
    ax.bar_label(bars, labels=["n/a" if np.isnan(v) else fmt.format(v) for v in values],
                 fontsize="small", padding=2)
    labels = [short(name, 24) for name in table.index]
    ax.set_xticks(x, labels)
    rotate_ticks(ax, labels)
    use_fallback_fonts(ax.get_xticklabels())
    if metric == "hit_rate":
        ax.set_ylim(0, 1.1)
    else:
        ax.margins(y=0.12)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.grid(True, axis="y", alpha=0.3)
    return ax


def _fmt(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    return {"pct": f"{value:.1%}", "int": f"{int(value):,}", "pts": f"{value:,.2f}",
            "ms": f"{value:,.2f} ms"}[kind]


def plot_summary_numbers(df: pd.DataFrame, snapshot: Any = None, ax: Axes | None = None) -> Axes:
    """The headline numbers of a run and a per-action breakdown, as tables on the axes."""
    df = conform(df)
    ax = axes_for(ax, (7.0, 4.0))
    ax.set_axis_off()
    ax.set_title("Run summary")
    head = ax.table(cellText=[list(row) for row in _headline_rows(df, snapshot)], colWidths=[0.34, 0.62],
                    loc="upper center", cellLoc="left", bbox=[0.02, 0.50, 0.96, 0.48])
    head.auto_set_font_size(False)
    head.set_fontsize(10)
    for (_, c), cell in head.get_celld().items():
        cell.set_edgecolor("0.85")
        if c == 0:
            cell.set_text_props(color="0.3")
        else:
            cell.set_text_props(weight="bold")
    if not df.empty:
        _per_action_table(ax, df)
    return ax


def _headline_rows(df: pd.DataFrame, snapshot: Any) -> list[tuple[str, str]]:
    numbers = run_summary(df)
    steps, errors = numbers["steps"], numbers["errors"]
    episodes = int(df["episode"].nunique())
    rows = [
        ("steps", _fmt(steps, "int") + f" in {episodes:,} episode{'s' if episodes != 1 else ''}"),
        ("hit rate", _fmt(numbers["hit_rate"], "pct") + f" of {numbers['retrieves']:,} retrieves"
         if numbers["retrieves"] else "n/a (no retrieves yet)"),
        ("reward total", _fmt(numbers["reward_total"], "pts") + " points"),
        ("reward mean", _fmt(numbers["reward_mean"], "pts") + " points per step" if steps else "n/a"),
        ("errors", f"{errors:,}" + (f" ({errors / steps:.1%} of steps)" if steps else "")),
        ("latency median / p95",
         f"{_fmt(numbers['latency_ms_median'], 'ms')} / {_fmt(numbers['latency_ms_p95'], 'ms')}"),
    ]
    if snapshot is not None:
        tiers = tier_contents(snapshot)
        blobs = f"{int(tiers['iowarp_blobs'].sum()):,} / {int(tiers['cached_blobs'].sum()):,}"
        rows.append(("blobs IOWarp / cache", f"{blobs} in {len(tiers):,} tags"))
    return rows


def _per_action_table(ax: Axes, df: pd.DataFrame) -> Table:
    per = reward_by(df, "action")
    per["errors"] = (~df["ok"]).groupby(df["action"], observed=True, dropna=False).sum()
    per["latency_ms_median"] = df["latency_ms"].groupby(df["action"], observed=True, dropna=False).median()
    per = per.loc[sorted(per.index, key=action_rank)]  # data-flow order
    if len(per) > _MAX_ACTION_ROWS:
        per = per.sort_values("count", ascending=False, kind="stable").head(_MAX_ACTION_ROWS)
    cells = [[short(action), f"{int(row['count']):,}", f"{row['sum']:,.1f}", f"{row['mean']:.3f}",
              f"{int(row['errors']):,}", _fmt(row["latency_ms_median"], "ms").removesuffix(" ms")]
             for action, row in per.iterrows()]
    cols = ["action", "steps", "total reward\n(points)", "mean reward\n(points)", "errors", "median\nlatency (ms)"]
    table = ax.table(cellText=cells, colLabels=cols, loc="lower center", cellLoc="right",
                     colWidths=[0.2, 0.11, 0.19, 0.19, 0.11, 0.2], bbox=[0.02, 0.0, 0.96, 0.45])
    table.auto_set_font_size(False)
    table.set_fontsize(8.5)
    for (r, c), cell in table.get_celld().items():
        cell.set_edgecolor("0.85")
        if r == 0:
            # two-line headers: the bbox keeps row heights in proportion, so double this one
            cell.set_height(cell.get_height() * 2)
            cell.set_text_props(weight="bold")
            cell.set_facecolor("0.94")
        if c == 0:
            cell.get_text().set_horizontalalignment("left")
    return table


def summary_figure(df: pd.DataFrame, snapshot: Any = None, *, window: int = 50, by: str | Sequence[str] = "action",
                   tier_metric: str = "blobs", figsize: tuple[float, float] = (15.0, 9.5), dpi: float = 100) -> Figure:
    """One 2x2 figure: hit rate, reward distribution, tier contents and the numbers.

    Built on a bare :class:`matplotlib.figure.Figure` rather than pyplot, so
    making one (from a dashboard's timer thread, say) never touches pyplot's
    global figure list; Jupyter still displays the returned figure.
    """
    df = conform(df)
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    (a_hit, a_reward), (a_tier, a_numbers) = fig.subplots(2, 2)
    plot_hit_rate(df, window=window, ax=a_hit)
    plot_reward_distribution(df, by=by, ax=a_reward)
    plot_tier_contents(snapshot, ax=a_tier, metric=tier_metric)
    plot_summary_numbers(df, snapshot, ax=a_numbers)
    title = "AgentFactory run"
    times = df["time"].dropna()
    if len(times):
        start, end = times.min(), times.max()
        end_fmt = "%H:%M:%S" if start.date() == end.date() else "%Y-%m-%d %H:%M:%S"
        title += f": {start:%Y-%m-%d %H:%M:%S} to {end.strftime(end_fmt)} UTC"
    fig.suptitle(title, fontsize=14, weight="bold")
    return fig
