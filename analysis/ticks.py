"""Tick labels that fit: shortened names, shared affixes named once, slanted when crowded.

Tag and agent names may be any Unicode of any length (ARCHITECTURE.md), so
every label a view shows from the data goes through here before it reaches
an axis; sizes are written the way people write them (512 B, 1.5 KiB).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "LABEL_CHARS", "bytes_unit", "group_label", "human_bytes", "rotate_ticks", "short", "tag_labels",
    "use_fallback_fonts",
]

LABEL_CHARS = 18
_SEPARATORS = "_-/.:@ "
# Fonts with CJK glyphs, tried after the default font when a label needs them;
# tags may be any Unicode (ARCHITECTURE.md) and DejaVu Sans has no CJK.
_CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC",
                 "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC", "Hiragino Sans GB", "SimHei",
                 "Arial Unicode MS")


def short(label: Any, limit: int = LABEL_CHARS) -> str:
    """``label`` as text of at most ``limit`` characters, keeping both ends."""
    # Tag names may be any length (see ARCHITECTURE.md); a 200-character tick
    # label would squeeze the plot to nothing.
    missing = label is None or label is pd.NA or (isinstance(label, float) and math.isnan(label))
    text = "<NA>" if missing else str(label)
    if len(text) <= limit:
        return text
    # keep both ends: tags often share a long prefix and differ at the end (…-2023, …-2024)
    head = (limit - 1) // 2 + (limit - 1) % 2
    return text[:head] + "…" + text[len(text) - (limit - 1 - head):]


@functools.cache
def _fallback_families() -> tuple[str, ...]:
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return tuple(f for f in _CJK_FAMILIES if f in installed)


def use_fallback_fonts(texts: Sequence[Any]) -> None:
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


def tag_labels(tags: Sequence[Any]) -> tuple[list[str], str]:
    """Short tick labels for ``tags`` and the x-axis label that says what was cut from them.

    Experiment tags tend to share a long prefix and suffix (``run_017_cifar``):
    those are dropped from every tick and named once in the axis label, so the
    ticks show the part that differs.
    """
    names = [short(t, 10**6) for t in tags]
    prefix, suffix = _common_affixes(names)
    if len(prefix) + len(suffix) < 4:
        return [short(n) for n in names], "tag"
    core = [n[len(prefix): len(n) - len(suffix)] for n in names]
    return [short(c) for c in core], f"tag ({short(prefix, 30)}…{short(suffix, 30)})"


def group_label(key: Any) -> str:
    """A group's tick label: each part of a (agent, action) key on its own line."""
    parts = key if isinstance(key, tuple) else (key,)
    return "\n".join(short(p) for p in parts)


def bytes_unit(largest: float) -> tuple[float, str]:
    """The binary unit (and its size) a linear axis up to ``largest`` bytes is drawn in."""
    for power, unit in ((3, "GiB"), (2, "MiB"), (1, "KiB")):
        if largest >= 1024**power:
            return 1024.0**power, unit
    return 1.0, "bytes"


def human_bytes(n: float) -> str:
    """A size as people write it: 512 B, 1.5 KiB, 20 MiB (whole numbers from 10 up)."""
    n = float(n)
    for power, unit in ((3, "GiB"), (2, "MiB"), (1, "KiB")):
        if n >= 1024**power:
            value = n / 1024**power
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    return f"{n:.0f} B"


def rotate_ticks(ax: Axes, labels: Sequence[str]) -> None:
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
