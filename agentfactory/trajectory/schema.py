"""The trajectory frame's fixed schema: the standard columns, their dtypes, their defaults.

Analysis code, Parquet and CSV agree because every frame has these columns, in
this order, with these dtypes:

===============  ==========================  =======================================
column           dtype                       meaning
===============  ==========================  =======================================
``step``         int64                       global counter across episodes, from 0
``episode``      int64                       episode the step belongs to
``time``         datetime64[us, UTC]         when the step was recorded
``agent``        string                      agent that acted
``command``      string                      user command that led here, or <NA>
``action``       string                      action name (or what was attempted)
``params``       string                      compact JSON of the params dict
``ok``           bool                        did the step succeed
``reward``       float64                     reward the environment gave
``cache_hit``    boolean (nullable)          True/False, <NA> when not applicable
``tier``         string                      "cache", "iowarp", "both", "bypass" or <NA>
``blobs``        int64                       blobs the step touched or returned
``bytes``        int64                       bytes moved
``latency_ms``   float64                     wall time of the step
``error``        string                      error code/message, <NA> when ok
``message``      string                      what a user should read: why a step failed
                                             and what to do, or a note on one that
                                             worked (a value that bypassed the cache)
===============  ==========================  =======================================

``tier`` is ``"bypass"`` for a read served from IOWarp because the value is
larger than the cache takes: it missed, and always will, so it is not an
ordinary miss.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.vocabulary import TIERS

__all__ = ["COLUMNS", "DTYPES", "MANUAL_AGENT", "TIERS"]

STRING = pd.StringDtype()  # pyarrow-backed when pyarrow is installed; missing is <NA>
TIME = pd.DatetimeTZDtype("us", "UTC")  # Python datetimes carry microseconds, no more

#: Standard columns, in frame order, with their dtypes.
DTYPES: dict[str, Any] = {
    "step": np.dtype("int64"),
    "episode": np.dtype("int64"),
    "time": TIME,
    "agent": STRING,
    "command": STRING,
    "action": STRING,
    "params": STRING,
    "ok": np.dtype("bool"),
    "reward": np.dtype("float64"),
    "cache_hit": pd.BooleanDtype(),
    "tier": STRING,
    "blobs": np.dtype("int64"),
    "bytes": np.dtype("int64"),
    "latency_ms": np.dtype("float64"),
    "error": STRING,
    "message": STRING,
}
COLUMNS: tuple[str, ...] = tuple(DTYPES)

#: The agent name of steps a person took directly (``%iowarp put/get/ls/...``); hit rates leave them out.
MANUAL_AGENT = "manual"

STRING_COLUMNS = ("agent", "command", "action", "params", "tier", "error", "message")
REQUIRED_IN_FRAME = ("step", "episode", "time", "agent", "action", "ok", "reward")
#: What a hand-built frame gets for a standard column it leaves out.
FRAME_DEFAULTS: dict[str, Any] = {
    "command": None,
    "params": "{}",
    "cache_hit": None,
    "tier": None,
    "blobs": 0,
    "bytes": 0,
    "latency_ms": 0.0,
    "error": None,
    "message": None,
}


_TIER_SET = frozenset(TIERS)


def check_tier(tier: str | None) -> None:
    if tier is not None and tier not in _TIER_SET:
        raise ValueError(f"tier must be one of {sorted(TIERS)} or None, got {tier!r}")


def check_tiers(tiers: list[str | None]) -> None:
    unknown = set(tiers) - _TIER_SET - {None}
    if unknown:
        raise ValueError(f"column 'tier' holds {sorted(unknown)}; allowed: {sorted(TIERS)} or missing")
