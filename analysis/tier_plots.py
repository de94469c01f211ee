"""What each tier holds, per tag: IOWarp (persistent) next to the cache, in blobs or bytes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .metrics import tier_contents
from .style import TIER_COLORS, axes_for, note
from .ticks import bytes_unit, human_bytes, rotate_ticks, tag_labels, use_fallback_fonts

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.container import BarContainer

__all__ = ["plot_tier_contents"]

_MAX_TAGS = 30
_METRICS = ("blobs", "bytes")


def plot_tier_contents(snapshot: Any, ax: Axes | None = None, metric: str = "blobs") -> Axes:
    """Per tag, what IOWarp holds next to what the cache holds (``metric``: blobs or bytes).

    ``snapshot`` is ``TwoTierStore.snapshot()``'s list of dicts (or the frame
    :func:`~agentfactory.analysis.metrics.tier_contents` makes of it). Bytes are
    drawn in the largest binary unit that fits (KiB, MiB, GiB). With more than
    30 tags the 30 largest in IOWarp are shown.
    """
    if metric not in _METRICS:
        raise ValueError(f"metric must be 'blobs' or 'bytes', got {metric!r}")
    ax = axes_for(ax)
    ax.set_title(f"Tier contents: {metric} per tag")
    ax.set_ylabel("blobs (count)" if metric == "blobs" else "stored size (bytes)")
    frame = tier_contents(snapshot)
    empty = _why_empty(snapshot, frame, metric)
    if empty:
        ax.set_xlabel("tag")
        note(ax, empty)
        return ax
    if len(frame) > _MAX_TAGS:
        ax.set_title(f"Tier contents: {metric} per tag (largest {_MAX_TAGS} of {len(frame)})")
        frame = frame.sort_values(f"iowarp_{metric}", ascending=False, kind="stable").head(_MAX_TAGS)
    iowarp, cache = (frame[f"{tier}_{metric}"].astype("float64").fillna(0).to_numpy() for tier in ("iowarp", "cached"))
    scale, log = _value_axis(ax, metric, iowarp, cache)
    x = np.arange(len(frame))
    width = 0.4
    bars_i = ax.bar(x - width / 2, iowarp / scale, width, color=TIER_COLORS["iowarp"], label="IOWarp (persistent)")
    bars_c = ax.bar(x + width / 2, cache / scale, width, color=TIER_COLORS["cache"], label="cache (memcached)")
    _label_bars(ax, metric, log, ((bars_i, iowarp), (bars_c, cache)))
    labels, xlabel = tag_labels(list(frame.index))
    ax.set_xlabel(xlabel)
    ax.set_xticks(x, labels)
    ax.tick_params(axis="x", labelsize="small")
    rotate_ticks(ax, labels)
    use_fallback_fonts([*ax.get_xticklabels(), ax.xaxis.label])
    if metric == "blobs":
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    return ax


def _why_empty(snapshot: Any, frame: pd.DataFrame, metric: str) -> str | None:
    if snapshot is None:
        return "no tier snapshot"
    if frame.empty:
        return "no tags in the store yet"
    if frame[f"iowarp_{metric}"].isna().all() and frame[f"cached_{metric}"].isna().all():
        return "the snapshot has no byte counts"
    return None


def _value_axis(ax: Axes, metric: str, iowarp: np.ndarray, cache: np.ndarray) -> tuple[float, bool]:
    """Set up the y axis; return the scale bars are divided by and whether the axis is logarithmic."""
    positive = _positive(iowarp, cache)
    # a 2 KiB tag next to a 2 GiB one is a zero-height bar on a linear axis: spread over two
    # decades goes on a log axis, in bytes, its ticks in readable units
    log = metric == "bytes" and len(positive) > 0 and positive.max() / positive.min() > 100
    if metric == "blobs":
        return 1.0, False
    if log:
        from matplotlib.ticker import FuncFormatter, LogLocator

        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=1024))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: human_bytes(v)))
        ax.set_ylabel("stored size (log scale)")
        return 1.0, True
    scale, unit = bytes_unit(max(iowarp.max(), cache.max()))
    ax.set_ylabel(f"stored size ({unit})")
    return scale, False


def _positive(iowarp: np.ndarray, cache: np.ndarray) -> np.ndarray:
    values = np.concatenate([iowarp, cache])
    return values[values > 0]


def _label_bars(ax: Axes, metric: str, log: bool, bars: tuple[tuple[BarContainer, np.ndarray], ...]) -> None:
    """Write each bar's true size on it: level when the labels fit, upright when only that fits, else none."""
    width_in = ax.get_position().width * ax.figure.get_figwidth()
    if width_in / len(bars[0][1]) < 0.75:
        return
    texts = []
    for container, values in bars:
        # the true size, in its own unit: "512 B", "1.5 MiB" (never "0.0" for a small tag)
        labels = [f"{v:,.0f}" if metric == "blobs" else human_bytes(v) for v in values]
        texts += ax.bar_label(container, labels=labels, fontsize="x-small", padding=1)
    upright = _labels_collide(ax, texts)
    if upright:  # "2.9 MiB" next to "2.8 MiB" ran together: stand them on the bars
        for text in texts:
            text.set_rotation(90)
        if _labels_collide(ax, texts):
            for text in texts:
                text.remove()
            upright = False
    if log:
        smallest = _positive(bars[0][1], bars[1][1]).min()
        ax.set_ylim(smallest / 4, ax.get_ylim()[1] * (12 if upright else 4))  # the smallest bar has height
    else:
        ax.margins(y=0.3 if upright else 0.12)  # room above the tallest bar for its label


def _labels_collide(ax: Axes, texts: list) -> bool:
    """Whether any two labels, side by side, come closer than a few points (measured as drawn now)."""
    # no renderer argument: matplotlib finds one for any figure, pyplot's or a bare Figure()
    boxes = sorted((t.get_window_extent() for t in texts), key=lambda box: box.x0)
    gap = 8 * ax.figure.dpi / 72  # 8 points: tight_layout or a legend may still narrow the axes a little
    return any(left.x1 + gap > right.x0 for left, right in zip(boxes, boxes[1:]))
