"""Matplotlib views of a trajectory: each takes the data and ``ax=None`` and returns the Axes.

Pass an ``ax`` to compose several views in one figure; leave it out and the
function makes a new pyplot figure (shown inline in Jupyter). Titles, axis
labels with units and legends are always set, and a view with nothing to show
yet (an empty frame, no retrieves, no tags) says so on the axes instead of
raising, so a dashboard can draw from the very first step.

matplotlib is imported inside the functions, never at module import, so
``import agentfactory.analysis`` stays cheap in scripts that only want numbers.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .metrics import SUMMARY_FIELDS, _by_list, compare_runs, hit_rate, reward_by, run_summary, tier_contents

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "plot_compare_hit_rate",
    "plot_compare_runs",
    "plot_hit_rate",
    "plot_latency",
    "plot_reward_distribution",
    "plot_summary_numbers",
    "plot_tier_contents",
    "summary_figure",
]

#: The actions in the order of a data flow (in, look, read, evict, delete); plots keep it.
ACTION_ORDER: tuple[str, ...] = ("assimilate", "query", "list_blobs", "retrieve", "prune", "destroy")
# Fixed colours so an action looks the same in every view; red is kept for failures.
ACTION_COLORS: dict[str, str] = {
    "assimilate": "#1f77b4",
    "query": "#ff7f0e",
    "list_blobs": "#2ca02c",
    "retrieve": "#9467bd",
    "prune": "#8c564b",
    "destroy": "#e377c2",
}
_OTHER_COLORS = ("#17becf", "#bcbd22", "#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a", "#c5b0d5", "#c49c94")
FAILURE_COLOR = "#d62728"
TIER_COLORS: dict[str, str] = {"iowarp": "#33557f", "cache": "#f0a030"}

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

# A strip plot of 100,000 points is slow to draw and no easier to read than 1,500.
_MAX_POINTS_PER_GROUP = 1500
_MAX_TAGS = 30
_LABEL_CHARS = 18


# -- helpers ----------------------------------------------------------------------
def _axes(ax: Axes | None, figsize: tuple[float, float] = (8.0, 4.0)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _note(ax: Axes, text: str) -> None:
    """Write why the view is empty in the middle of the axes."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            fontsize=12, color="0.35", style="italic")
    ax.set_xticks([])
    ax.set_yticks([])


def _short(label: Any, limit: int = _LABEL_CHARS) -> str:
    # Tag names may be any length (see ARCHITECTURE.md); a 200-character tick
    # label would squeeze the plot to nothing.
    text = "<NA>" if label is None or label is pd.NA or (isinstance(label, float) and label != label) else str(label)
    if len(text) <= limit:
        return text
    # keep both ends: tags often share a long prefix and differ at the end (…-2023, …-2024)
    head = (limit - 1) // 2 + (limit - 1) % 2
    return text[:head] + "…" + text[len(text) - (limit - 1 - head):]


_SEPARATORS = "_-/.:@ "
# Fonts with CJK glyphs, tried after the default font when a label needs them;
# tags may be any Unicode (ARCHITECTURE.md) and DejaVu Sans has no CJK.
_CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC",
                 "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC", "Hiragino Sans GB", "SimHei",
                 "Arial Unicode MS")


@functools.cache
def _fallback_families() -> tuple[str, ...]:
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return tuple(f for f in _CJK_FAMILIES if f in installed)


def _use_fallback_fonts(texts: Sequence[Any]) -> None:
    """Let matplotlib fall back to a CJK font (if one is installed) for non-Latin labels."""
    fallbacks = _fallback_families()
    if not fallbacks:
        return
    from matplotlib import rcParams

    for text in texts:
        if any(ord(ch) > 0x2E7F for ch in text.get_text()):
            text.set_fontfamily([*rcParams["font.family"], *fallbacks])


