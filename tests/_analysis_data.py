"""Synthetic runs for the analysis tests: frames with the exact dtypes a ``Trajectory`` produces.

A plain module, imported by name (pytest puts tests/ on sys.path); the module-scoped
`run` fixture (``make_trajectory()``) lives in conftest.py.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
ACTIONS = np.array(["assimilate", "query", "list_blobs", "retrieve", "prune", "destroy"])
ACTION_P = np.array([0.12, 0.14, 0.10, 0.50, 0.09, 0.05])
AGENT_OF = {"assimilate": "ingestor", "destroy": "ingestor", "query": "retriever",
            "list_blobs": "retriever", "retrieve": "retriever", "prune": "retriever"}
REWARD_OF = {"assimilate": 0.10, "query": 0.10, "list_blobs": 0.10, "prune": 0.05, "destroy": 0.05}
TIER_OF = {"assimilate": "both", "query": "cache", "list_blobs": "iowarp", "prune": "cache", "destroy": "both"}
LATENCY_MS = {"assimilate": 25.0, "query": 0.8, "list_blobs": 4.0, "prune": 0.6, "destroy": 12.0}
TAGS = [f"dataset_{i}" for i in range(6)] + ["climate/era5-2023"]


def make_trajectory(n: int = 1000, seed: int = 7, episodes: int = 5) -> pd.DataFrame:
    """A synthetic run of ``n`` steps with the dtypes of ``Trajectory.to_frame()``.

    The cache warms up: the chance that a retrieve hits grows from 0.3 to 0.85
    across the run. About 4% of steps fail with reward -0.5.
    """
    rng = np.random.default_rng(seed)
    step = np.arange(n, dtype="int64")
    action = rng.choice(ACTIONS, size=n, p=ACTION_P)
    failed = rng.random(n) < 0.04
    is_retrieve = action == "retrieve"
    p_hit = 0.3 + 0.55 * step / max(n - 1, 1)
    hit = rng.random(n) < p_hit
    reward = np.array([REWARD_OF.get(a, 0.0) for a in action])
    reward = np.where(is_retrieve, np.where(hit, 0.30, 0.20), reward)
    reward = np.where(failed, -0.5, reward)
    base = np.array([LATENCY_MS.get(a, 0.0) for a in action])
    base = np.where(is_retrieve, np.where(hit, 0.35, 3.5), base)
    latency = base * rng.lognormal(0.0, 0.45, n)
    tag = rng.choice(TAGS, size=n)
    blobs = np.where(action == "assimilate", rng.integers(1, 40, n),
                     np.where(is_retrieve, 1, rng.integers(0, 12, n)))
    blobs = np.where(failed, 0, blobs).astype("int64")
    nbytes = np.where(np.isin(action, ["assimilate", "retrieve"]), blobs * rng.integers(2_000, 900_000, n), 0)
    cache_hit = pd.array(np.where(is_retrieve, hit, False), dtype="boolean")
    cache_hit[~is_retrieve] = pd.NA
    tier = [("cache" if h else "both") if a == "retrieve" else TIER_OF[a] for a, h in zip(action, hit)]
    params = [json.dumps({"tag": t, "blob_name": f"b{i % 50}.bin"} if a == "retrieve" else {"tag_pattern": t},
                         sort_keys=True, separators=(",", ":")) for i, (a, t) in enumerate(zip(action, tag))]
    errors = np.where(failed, np.where(is_retrieve, "not_found: no blob", "storage: IOWarp timeout"), None)
    df = pd.DataFrame({
        "step": step,
        "episode": (step * episodes // n).astype("int64"),
        "time": pd.DatetimeIndex([T0 + timedelta(milliseconds=40 * int(i)) for i in step]).as_unit("us"),
        "agent": pd.array([AGENT_OF[a] for a in action], dtype="string"),
        "command": pd.array([f"{a} {t}" for a, t in zip(action, tag)], dtype="string"),
        "action": pd.array(action, dtype="string"),
        "params": pd.array(params, dtype="string"),
        "ok": ~failed,
        "reward": reward.astype("float64"),
        "cache_hit": cache_hit,
        "tier": pd.array(tier, dtype="string"),
        "blobs": blobs,
        "bytes": nbytes.astype("int64"),
        "latency_ms": latency.astype("float64"),
        "error": pd.array(errors, dtype="string"),
    })
    return df


def make_snapshot(with_bytes: bool = True) -> list[dict]:
    rows = []
    for i, tag in enumerate(TAGS):
        stored = 10 + 17 * i
        cached = stored // (i + 1)
        row = {"tag": tag, "iowarp_blobs": stored, "cached_blobs": cached}
        if with_bytes:
            row |= {"iowarp_bytes": stored * 300_000, "cached_bytes": cached * 300_000}
        rows.append(row)
    return rows


def tiny(hits: list) -> pd.DataFrame:
    """A hand-built frame of retrieves (None = not a retrieve) with rewards to match."""
    n = len(hits)
    return pd.DataFrame({
        "step": np.arange(n, dtype="int64"),
        "episode": np.zeros(n, dtype="int64"),
        "agent": pd.array(["retriever"] * n, dtype="string"),
        "action": pd.array(["query" if h is None else "retrieve" for h in hits], dtype="string"),
        "ok": np.ones(n, dtype=bool),
        "reward": [0.1 if h is None else (0.3 if h else 0.2) for h in hits],
        "cache_hit": pd.array(hits, dtype="boolean"),
        "latency_ms": np.arange(1, n + 1, dtype="float64"),
    })
