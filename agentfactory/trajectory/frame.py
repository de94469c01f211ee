"""A frame back into a recorder's buffers: what ``Trajectory.from_frame`` and ``load`` do.

Hand-built frames are welcome: optional standard columns default, non-standard
columns become extras, and a missing value where every step needs one (step,
agent, ok, ...) is refused with the column's name, before anything is kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import extras
from .columns import exact, is_missing, strings_of_series, time_us, typed_buffer
from .params import encode_params
from .schema import DTYPES, FRAME_DEFAULTS, REQUIRED_IN_FRAME, check_tiers


def with_defaults(df: pd.DataFrame) -> pd.DataFrame:
    """`df` on a fresh 0..n-1 index with every standard column, or a ValueError naming the required ones it lacks."""
    absent = [name for name in REQUIRED_IN_FRAME if name not in df.columns]
    if absent:
        raise ValueError(f"frame lacks trajectory columns {absent}")
    df = df.reset_index(drop=True)
    for name, default in FRAME_DEFAULTS.items():
        if name not in df.columns:
            df[name] = pd.Series([default] * len(df), dtype=object)
    return df


def fill(trajectory: Any, df: pd.DataFrame) -> None:
    """Replace an empty trajectory's buffers with the rows of `df` (which has every standard column)."""
    _fill_numbers(trajectory, df)
    _fill_strings(trajectory, df)
    for name in df.columns:
        if name in DTYPES:
            continue
        if not isinstance(name, str):
            raise TypeError(f"extra column names must be str, got {name!r}")
        kind = extras.kind_of_series(name, df[name])
        trajectory._extra_kind[name] = kind
        trajectory._extra[name] = extras.values_of_series(kind, df[name])
    if len(df):  # recording continues after the largest step, in the largest episode
        trajectory._next_step = int(np.max(df["step"].to_numpy(dtype="int64"))) + 1
        trajectory._episode_now = int(np.max(df["episode"].to_numpy(dtype="int64")))


def _fill_numbers(trajectory: Any, df: pd.DataFrame) -> None:
    trajectory._step = typed_buffer("q", exact(df["step"], "step", "int64").to_numpy())
    trajectory._episode = typed_buffer("q", exact(df["episode"], "episode", "int64").to_numpy())
    trajectory._time = typed_buffer("q", time_us(df["time"]))
    trajectory._ok = typed_buffer("b", exact(df["ok"], "ok", bool).to_numpy().astype("int8"))
    trajectory._reward = typed_buffer("d", df["reward"].astype("float64").to_numpy())
    hit = df["cache_hit"].astype("boolean")
    codes = np.where(hit.isna().to_numpy(), 2, hit.fillna(False).to_numpy(dtype=bool)).astype("int8")
    trajectory._cache_hit = typed_buffer("b", codes)
    trajectory._blobs = typed_buffer("q", exact(df["blobs"], "blobs", "int64").to_numpy())
    trajectory._bytes = typed_buffer("q", exact(df["bytes"], "bytes", "int64").to_numpy())
    trajectory._latency_ms = typed_buffer("d", df["latency_ms"].astype("float64").to_numpy())


def _fill_strings(trajectory: Any, df: pd.DataFrame) -> None:
    # Hand-built frames may hold dicts in `params`: encode them the same way.
    params = df["params"]
    if not isinstance(params.dtype, pd.StringDtype):
        params = pd.Series(
            [v if isinstance(v, str) else encode_params(None if is_missing(v) else v) for v in params.tolist()],
            dtype=object,
        )
    trajectory._params = [v if v is not None else "{}" for v in strings_of_series(params)]
    for name in ("agent", "action"):
        values = strings_of_series(df[name])
        if None in values:
            raise ValueError(f"column {name!r} has missing values; every step needs one")
        setattr(trajectory, f"_{name}", values)
    trajectory._command = strings_of_series(df["command"])
    trajectory._error = strings_of_series(df["error"])
    trajectory._message = strings_of_series(df["message"])
    trajectory._tier = strings_of_series(df["tier"])
    check_tiers(trajectory._tier)