def _common_affixes(names: Sequence[str]) -> tuple[str, str]:
    """The prefix and suffix all ``names`` share, cut back to a separator (``_-/.:@``)."""
    if len(names) < 2:
        return "", ""
    prefix = os.path.commonprefix(list(names))
    cut = max(prefix.rfind(sep) for sep in _SEPARATORS)
    prefix = prefix[: cut + 1] if cut >= 0 else ""
    suffix = os.path.commonprefix([n[::-1] for n in names])[::-1]
    cut = min((i for i in (suffix.find(sep) for sep in _SEPARATORS) if i >= 0), default=-1)
    suffix = suffix[cut:] if cut >= 0 else ""
    if any(len(n) <= len(prefix) + len(suffix) for n in names):  # nothing would be left of a name
        return "", ""
    return prefix, suffix


def _tag_labels(tags: Sequence[Any]) -> tuple[list[str], str]:
    """Short tick labels for ``tags`` and the x-axis label that says what was cut from them.

    Experiment tags tend to share a long prefix and suffix (``run_017_cifar``):
    those are dropped from every tick and named once in the axis label, so the
    ticks show the part that differs.
    """
    names = [_short(t, 10**6) for t in tags]
    prefix, suffix = _common_affixes(names)
    if len(prefix) + len(suffix) < 4:
        return [_short(n) for n in names], "tag"
    core = [n[len(prefix): len(n) - len(suffix)] for n in names]
    return [_short(c) for c in core], f"tag ({_short(prefix, 30)}…{_short(suffix, 30)})"


def _group_label(key: Any) -> str:
    parts = key if isinstance(key, tuple) else (key,)
    return "\n".join(_short(p) for p in parts)


def _color_for(key: Any, index: int) -> str:
    action = key[-1] if isinstance(key, tuple) else key
    if isinstance(action, str) and action in ACTION_COLORS:
        return ACTION_COLORS[action]
    return _OTHER_COLORS[index % len(_OTHER_COLORS)]


def _action_rank(value: Any) -> tuple[int, str]:
    text = str(value)
    return (ACTION_ORDER.index(text), "") if text in ACTION_ORDER else (len(ACTION_ORDER), text)


def _ordered_groups(df: pd.DataFrame, keys: list[str]) -> list[tuple[Any, pd.DataFrame]]:
    """Groups of ``df`` by ``keys``; actions in data-flow order, everything else sorted."""
    grouped = df.groupby(keys if len(keys) > 1 else keys[0], sort=False, observed=True, dropna=False)

    def rank(item: tuple[Any, pd.DataFrame]) -> tuple:
        key = item[0] if isinstance(item[0], tuple) else (item[0],)
        return tuple(_action_rank(v) if k == "action" else (0, str(v)) for k, v in zip(keys, key))

    return sorted(grouped, key=rank)


def _bytes_unit(largest: float) -> tuple[float, str]:
    for power, unit in ((3, "GiB"), (2, "MiB"), (1, "KiB")):
        if largest >= 1024**power:
            return 1024.0**power, unit
    return 1.0, "bytes"


def _human_bytes(n: float) -> str:
    """A size as people write it: 512 B, 1.5 KiB, 20 MiB (whole numbers from 10 up)."""
    n = float(n)
    for power, unit in ((3, "GiB"), (2, "MiB"), (1, "KiB")):
        if n >= 1024**power:
            value = n / 1024**power
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    return f"{n:.0f} B"


def _rotate_ticks(ax: Axes, labels: Sequence[str]) -> None:
    """Slant the x tick labels when the longest would not fit in its slot; stand them up when crowded."""
    if not labels:
        return
    longest = max(len(line) for label in labels for line in label.split("\n"))
    lines = max(label.count("\n") + 1 for label in labels)
    width_in = ax.get_position().width * ax.figure.get_figwidth()
    chars_per_slot = width_in / len(labels) * 12  # about 12 characters per inch at "small"
    if longest <= chars_per_slot:
        return
    # slanted labels need about two line heights (~3 characters) per line of slot
    angle, align = (30, "right") if chars_per_slot >= 3 * lines else (90, "center")
    for tick in ax.get_xticklabels():
        tick.set_rotation(angle)
        tick.set_horizontalalignment(align)
        tick.set_rotation_mode("anchor" if angle != 90 else "default")
        if chars_per_slot < 1.6 * lines:
            tick.set_fontsize("xx-small")


