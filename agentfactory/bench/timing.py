"""What every benchmark case shares: timers, warm-up, interleaved rounds, results, the table.

A *round* is one timed batch of operations that returns seconds per operation.
`compare` warms both sides up, then alternates our round and the baseline's
round, so drift on a shared machine (another runtime, a compile, a noisy
neighbour) lands on both sides instead of on one. Rounds stop at `rounds` or
once the case's time budget is spent (never before `min_rounds`). Medians go
into the ratio; min and max show the spread.

This module imports nothing heavy: the native worker process uses it too.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.text import text_table

Round = Callable[[], float]  # runs one timed batch, returns seconds per operation

perf = time.perf_counter


# -- timers ---------------------------------------------------------------------
def time_batch(op: Callable[[], Any], number: int) -> float:
    """Seconds per call of `op`, timed as one batch of `number` calls."""
    start = perf()
    for _ in range(number):
        op()
    return (perf() - start) / number


def time_each(op: Callable[[], Any], setup: Callable[[], Any], number: int) -> float:
    """Seconds per call of `op` when every call needs an untimed `setup` first."""
    total = 0.0
    for _ in range(number):
        setup()
        start = perf()
        op()
        total += perf() - start
    return total / number


def time_once(op: Callable[[], Any]) -> float:
    start = perf()
    op()
    return perf() - start


# -- samples and results ----------------------------------------------------------
@dataclass
class Sample:
    """Seconds per operation, one value per round."""

    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else math.nan

    @property
    def min(self) -> float:
        return min(self.values) if self.values else math.nan

    @property
    def max(self) -> float:
        return max(self.values) if self.values else math.nan

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class Target:
    """A goal for one case: on the ratio (`<=` for time, `>=` for MB/s) or on our own seconds."""

    op: str  # "<=", ">=", "<"
    value: float
    on: str = "ratio"  # "ratio" or "ours_s"

    def met(self, ratio: float, ours_s: float) -> bool:
        x = ratio if self.on == "ratio" else ours_s
        if math.isnan(x):
            return False
        return {"<=": x <= self.value, ">=": x >= self.value, "<": x < self.value}[self.op]

    def __str__(self) -> str:
        if self.on == "ratio":
            return f"ratio {self.op} {self.value:g}"
        return f"ours {self.op} {self.value:g} s"


@dataclass
class CaseResult:
    """One row of the table and one entry of the JSON object.

    `kind` says what the ratio is: "time" (ours_s / baseline_s, lower is
    better) or "throughput" (our MB/s over the baseline's MB/s, which is
    baseline_s / ours_s; higher is better). `nbytes` is the payload one
    operation moves (for MB/s); `extra` carries case-specific numbers.
    """

    name: str
    kind: str
    ours: Sample
    baseline: Sample
    ours_label: str = ""
    baseline_label: str = ""
    target: Target | None = None
    nbytes: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None

    def _ratio(self, ours: float, base: float) -> float:
        if not (ours > 0 and base > 0):
            return math.nan
        return base / ours if self.kind == "throughput" else ours / base

    @property
    def ratio(self) -> float:
        return self._ratio(self.ours.median, self.baseline.median)

    @property
    def ratio_of_mins(self) -> float:
        """The same ratio from the fastest rounds: the least disturbed estimate on a busy machine."""
        return self._ratio(self.ours.min, self.baseline.min)

    @property
    def met(self) -> bool | None:
        if self.target is None or self.skipped:
            return None
        return self.target.met(self.ratio, self.ours.median)

    def to_json(self) -> dict[str, Any]:
        if self.skipped:
            return {"skipped": self.skipped, "ours_s": None, "baseline_s": None, "ratio": None,
                    "target": str(self.target) if self.target else None, "met": None}
        out: dict[str, Any] = {
            "ours_s": _num(self.ours.median),
            "baseline_s": _num(self.baseline.median),
            "ratio": _num(self.ratio),
            "target": str(self.target) if self.target else None,
            "met": self.met,
            "ratio_kind": "MB/s (ours / baseline)" if self.kind == "throughput" else "time (ours / baseline)",
            "ratio_of_mins": _num(self.ratio_of_mins),
            "ours_min_s": _num(self.ours.min),
            "ours_max_s": _num(self.ours.max),
            "baseline_min_s": _num(self.baseline.min),
            "baseline_max_s": _num(self.baseline.max),
            "rounds": len(self.ours),
            "ours": self.ours_label,
            "baseline": self.baseline_label,
        }
        if self.nbytes:
            out["bytes_per_op"] = self.nbytes
            out["ours_MBps"] = _num(self.nbytes / self.ours.median / 1e6)
            out["baseline_MBps"] = _num(self.nbytes / self.baseline.median / 1e6)
        out.update(self.extra)
        return out


def _num(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


# -- running a comparison -----------------------------------------------------------
@dataclass
class Plan:
    """How hard to try: rounds per case, warm-up rounds, and a time budget per case."""

    rounds: int = 7
    min_rounds: int = 3
    warmup: int = 1
    budget_s: float = 30.0
    scale: float = 1.0  # multiplies operation counts per round (quick runs use less)

    def n(self, number: int) -> int:
        return max(1, int(number * self.scale))


def compare(ours: Round, baseline: Round, plan: Plan, *, tick: Callable[[], None] | None = None) -> tuple[Sample, Sample]:
    """Warm both sides up, then alternate their timed rounds until done or out of budget."""
    for _ in range(plan.warmup):
        ours()
        baseline()
    a, b = Sample(), Sample()
    deadline = perf() + plan.budget_s
    for i in range(plan.rounds):
        if i >= plan.min_rounds and perf() > deadline:
            break
        # collect garbage between rounds, never inside one
        gc.collect()
        first, second = (ours, baseline) if i % 2 == 0 else (baseline, ours)
        x, y = first(), second()
        a.values.append(x if first is ours else y)
        b.values.append(y if first is ours else x)
        if tick:
            tick()
    return a, b


# -- presentation -------------------------------------------------------------------
def fmt_seconds(s: float) -> str:
    if s is None or math.isnan(s):
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.3f} s"


def fmt_rate(nbytes: int, s: float) -> str:
    if s is None or math.isnan(s) or s <= 0:
        return "-"
    rate = nbytes / s / 1e6
    return f"{rate:,.0f} MB/s" if rate >= 100 else f"{rate:.3g} MB/s"


def render_table(results: list[CaseResult]) -> str:
    """A plain-text table: median, min and max for both sides, the ratio, the target, met."""
    head = ["case", "ours median", "ours min", "ours max", "baseline median", "baseline min", "baseline max",
            "ratio", "target", "met"]
    rows = []
    for r in results:
        if r.skipped:
            rows.append([r.name, "skipped: " + r.skipped] + [""] * 6 + [str(r.target or ""), ""])
            continue
        if r.kind == "throughput":
            # MB/s: the fastest round is the min time, so min/max swap
            cell = lambda s: fmt_rate(r.nbytes, s)  # noqa: E731
            ours = [cell(r.ours.median), cell(r.ours.max), cell(r.ours.min)]
            base = [cell(r.baseline.median), cell(r.baseline.max), cell(r.baseline.min)]
        else:
            ours = [fmt_seconds(r.ours.median), fmt_seconds(r.ours.min), fmt_seconds(r.ours.max)]
            base = [fmt_seconds(r.baseline.median), fmt_seconds(r.baseline.min), fmt_seconds(r.baseline.max)]
        ratio = "-" if math.isnan(r.ratio) else f"{r.ratio:.2f}"
        met = {True: "yes", False: "NO", None: ""}[r.met]
        rows.append([r.name, *ours, *base, ratio, str(r.target or "-"), met])
    return "\n".join(text_table(head, rows, numeric=range(1, 8), rule=True))
