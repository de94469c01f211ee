"""Numbers from a trajectory frame: DataFrame in, DataFrame or Series out.

Every function here reads the columns a :class:`agentfactory.trajectory.Trajectory`
frame has (``step``, ``action``, ``reward``, ``cache_hit``, ...) through
:func:`~agentfactory.analysis.frame.conform`, so hand-built frames may leave the
optional ones out: a frame without ``cache_hit`` simply has no retrieves, one
without ``latency_ms`` no latencies. ``retrieves`` and ``run_summary`` are
``agentfactory.trajectory``'s own (the one place the headline numbers are
computed), re-exported here.
Output columns are snake_case nouns with their unit in the name where they have
one (``latency_ms_p95``); rewards are unitless points, hit rates fractions in [0, 1].

Hit rates leave out the steps of agent ``manual`` by default: those are a
person inspecting the store (``%iowarp get``, ``ls``, ``tags``), which is
recorded, and must not move the numbers that measure the agents. Pass
``manual=True`` to count them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from agentfactory.trajectory import SUMMARY_FIELDS, retrieves, run_summary

from .frame import conform, group_keys

__all__ = [
    "compare_runs",
    "hit_rate",
    "retrieves",
    "reward_by",
    "run_summary",
    "tier_contents",
]

_TIER_COLUMNS: tuple[str, ...] = ("iowarp_blobs", "cached_blobs", "iowarp_bytes", "cached_bytes")


def hit_rate(df: pd.DataFrame, window: int = 50, *, manual: bool = False) -> pd.DataFrame:
    """Cache hit rate over time, computed over retrieve steps only.

    Returns one row per retrieve, indexed by ``step``, with

    - ``rolling_hit_rate``: hits / retrieves over the last ``window`` retrieves
      (fewer at the start, so the line begins at the first retrieve);
    - ``cumulative_hit_rate``: hits / retrieves from the first step up to this one.

    Steps that are not retrieves (``cache_hit`` missing) are left out rather
    than counted as misses: a burst of ``assimilate`` steps says nothing about
    the cache. An empty frame, or one without retrieves, gives an empty frame.
    Retrieves of agent ``manual`` count only with ``manual=True``.
    """
    if window < 1:
        raise ValueError(f"window must be at least 1 retrieve, got {window}")
    looked = retrieves(conform(df), manual=manual)
    hits = looked["cache_hit"].to_numpy(dtype="float64", na_value=np.nan)
    index = pd.Index(looked["step"], name="step")
    rolling = pd.Series(hits).rolling(window, min_periods=1).mean().to_numpy()
    cumulative = np.cumsum(hits) / np.arange(1, len(hits) + 1) if len(hits) else hits
    return pd.DataFrame(
        {"rolling_hit_rate": rolling.astype("float64"), "cumulative_hit_rate": cumulative.astype("float64")},
        index=index,
    )


def reward_by(df: pd.DataFrame, by: str | Sequence[str] = ("agent", "action")) -> pd.DataFrame:
    """Reward per group: ``count``, ``mean``, ``sum``, ``min``, ``max``.

    ``by`` is a column name or a sequence of them (default: agent and action).
    Groups are sorted; a missing value in a key column is a group of its own
    (a command no agent took is worth seeing, not dropping).

    Raises:
        KeyError: a column of ``by`` is not in the frame.
    """
    df = conform(df)
    keys = group_keys(by, df)
    stats = ["count", "mean", "sum", "min", "max"]
    if df.empty:
        index = pd.MultiIndex.from_tuples([], names=keys) if len(keys) > 1 else pd.Index([], name=keys[0])
        return pd.DataFrame({s: pd.Series(dtype="int64" if s == "count" else "float64") for s in stats}, index=index)
    out = df.groupby(keys, sort=True, observed=True, dropna=False)["reward"].agg(stats)
    out["count"] = out["count"].astype("int64")
    return out


def _snapshot_rows(snapshot: Any) -> list[dict[str, Any]]:
    if snapshot is None:
        return []
    if isinstance(snapshot, pd.DataFrame):
        frame = snapshot.reset_index() if "tag" not in snapshot.columns else snapshot
        return frame.to_dict("records")
    rows = []
    for row in snapshot:
        if hasattr(row, "model_dump"):  # a pydantic row, should the store grow one
            row = row.model_dump()
        rows.append(dict(row))
    return rows


def tier_contents(snapshot: Iterable[Mapping[str, Any]] | pd.DataFrame | None) -> pd.DataFrame:
    """What each tier holds, one row per tag (index ``tag``, in snapshot order).

    ``snapshot`` is what ``TwoTierStore.snapshot()`` returns: dicts with ``tag``,
    ``iowarp_blobs``, ``cached_blobs`` and optionally ``iowarp_bytes``,
    ``cached_bytes``. Blob counts are ``int64``; byte counts are nullable
    ``Int64`` and ``<NA>`` where the snapshot did not measure them. A tag
    listed twice is summed. ``None`` or an empty list gives an empty frame.
    """
    rows = _snapshot_rows(snapshot)
    for row in rows:
        if "tag" not in row:
            raise ValueError(f"snapshot row without a 'tag': {row!r}")
    frame = pd.DataFrame(rows, columns=["tag", *_TIER_COLUMNS])  # absent keys (bytes) become missing
    frame["tag"] = frame["tag"].astype("string")
    for name in ("iowarp_blobs", "cached_blobs"):
        frame[name] = pd.to_numeric(frame[name]).fillna(0).astype("int64")
    for name in ("iowarp_bytes", "cached_bytes"):
        frame[name] = pd.to_numeric(frame[name]).astype("Int64")
    if frame["tag"].duplicated().any():
        frame = frame.groupby("tag", sort=False).agg(
            {"iowarp_blobs": "sum", "cached_blobs": "sum",
             "iowarp_bytes": lambda s: s.sum(min_count=1), "cached_bytes": lambda s: s.sum(min_count=1)}
        ).reset_index()
        for name in ("iowarp_bytes", "cached_bytes"):
            frame[name] = frame[name].astype("Int64")
    return frame.set_index("tag")


def compare_runs(runs: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per run (index ``run``, in mapping order) with :func:`run_summary`'s numbers.

    Columns: ``steps``, ``retrieves``, ``hit_rate``, ``reward_total``,
    ``reward_mean``, ``errors``, ``latency_ms_median``, ``latency_ms_p95``.
    Counts are ``int64``, the rest ``float64``.
    """
    rows = {str(name): run_summary(conform(frame)) for name, frame in runs.items()}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=list(SUMMARY_FIELDS))
    out.index = pd.Index(list(rows), name="run", dtype=object)
    for name in SUMMARY_FIELDS:
        out[name] = out[name].astype("int64" if name in ("steps", "retrieves", "errors") else "float64")
    return out