# -- hit rate ---------------------------------------------------------------------
def plot_hit_rate(df: pd.DataFrame, window: int = 50, ax: Axes | None = None, *, manual: bool = False) -> Axes:
    """Rolling and cumulative cache hit rate of the retrieves, against the step.

    The rolling line averages the last ``window`` retrieves; the cumulative one
    every retrieve so far. Dotted verticals mark episode starts (up to 20).
    Retrieves of agent ``manual`` (a person inspecting) count only with ``manual=True``.
    """
    ax = _axes(ax)
    rates = hit_rate(df, window, manual=manual)
    ax.set_xlabel("step")
    ax.set_ylabel(HIT_RATE_LABEL)
    if rates.empty:
        ax.set_title("Cache hit rate")
        _note(ax, "no steps yet" if df.empty else "no retrieves yet")
        return ax

    steps = rates.index.to_numpy()
    marker = "o" if len(rates) < 20 else None
    ax.plot(steps, rates["rolling_hit_rate"], color=ACTION_COLORS["retrieve"], lw=1.3, alpha=0.9,
            marker=marker, ms=4, label=f"rolling (last {window} retrieves)")
    ax.plot(steps, rates["cumulative_hit_rate"], color="0.15", lw=2.2, marker=marker, ms=4,
            label="cumulative")
    if "episode" in df.columns and "step" in df.columns and len(df):
        starts = df.groupby("episode", sort=True)["step"].min().to_numpy()[1:]
        if 0 < len(starts) <= 20:
            for i, start in enumerate(starts):
                ax.axvline(start, color="0.6", lw=0.8, ls=":", label="episode start" if i == 0 else None)
    overall = rates["cumulative_hit_rate"].iloc[-1]
    ax.set_title(f"Cache hit rate: {overall:.0%} of {len(rates):,} retrieves")
    # 100% is the common answer: keep it, and the markers at either end, off the frame
    ax.set_ylim(-0.05, 1.08)
    ax.set_yticks(np.linspace(0, 1, 6))
    last = int(df["step"].max()) if "step" in df.columns and len(df) else int(steps[-1])
    first = int(df["step"].min()) if "step" in df.columns and len(df) else int(steps[0])
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
    ax = _axes(ax)
    ax.set_xlabel("retrieve (per run)")
    ax.set_ylabel(HIT_RATE_LABEL)
    ax.set_title(f"Rolling cache hit rate per run (last {window} retrieves)")
    drawn = 0
    for i, (name, frame) in enumerate(runs.items()):
        rates = hit_rate(frame, window)
        if rates.empty:
            continue
        ax.plot(np.arange(1, len(rates) + 1), rates["rolling_hit_rate"], lw=1.5,
                color=_OTHER_COLORS[i % len(_OTHER_COLORS)] if i >= 10 else f"C{i}",
                label=f"{_short(name, 30)} ({rates['cumulative_hit_rate'].iloc[-1]:.0%} overall)")
        drawn += 1
    if not drawn:
        _note(ax, "no runs yet" if not runs else "no retrieves yet")
        return ax
    ax.set_ylim(-0.05, 1.08)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize="small", title="run")
    return ax


# -- reward -----------------------------------------------------------------------
def _sina_offsets(values: np.ndarray, edges: np.ndarray, rng: np.random.Generator, half_width: float) -> np.ndarray:
    """Horizontal offsets that spread points as wide as their value is frequent (a sina plot)."""
    if not len(values):
        return values
    bins = np.clip(np.digitize(values, edges) - 1, 0, len(edges) - 2)
    counts = np.bincount(bins, minlength=len(edges) - 1)
    width = counts[bins] / counts.max()
    return rng.uniform(-1.0, 1.0, len(values)) * half_width * np.maximum(width, 0.08)


