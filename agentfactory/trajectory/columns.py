"""Between the recorder's buffers and pandas columns, in both directions, through Arrow.

The recorder keeps numbers in typed ``array.array`` buffers and strings in
lists; a frame is built from them with one memory copy per column, and a
frame is turned back into them the same way.
"""

from __future__ import annotations

import math
from array import array
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .schema import STRING, TIME

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def to_utc_us(value: datetime) -> int:
    """Microseconds since the Unix epoch of a timezone-aware datetime."""
    if value.tzinfo is None or value.utcoffset() is None:
        # A naive datetime.now() is local time; guessing UTC would shift rows silently.
        raise ValueError(
            f"time must be timezone-aware, got naive {value!r}; pass datetime.now(timezone.utc)"
        )
    return (value - _EPOCH) // _ONE_US


def is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def check_strings(**values: Any) -> None:
    for name, value in values.items():
        if value is None and name in ("command", "error", "message"):
            continue
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {value!r}")


def typed_buffer(code: str, values: np.ndarray) -> array:
    buffer = array(code)
    buffer.frombytes(np.ascontiguousarray(values).tobytes())
    return buffer


def numpy_of(buffer: array, dtype: str) -> np.ndarray:
    # Copy, and let the view go at once: an array.array refuses to grow while
    # a buffer view of it is alive, and the frame must not alias the recorder.
    return np.frombuffer(buffer, dtype=dtype).copy() if len(buffer) else np.empty(0, dtype=dtype)


def string_array(values: list[str | None]) -> pd.api.extensions.ExtensionArray:
    # Through Arrow: several times faster than pd.array(list, dtype="string").
    return STRING.__from_arrow__(pa.array(values, type=pa.large_string()))


def pylist(series: pd.Series, dtype: Any) -> list[Any]:
    # Through Arrow: plain Python values with None for any missing marker
    # (NA, NaN, None), an order of magnitude faster than tolist() and a filter.
    return pa.array(series.astype(dtype), from_pandas=True).to_pylist()


def strings_of_series(series: pd.Series) -> list[str | None]:
    return pylist(series, STRING)


def time_us(series: pd.Series) -> np.ndarray:
    """A frame's ``time`` column as microseconds since the epoch, UTC; naive times are refused."""
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        if pd.api.types.is_datetime64_dtype(series.dtype):
            raise ValueError("column 'time' is naive; localize it first (df.time.dt.tz_localize('UTC'))")
        if series.isna().any():
            raise ValueError("column 'time' has missing values")
        # Strings or datetimes, possibly with different offsets: each must have one.
        stamps = [pd.Timestamp(value) for value in series.tolist()]
        if any(stamp.tzinfo is None for stamp in stamps):
            raise ValueError("column 'time' holds naive timestamps; give them a UTC offset")
        series = pd.Series(pd.to_datetime(stamps, utc=True))
    if series.isna().any():
        raise ValueError("column 'time' has missing values")
    utc = series.dt.tz_convert("UTC").astype(TIME)
    return utc.dt.tz_localize(None).to_numpy().view("int64")


def exact(series: pd.Series, name: str, dtype: Any) -> pd.Series:
    """`series` as `dtype`, refusing missing values (every step has a step number, an ok, ...)."""
    if series.isna().any():
        raise ValueError(f"column {name!r} has missing values; every step needs one")
    return series.astype(dtype)
