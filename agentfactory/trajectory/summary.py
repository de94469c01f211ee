"""The headline numbers of one run: the only place they are computed.

The CLI's demo, ``%iowarp stats`` and ``agentfactory.analysis`` (which
re-exports these) all read them from here, so a hit rate means the same thing
everywhere. Functions take a trajectory frame, or a hand-built one that leaves
optional columns out: a frame without ``cache_hit`` simply has no retrieves.

Hit rates leave out the steps of agent ``manual`` by default: those are a
person inspecting the store (``%iowarp get``, ``ls``, ``tags``), which is
recorded, and must not move the numbers that measure the agents. Pass
``manual=True`` to count them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .schema import MANUAL_AGENT

__all__ = ["SUMMARY_FIELDS", "retrieves", "run_summary"]

#: Entries of :func:`run_summary`, in order (and columns of ``analysis.compare_runs``).
SUMMARY_FIELDS: tuple[str, ...] = (
    "steps",
    "retrieves",
    "hit_rate",
    "reward_total",
    "reward_mean",
    "errors",
    "latency_ms_median",
    "latency_ms_p95",
)


def retrieves(df: pd.DataFrame, *, manual: bool = False) -> pd.DataFrame:
    """The steps that looked in the cache: rows whose ``cache_hit`` is not missing.

    ``cache_hit`` comes back as the nullable ``boolean`` dtype even when a
    hand-built frame stored it as objects (``True``/``False``/``None``).
    Steps of agent ``manual`` (a person inspecting) count only with ``manual=True``.
    """
    if not manual and "agent" in df.columns and len(df):
        df = df.loc[(df["agent"] != MANUAL_AGENT).fillna(True).to_numpy(dtype=bool)]
    if "cache_hit" not in df.columns or df.empty:
        out = df.iloc[0:0].copy()
        out["cache_hit"] = pd.array([], dtype="boolean")
        return out
    hit = df["cache_hit"].astype("boolean")
    out = df.loc[hit.notna().to_numpy()].copy()
    out["cache_hit"] = hit[hit.notna()]
    return out


def run_summary(df: pd.DataFrame, *, manual: bool = False) -> pd.Series:
    """The headline numbers of one run, as a Series (see :data:`SUMMARY_FIELDS`).

    ``hit_rate`` is hits / retrieves (NaN without retrieves; ``manual``
    retrieves count only with ``manual=True``), ``errors`` the steps with
    ``ok`` false, latencies the median and 95th percentile of ``latency_ms``
    over all steps (NaN without steps).
    """
    looked = retrieves(df, manual=manual)
    n_looked = len(looked)
    reward = df["reward"].astype("float64") if "reward" in df.columns else pd.Series(dtype="float64")
    latency = df["latency_ms"].astype("float64").dropna() if "latency_ms" in df.columns else pd.Series(dtype="float64")
    errors = int((~df["ok"].astype(bool)).sum()) if "ok" in df.columns else 0
    values: dict[str, Any] = {
        "steps": len(df),
        "retrieves": n_looked,
        "hit_rate": float(looked["cache_hit"].sum()) / n_looked if n_looked else np.nan,
        "reward_total": float(reward.sum()),
        "reward_mean": float(reward.mean()) if len(reward) else np.nan,
        "errors": errors,
        "latency_ms_median": float(latency.median()) if len(latency) else np.nan,
        "latency_ms_p95": float(latency.quantile(0.95)) if len(latency) else np.nan,
    }
    return pd.Series(values, index=list(SUMMARY_FIELDS), dtype=object, name="value")