def plot_reward_distribution(df: pd.DataFrame, by: str | Sequence[str] = "action", ax: Axes | None = None) -> Axes:
    """Reward of every step per group (``by="action"``, ``"agent"`` or both).

    Rewards take few distinct values (the reward table), so a box would
    collapse to a line: each step is a point, spread sideways as wide as its
    reward is frequent within the group (a sina plot), red crosses for failed
    steps, a white diamond at the group's mean. Tick labels carry the number
    of steps per group.
    """
    ax = _axes(ax)
    keys = _by_list(by)
    ax.set_title(f"Reward per step by {' and '.join(keys)}")
    ax.set_xlabel(" / ".join(keys))
    ax.set_ylabel(REWARD_LABEL)
    if df.empty:
        _note(ax, "no steps yet")
        return ax
    absent = [k for k in keys if k not in df.columns]
    if absent:
        raise KeyError(f"frame has no column(s) {absent} to group rewards by")

    groups = _ordered_groups(df, keys)
    rng = np.random.default_rng(0)  # fixed jitter: redraws of the same data look the same
    every = df["reward"].to_numpy(dtype="float64")
    finite = every[np.isfinite(every)]
    low, high = (finite.min(), finite.max()) if len(finite) else (0.0, 1.0)
    edges = np.linspace(low, high if high > low else low + 1.0, 41)
    labels, means = [], []
    for pos, (key, frame) in enumerate(groups, start=1):
        reward = frame["reward"].to_numpy(dtype="float64")
        ok = frame["ok"].to_numpy(dtype=bool) if "ok" in frame.columns else np.ones(len(frame), bool)
        shown = np.flatnonzero(np.isfinite(reward))
        if len(shown) > _MAX_POINTS_PER_GROUP:
            shown = np.sort(rng.choice(shown, _MAX_POINTS_PER_GROUP, replace=False))
        y = reward[shown]
        x = pos + _sina_offsets(y, edges, rng, 0.38)
        good = ok[shown]
        ax.scatter(x[good], y[good], s=10, alpha=0.45, color=_color_for(key, pos - 1), linewidths=0, zorder=2)
        ax.scatter(x[~good], y[~good], s=14, alpha=0.7, color=FAILURE_COLOR, marker="x", linewidths=0.9, zorder=3)
        means.append(np.nanmean(reward) if np.isfinite(reward).any() else np.nan)
        labels.append(f"{_group_label(key)}\n(n={len(reward):,})")

    positions = np.arange(1, len(groups) + 1)
    ax.scatter(positions, means, marker="D", s=40, color="white", edgecolors="0.1", linewidths=1.2, zorder=5)
    ax.axhline(0, color="0.5", lw=0.8, zorder=1)
    ax.set_xticks(positions, labels)
    ax.set_xlim(0.4, len(groups) + 0.6)
    ax.tick_params(axis="x", labelsize="small")
    _rotate_ticks(ax, labels)
    _use_fallback_fonts(ax.get_xticklabels())
    ax.grid(True, axis="y", alpha=0.3)

    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], ls="", marker="o", color="0.45", alpha=0.6, label="step (ok)"),
        Line2D([], [], ls="", marker="x", color=FAILURE_COLOR, label="step (failed)"),
        Line2D([], [], ls="", marker="D", markerfacecolor="white", markeredgecolor="0.1", label="mean"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False,
              title="spread ∝ frequency", title_fontsize="x-small")
    return ax


# -- latency ----------------------------------------------------------------------
def plot_latency(df: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Latency of the steps per action, as boxes on a log scale (whiskers 5th–95th percentile)."""
    ax = _axes(ax)
    ax.set_title("Step latency by action")
    ax.set_xlabel("action")
    ax.set_ylabel("latency (ms, log scale)")
    if df.empty or "latency_ms" not in df.columns:
        _note(ax, "no steps yet" if df.empty else "no latencies recorded")
        return ax
    # log scale needs positive numbers; a 0 ms step is a step that was not timed
    timed = df[df["latency_ms"].astype("float64") > 0]
    if timed.empty:
        _note(ax, "no latencies recorded")
        return ax
    groups = _ordered_groups(timed, ["action"])
    data = [g["latency_ms"].to_numpy(dtype="float64") for _, g in groups]
    labels = [f"{_group_label(k)}\n(n={len(d):,})" for (k, _), d in zip(groups, data)]
    positions = np.arange(1, len(groups) + 1)
    boxes = ax.boxplot(data, positions=positions, widths=0.6, whis=(5, 95), patch_artist=True,
                       flierprops={"marker": ".", "markersize": 3, "alpha": 0.4, "markeredgecolor": "0.4"},
                       medianprops={"color": "0.1", "lw": 1.5})
    for i, ((key, _), box) in enumerate(zip(groups, boxes["boxes"])):
        box.set_facecolor(_color_for(key, i))
        box.set_alpha(0.55)
    ax.set_yscale("log")
    ax.set_xticks(positions, labels)
    ax.tick_params(axis="x", labelsize="small")
    _rotate_ticks(ax, labels)
    ax.grid(True, axis="y", which="major", alpha=0.3)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(facecolor="0.75", edgecolor="0.2", label="25th–75th percentile"),
                       Line2D([], [], color="0.1", lw=1.5, label="median"),
                       Line2D([], [], color="0.2", lw=1, label="whiskers: 5th–95th")],
              loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    return ax


# -- tiers ------------------------------------------------------------------------
def plot_tier_contents(snapshot: Any, ax: Axes | None = None, metric: str = "blobs") -> Axes:
    """Per tag, what IOWarp holds next to what the cache holds (``metric``: blobs or bytes).

    ``snapshot`` is ``TwoTierStore.snapshot()``'s list of dicts (or the frame
    :func:`~agentfactory.analysis.metrics.tier_contents` makes of it). Bytes are
    drawn in the largest binary unit that fits (KiB, MiB, GiB). With more than
    30 tags the 30 largest in IOWarp are shown.
    """
    if metric not in ("blobs", "bytes"):
        raise ValueError(f"metric must be 'blobs' or 'bytes', got {metric!r}")
    ax = _axes(ax)
    ax.set_xlabel("tag")
    ax.set_title(f"Tier contents: {metric} per tag")
    frame = tier_contents(snapshot)
    iowarp_col, cache_col = f"iowarp_{metric}", f"cached_{metric}"
    if metric == "blobs":
        ax.set_ylabel("blobs (count)")
    else:
        ax.set_ylabel("stored size (bytes)")
    if snapshot is None:
        _note(ax, "no tier snapshot")
        return ax
    if frame.empty:
        _note(ax, "no tags in the store yet")
        return ax
    if frame[iowarp_col].isna().all() and frame[cache_col].isna().all():
        _note(ax, "the snapshot has no byte counts")
        return ax

    total = len(frame)
    if total > _MAX_TAGS:
        frame = frame.sort_values(iowarp_col, ascending=False, kind="stable").head(_MAX_TAGS)
        ax.set_title(f"Tier contents: {metric} per tag (largest {_MAX_TAGS} of {total})")
    iowarp = frame[iowarp_col].astype("float64").fillna(0).to_numpy()
    cache = frame[cache_col].astype("float64").fillna(0).to_numpy()
    positive = np.concatenate([iowarp, cache])
    positive = positive[positive > 0]
    # a 2 KiB tag next to a 2 GiB one is a zero-height bar on a linear axis: spread over two
    # decades goes on a log axis, in bytes, its ticks in readable units
    log = metric == "bytes" and len(positive) > 0 and positive.max() / positive.min() > 100
    scale, unit = (1.0, "count") if metric == "blobs" or log else _bytes_unit(max(iowarp.max(), cache.max()))
    if log:
        from matplotlib.ticker import FuncFormatter, LogLocator

        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=1024))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _human_bytes(v)))
        ax.set_ylabel("stored size (log scale)")
    elif metric == "bytes":
        ax.set_ylabel(f"stored size ({unit})")
    x = np.arange(len(frame))
    width = 0.4
    bars_i = ax.bar(x - width / 2, iowarp / scale, width, color=TIER_COLORS["iowarp"], label="IOWarp (persistent)")
    bars_c = ax.bar(x + width / 2, cache / scale, width, color=TIER_COLORS["cache"], label="cache (memcached)")
    width_in = ax.get_position().width * ax.figure.get_figwidth()
    if width_in / len(frame) >= 0.75:  # room for two numbers side by side under each tag
        for bars, values in ((bars_i, iowarp), (bars_c, cache)):
            # the true size, in its own unit: "512 B", "1.5 MiB" (never "0.0" for a small tag)
            texts = [f"{v:,.0f}" if metric == "blobs" else _human_bytes(v) for v in values]
            ax.bar_label(bars, labels=texts, fontsize="x-small", padding=1)
        if log:
            ax.set_ylim(positive.min() / 4, ax.get_ylim()[1] * 4)  # the smallest bar has height; labels fit above
        else:
            ax.margins(y=0.12)
    labels, xlabel = _tag_labels(list(frame.index))
    ax.set_xlabel(xlabel)
    ax.set_xticks(x, labels)
    ax.tick_params(axis="x", labelsize="small")
    _rotate_ticks(ax, labels)
    _use_fallback_fonts([*ax.get_xticklabels(), ax.xaxis.label])
    if metric == "blobs":
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    return ax


# -- comparing runs ---------------------------------------------------------------
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
    ax = _axes(ax)
    ax.set_title(f"Runs compared: {METRIC_LABELS[metric].split(' (')[0]}")
    ax.set_xlabel("run")
    ax.set_ylabel(METRIC_LABELS[metric])
    if table.empty:
        _note(ax, "no runs yet")
        return ax
    values = table[metric].astype("float64").to_numpy()
    x = np.arange(len(table))
    colors = [f"C{i % 10}" for i in range(len(table))]
    bars = ax.bar(x, np.nan_to_num(values), 0.6, color=colors)
    fmt = {"hit_rate": "{:.1%}", "reward_total": "{:,.1f}", "reward_mean": "{:.3f}",
           "latency_ms_median": "{:,.2f}", "latency_ms_p95": "{:,.2f}"}.get(metric, "{:,.0f}")
    ax.bar_label(bars, labels=["n/a" if np.isnan(v) else fmt.format(v) for v in values],
                 fontsize="small", padding=2)
    labels = [_short(name, 24) for name in table.index]
    ax.set_xticks(x, labels)
    _rotate_ticks(ax, labels)
    _use_fallback_fonts(ax.get_xticklabels())
    if metric == "hit_rate":
        ax.set_ylim(0, 1.1)
    else:
        ax.margins(y=0.12)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.grid(True, axis="y", alpha=0.3)
    return ax


# -- the numbers and the whole picture --------------------------------------------
def _fmt(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    return {"pct": f"{value:.1%}", "int": f"{int(value):,}", "pts": f"{value:,.2f}",
            "ms": f"{value:,.2f} ms"}[kind]


def plot_summary_numbers(df: pd.DataFrame, snapshot: Any = None, ax: Axes | None = None) -> Axes:
    """The headline numbers of a run and a per-action breakdown, as tables on the axes."""
    ax = _axes(ax, (7.0, 4.0))
    ax.set_axis_off()
    ax.set_title("Run summary")
    numbers = run_summary(df)
    episodes = int(df["episode"].nunique()) if "episode" in df.columns and len(df) else 0
    errors = numbers["errors"]
    rows = [
        ("steps", _fmt(numbers["steps"], "int") + f" in {episodes:,} episode{'s' if episodes != 1 else ''}"),
        ("hit rate", _fmt(numbers["hit_rate"], "pct") + f" of {numbers['retrieves']:,} retrieves"
         if numbers["retrieves"] else "n/a (no retrieves yet)"),
        ("reward total", _fmt(numbers["reward_total"], "pts") + " points"),
        ("reward mean", _fmt(numbers["reward_mean"], "pts") + " points per step" if numbers["steps"] else "n/a"),
        ("errors", f"{errors:,}" + (f" ({errors / numbers['steps']:.1%} of steps)" if numbers["steps"] else "")),
        ("latency median / p95",
         f"{_fmt(numbers['latency_ms_median'], 'ms')} / {_fmt(numbers['latency_ms_p95'], 'ms')}"),
    ]
    if snapshot is not None:
        tiers = tier_contents(snapshot)
        rows.append(("blobs IOWarp / cache",
                     f"{int(tiers['iowarp_blobs'].sum()):,} / {int(tiers['cached_blobs'].sum()):,}"
                     f" in {len(tiers):,} tags"))
    head = ax.table(cellText=[[k, v] for k, v in rows], colWidths=[0.34, 0.62], loc="upper center",
                    cellLoc="left", bbox=[0.02, 0.50, 0.96, 0.48])
    head.auto_set_font_size(False)
    head.set_fontsize(10)
    for (r, c), cell in head.get_celld().items():
        cell.set_edgecolor("0.85")
        if c == 0:
            cell.set_text_props(color="0.3")
        else:
            cell.set_text_props(weight="bold")

    if df.empty:
        return ax
    per = reward_by(df, "action")
    failed = ~df["ok"].astype(bool) if "ok" in df.columns else pd.Series(False, index=df.index)
    per["errors"] = failed.groupby(df["action"], observed=True, dropna=False).sum()
    latency = df["latency_ms"] if "latency_ms" in df.columns else pd.Series(np.nan, index=df.index)
    per["latency_ms_median"] = latency.groupby(df["action"], observed=True, dropna=False).median()
    # data-flow order; a run with many custom actions shows the busiest, so rows stay readable
    per = per.loc[sorted(per.index, key=_action_rank)]
    if len(per) > 8:
        per = per.sort_values("count", ascending=False, kind="stable").head(8)
    cells = [[_short(action), f"{int(row['count']):,}", f"{row['sum']:,.1f}", f"{row['mean']:.3f}",
              f"{int(row['errors']):,}", "n/a" if np.isnan(row["latency_ms_median"]) else f"{row['latency_ms_median']:,.2f}"]
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
    return ax


def summary_figure(df: pd.DataFrame, snapshot: Any = None, *, window: int = 50, by: str | Sequence[str] = "action",
                   tier_metric: str = "blobs", figsize: tuple[float, float] = (15.0, 9.5), dpi: float = 100) -> Figure:
    """One 2x2 figure: hit rate, reward distribution, tier contents and the numbers.

    Built on a bare :class:`matplotlib.figure.Figure` rather than pyplot, so
    making one (from a dashboard's timer thread, say) never touches pyplot's
    global figure list; Jupyter still displays the returned figure.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    (a_hit, a_reward), (a_tier, a_numbers) = fig.subplots(2, 2)
    plot_hit_rate(df, window=window, ax=a_hit)
    plot_reward_distribution(df, by=by, ax=a_reward)
    plot_tier_contents(snapshot, ax=a_tier, metric=tier_metric)
    plot_summary_numbers(df, snapshot, ax=a_numbers)
    title = "AgentFactory run"
    if "time" in df.columns and len(df):
        start, end = df["time"].min(), df["time"].max()
        end_fmt = "%H:%M:%S" if start.date() == end.date() else "%Y-%m-%d %H:%M:%S"
        title += f": {start:%Y-%m-%d %H:%M:%S} to {end.strftime(end_fmt)} UTC"
    fig.suptitle(title, fontsize=14, weight="bold")
    return fig
