"""The trajectory: every step an agent takes, as one row of a pandas DataFrame.

Recording is columnar. Each column is a Python list or a typed ``array.array``
that grows by one O(1) append per step; ``to_frame()`` builds the DataFrame once
from those buffers and caches it until the next step. Appending a row to a
DataFrame copies the frame, which turns a 100,000-step experiment quadratic;
this recorder never does that.

The frame keeps one fixed schema so analysis code, Parquet and CSV agree:

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

Callers may add extra columns per step (routing info such as ``backend``,
``route_latency_ms``, ``tokens``); they follow the standard columns, and steps
that did not supply them hold a missing value.

``params`` stays a JSON *string* rather than a column of dicts: strings survive
Parquet and CSV byte for byte, while object columns of dicts do not. Use
:func:`decode_params` to get dicts back.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from array import array
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from json.encoder import c_encode_basestring, c_make_encoder  # type: ignore[attr-defined]
from pathlib import Path
from time import time_ns
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pa_parquet
from pydantic import BaseModel, ConfigDict

__all__ = [
    "COLUMNS",
    "DTYPES",
    "MANUAL_AGENT",
    "TIERS",
    "AgentActionStats",
    "Trajectory",
    "TrajectorySummary",
    "decode_params",
    "encode_params",
]

logger = logging.getLogger(__name__)

_STRING = pd.StringDtype()  # pyarrow-backed when pyarrow is installed; missing is <NA>
_TIME = pd.DatetimeTZDtype("us", "UTC")  # Python datetimes carry microseconds, no more

#: Standard columns, in frame order, with their dtypes.
DTYPES: dict[str, Any] = {
    "step": np.dtype("int64"),
    "episode": np.dtype("int64"),
    "time": _TIME,
    "agent": _STRING,
    "command": _STRING,
    "action": _STRING,
    "params": _STRING,
    "ok": np.dtype("bool"),
    "reward": np.dtype("float64"),
    "cache_hit": pd.BooleanDtype(),
    "tier": _STRING,
    "blobs": np.dtype("int64"),
    "bytes": np.dtype("int64"),
    "latency_ms": np.dtype("float64"),
    "error": _STRING,
    "message": _STRING,
}
COLUMNS: tuple[str, ...] = tuple(DTYPES)

#: The agent name of steps a person took directly (``%iowarp put/get/ls/...``); hit rates leave them out.
MANUAL_AGENT = "manual"

#: Allowed values of ``tier`` (besides missing).
TIERS: frozenset[str] = frozenset({"cache", "iowarp", "both", "bypass"})

_STRING_COLUMNS = ("agent", "command", "action", "params", "tier", "error", "message")
_REQUIRED_IN_FRAME = ("step", "episode", "time", "agent", "action", "ok", "reward")
# What a hand-built frame gets for a standard column it leaves out.
_FRAME_DEFAULTS: dict[str, Any] = {
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

# Extra columns hold one kind of scalar each. Ints become nullable Int64 because
# int64 cannot hold "this step did not report it"; floats stay float64 (NaN for
# missing) like reward and latency_ms, so they plot and aggregate the same way.
_KIND_DTYPES: dict[str | None, Any] = {
    "str": _STRING,
    "int": pd.Int64Dtype(),
    "float": np.dtype("float64"),
    "bool": pd.BooleanDtype(),
    None: np.dtype("object"),  # a column that so far only holds missing values
}
_DTYPE_NAMES = {"string": "str", "Int64": "int", "float64": "float", "boolean": "bool", "object": None}
_KIND_ARROW = {"str": pa.large_string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_US = timedelta(microseconds=1)

_CSV_MAGIC = "# agentfactory-trajectory "
_CSV_VERSION = 1


def _json_default(value: Any) -> Any:
    # A recorder must never fail the step it records: numpy scalars become
    # their Python value, anything else (Path, bytes, enums) its str().
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        try:
            return sorted(value)  # equal sets give equal strings
        except TypeError:
            return list(value)
    return str(value)


# json.dumps(..., sort_keys=True, separators=...) builds a new JSONEncoder and
# a new C encoder on every call, which is most of its cost; build the C encoder
# once. markers=None skips the cycle check: a self-containing params dict raises
# RecursionError instead of ValueError, and cannot come out of a pydantic model.
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_json_default
)
if c_make_encoder is not None:
    _c_encode = c_make_encoder(
        None, _json_default, c_encode_basestring, None, ":", ",", True, False, True
    )

    def _encode(params: Any) -> str:
        return "".join(_c_encode(params, 0))

else:  # pragma: no cover - CPython without the _json accelerator
    _encode = _ENCODER.encode


def encode_params(params: dict[str, Any] | None) -> str:
    """Compact, key-sorted JSON of ``params`` (``"{}"`` for None or empty).

    Sorted keys make equal params give equal strings, so the column can be
    grouped and compared as text; non-ASCII is kept as is, not escaped.
    """
    return _encode(params) if params else "{}"


def decode_params(data: pd.DataFrame | pd.Series) -> pd.Series:
    """The ``params`` column decoded back to dicts (a missing value gives ``{}``).

    Accepts a trajectory frame or its ``params`` Series; keeps the index, so
    ``df.join(decode_params(df).apply(pd.Series))`` spreads params into columns.
    """
    series = data["params"] if isinstance(data, pd.DataFrame) else data
    values = [json.loads(v) if isinstance(v, str) else {} for v in series.tolist()]
    return pd.Series(values, index=series.index, name=series.name, dtype=object)


def _to_utc_us(value: datetime) -> int:
    if value.tzinfo is None or value.utcoffset() is None:
        # A naive datetime.now() is local time; guessing UTC would shift rows silently.
        raise ValueError(
            f"time must be timezone-aware, got naive {value!r}; pass datetime.now(timezone.utc)"
        )
    return (value - _EPOCH) // _ONE_US


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _check_strings(**values: Any) -> None:
    for name, value in values.items():
        if value is None and name in ("command", "error", "message"):
            continue
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {value!r}")


_ABSENT = object()
_PLAIN_KINDS: dict[type, str] = {str: "str", int: "int", float: "float", bool: "bool"}


def _scalar_kind(name: str, value: Any) -> tuple[str | None, Any]:
    """The kind and plain-Python form of one extra value."""
    if value is None or value is pd.NA:
        return None, None
    cls = type(value)
    if cls is str:
        return "str", value
    if cls is bool or isinstance(value, np.bool_):
        return "bool", bool(value)
    if cls is float or isinstance(value, np.floating):
        return "float", float(value)
    if cls is int or isinstance(value, np.integer):
        return "int", int(value)
    if isinstance(value, str):
        return "str", str(value)
    raise TypeError(
        f"extra column {name!r}: values must be str, int, float, bool or None, got "
        f"{cls.__name__}; encode structured values yourself (e.g. json.dumps)"
    )


def _merge_kind(name: str, old: str | None, new: str | None) -> str | None:
    if new is None or old == new:
        return old
    if old is None:
        return new
    if {old, new} == {"int", "float"}:
        return "float"
    raise TypeError(f"extra column {name!r} holds {old} values, got a {new}")


def _typed_buffer(code: str, values: np.ndarray) -> array:
    buffer = array(code)
    buffer.frombytes(np.ascontiguousarray(values).tobytes())
    return buffer


def _numpy(buffer: array, dtype: str) -> np.ndarray:
    # Copy, and let the view go at once: an array.array refuses to grow while
    # a buffer view of it is alive, and the frame must not alias the recorder.
    return np.frombuffer(buffer, dtype=dtype).copy() if len(buffer) else np.empty(0, dtype=dtype)


def _string_array(values: list[str | None]) -> pd.api.extensions.ExtensionArray:
    # Through Arrow: several times faster than pd.array(list, dtype="string").
    return _STRING.__from_arrow__(pa.array(values, type=pa.large_string()))


def _extra_array(kind: str | None, values: list[Any]) -> Any:
    if kind is None:
        return np.array(values, dtype=object)
    arrow = pa.array(values, type=_KIND_ARROW[kind])
    if kind == "float":
        return arrow.to_numpy(zero_copy_only=False)  # nulls become NaN
    return _KIND_DTYPES[kind].__from_arrow__(arrow)


def _pylist(series: pd.Series, dtype: Any) -> list[Any]:
    # Through Arrow: plain Python values with None for any missing marker
    # (NA, NaN, None), an order of magnitude faster than tolist() and a filter.
    return pa.array(series.astype(dtype), from_pandas=True).to_pylist()


def _strings_from_series(series: pd.Series) -> list[str | None]:
    return _pylist(series, _STRING)


def _kind_of_series(name: str, series: pd.Series) -> str | None:
    dtype = series.dtype
    if pd.api.types.is_string_dtype(dtype) and dtype != object:
        return "str"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if dtype == object:
        kind: str | None = None
        for value in series.tolist():
            if value is not None and not (isinstance(value, float) and np.isnan(value)):
                kind = _merge_kind(name, kind, _scalar_kind(name, value)[0])
        return kind
    raise TypeError(
        f"extra column {name!r} has dtype {dtype}; extra columns hold str, int, float or bool"
    )


def _values_from_series(kind: str | None, series: pd.Series) -> list[Any]:
    if kind is None:
        return [None] * len(series)
    return _pylist(series, _KIND_DTYPES[kind])


def _time_us(series: pd.Series) -> np.ndarray:
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
    utc = series.dt.tz_convert("UTC").astype(_TIME)
    return utc.dt.tz_localize(None).to_numpy().view("int64")


def _exact(series: pd.Series, name: str, dtype: Any) -> pd.Series:
    if series.isna().any():
        raise ValueError(f"column {name!r} has missing values; every step needs one")
    return series.astype(dtype)


class AgentActionStats(BaseModel):
    """Steps and reward of one (agent, action) pair."""

    model_config = ConfigDict(frozen=True)

    agent: str
    action: str
    steps: int
    reward_sum: float
    reward_mean: float


class TrajectorySummary(BaseModel):
    """Headline numbers of a trajectory; ``summary["hit_rate"]`` works too.

    ``hit_rate`` counts only steps where a cache lookup happened (``cache_hit``
    not missing), so assimilate or destroy steps do not dilute it, and leaves
    out agent ``manual`` (a person inspecting the store); it is None when no
    agent step looked in the cache. ``errors`` counts steps with ``ok`` False.
    """

    model_config = ConfigDict(frozen=True)

    steps: int
    episodes: int
    hit_rate: float | None
    total_reward: float
    errors: int
    by_agent_action: list[AgentActionStats]

    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def to_frame(self) -> pd.DataFrame:
        """The per-(agent, action) table, indexed by ``agent`` and ``action``."""
        rows = [row.model_dump() for row in self.by_agent_action]
        frame = pd.DataFrame(
            {
                "agent": pd.array([r["agent"] for r in rows], dtype=_STRING),
                "action": pd.array([r["action"] for r in rows], dtype=_STRING),
                "steps": np.array([r["steps"] for r in rows], dtype="int64"),
                "reward_sum": np.array([r["reward_sum"] for r in rows], dtype="float64"),
                "reward_mean": np.array([r["reward_mean"] for r in rows], dtype="float64"),
            }
        )
        return frame.set_index(["agent", "action"])

    def _repr_html_(self) -> str:
        rate = "n/a" if self.hit_rate is None else f"{self.hit_rate:.1%}"
        head = (
            f"<p><b>{self.steps}</b> steps in <b>{self.episodes}</b> episodes · "
            f"hit rate <b>{rate}</b> · total reward <b>{self.total_reward:.3f}</b> · "
            f"errors <b>{self.errors}</b></p>"
        )
        return head + self.to_frame().to_html()


class Trajectory:
    """A columnar recorder of agent steps that turns into a pandas DataFrame.

    One instance lives for a whole experiment: ``step`` counts across episodes,
    ``new_episode()`` starts the next episode (steps recorded before the first
    call belong to episode 0). ``record`` is thread-safe; subscribers hear about
    every step, which is how a live dashboard follows an experiment.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._acquire = self._lock.acquire
        self._release = self._lock.release
        self._episode_now = 0
        self._next_step = 0
        # Typed buffers for numbers: O(1) appends, and the frame reads them
        # with one memory copy instead of converting Python objects.
        self._step = array("q")
        self._episode = array("q")
        self._time = array("q")  # microseconds since the Unix epoch, UTC
        self._ok = array("b")
        self._reward = array("d")
        self._cache_hit = array("b")  # 1 hit, 0 miss, 2 not applicable
        self._blobs = array("q")
        self._bytes = array("q")
        self._latency_ms = array("d")
        self._agent: list[str] = []
        self._command: list[str | None] = []
        self._action: list[str] = []
        self._params: list[str] = []
        self._tier: list[str | None] = []
        self._error: list[str | None] = []
        self._message: list[str | None] = []
        self._extra: dict[str, list[Any]] = {}
        self._extra_kind: dict[str, str | None] = {}
        self._frame: pd.DataFrame | None = None
        # Replaced, never mutated, so record() can read it without the lock.
        self._subscribers: tuple[Callable[[int], None], ...] = ()
        self._bind()

    # -- recording ------------------------------------------------------------
    @property
    def episode(self) -> int:
        """The episode new steps are recorded in."""
        return self._episode_now

    def new_episode(self) -> int:
        """Start the next episode and return its number."""
        with self._lock:
            self._episode_now += 1
            return self._episode_now

    def record(
        self,
        *,
        agent: str,
        action: str,
        params: dict[str, Any] | None,
        ok: bool,
        reward: float,
        cache_hit: bool | None = None,
        tier: str | None = None,
        blobs: int = 0,
        bytes: int = 0,  # noqa: A002 - the column's name; shadowing is local to this call
        latency_ms: float = 0.0,
        error: str | None = None,
        command: str | None = None,
        time: datetime | None = None,
        message: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> int:
        """Append one step and return its step index.

        ``time`` defaults to now and must be timezone-aware if given.
        ``cache_hit`` is None for steps that did not consult the cache. ``extra``
        adds columns of str/int/float/bool values; a column keeps one kind
        (ints widen to float). Everything is validated before anything is
        appended, so a rejected step leaves the columns aligned.
        """
        if tier is not None and tier not in TIERS:
            raise ValueError(f"tier must be one of {sorted(TIERS)} or None, got {tier!r}")
        if (
            type(agent) is not str
            or type(action) is not str
            or (command is not None and type(command) is not str)
            or (error is not None and type(error) is not str)
            or (message is not None and type(message) is not str)
        ):
            _check_strings(agent=agent, action=action, command=command, error=error, message=message)
        stamp = time_ns() // 1000 if time is None else _to_utc_us(time)
        encoded = _encode(params) if params else "{}"
        hit = 2 if cache_hit is None else (1 if cache_hit else 0)

        # acquire/release in try/finally: half the cost of `with` on this hot path.
        self._acquire()
        try:
            # Extras are checked under the lock because a column's kind is
            # shared state; like everything above, before anything is appended.
            staged = self._stage_extra(extra) if extra else None
            index = self._next_step
            # Bound appends held in a tuple: one call each instead of an
            # attribute and a method lookup, a third of record()'s cost.
            (step, episode, time_us, ok_, reward_, hit_, blobs_, bytes_, latency_,
             agent_, command_, action_, params_, tier_, error_, message_) = self._appenders
            try:
                step(index)
                episode(self._episode_now)
                time_us(stamp)
                ok_(1 if ok else 0)
                reward_(reward)
                hit_(hit)
                blobs_(blobs)
                bytes_(bytes)
                latency_(latency_ms)
            except (TypeError, ValueError, OverflowError):
                # A number of the wrong type: drop the half-appended row so the
                # columns stay aligned, then let the caller see the error.
                size = len(self._agent)
                for buffer in self._buffers():
                    del buffer[size:]
                raise
            agent_(agent)
            command_(command)
            action_(action)
            params_(encoded)
            tier_(tier)
            error_(error)
            message_(message)
            if staged or self._extra:
                self._append_extra(staged)
            self._next_step = index + 1
            self._frame = None
        finally:
            self._release()

        # Outside the lock: a subscriber may call to_frame() or record().
        for callback in self._subscribers:
            try:
                callback(index)
            except Exception:  # a broken dashboard must not stop the experiment
                logger.exception("trajectory subscriber %r failed on step %d", callback, index)
        return index

    def _stage_extra(self, extra: dict[str, Any]) -> list[tuple[str, str | None, Any]]:
        """Check one step's extras: (name, the column's kind after it, plain value) each."""
        known = self._extra_kind
        staged = []
        for name, value in extra.items():
            kind = _PLAIN_KINDS.get(type(value))
            if kind is None:  # None, numpy scalars, str subclasses, or not allowed
                kind, value = _scalar_kind(name, value)
            old = known.get(name, _ABSENT)
            if old is not _ABSENT:
                if kind != old:
                    kind = _merge_kind(name, old, kind)
            elif not isinstance(name, str):
                raise TypeError(f"extra column names must be str, got {name!r}")
            elif name in DTYPES:
                raise ValueError(f"extra column {name!r} clashes with a standard column")
            staged.append((name, kind, value))
        return staged

    def _append_extra(self, staged: list[tuple[str, str | None, Any]] | None) -> None:
        columns = self._extra
        size = len(self._agent) - 1  # rows before this step
        if staged:
            kinds = self._extra_kind
            for name, kind, value in staged:
                column = columns.get(name)
                if column is None:
                    column = columns[name] = [None] * size  # earlier steps did not report it
                kinds[name] = kind
                column.append(value)
            if len(staged) == len(columns):
                return
        for column in columns.values():
            if len(column) == size:
                column.append(None)

    def _bind(self) -> None:
        self._appenders = tuple(
            column.append
            for column in (
                *self._buffers(),
                self._agent, self._command, self._action, self._params, self._tier, self._error, self._message,
            )
        )

    def _buffers(self) -> tuple[array, ...]:
        return (
            self._step, self._episode, self._time, self._ok, self._reward,
            self._cache_hit, self._blobs, self._bytes, self._latency_ms,
        )

    def subscribe(self, callback: Callable[[int], None]) -> Callable[[], None]:
        """Call ``callback(step)`` after every recorded step; returns an unsubscribe function.

        Callbacks run in the recording thread, after the step is visible in
        ``to_frame()``; an exception in one is logged and does not stop the
        recording. Unsubscribing twice is harmless.
        """
        with self._lock:
            self._subscribers = (*self._subscribers, callback)

        def unsubscribe() -> None:
            with self._lock:
                subscribers = list(self._subscribers)
                if callback in subscribers:
                    subscribers.remove(callback)
                    self._subscribers = tuple(subscribers)

        return unsubscribe

    def __len__(self) -> int:
        return len(self._step)

    def __repr__(self) -> str:
        return f"Trajectory(steps={len(self)}, episode={self._episode_now}, extras={list(self._extra)})"

    # -- the frame ------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """All steps as a DataFrame with the dtypes in :data:`DTYPES`, then extras.

        Built once per change and cached; each call returns a shallow copy, so
        (with pandas copy-on-write) editing the result never edits the cache.
        """
        with self._lock:
            if self._frame is None:
                self._frame = self._build()
            return self._frame.copy(deep=False)

    def _build(self) -> pd.DataFrame:
        codes = _numpy(self._cache_hit, "int8")
        stamps = _numpy(self._time, "int64").view("datetime64[us]")
        data: dict[str, Any] = {
            "step": _numpy(self._step, "int64"),
            "episode": _numpy(self._episode, "int64"),
            "time": pd.DatetimeIndex(stamps).tz_localize("UTC").array,
            "agent": _string_array(self._agent),
            "command": _string_array(self._command),
            "action": _string_array(self._action),
            "params": _string_array(self._params),
            "ok": _numpy(self._ok, "int8").astype(bool),
            "reward": _numpy(self._reward, "float64"),
            "cache_hit": pd.arrays.BooleanArray(codes == 1, codes == 2),
            "tier": _string_array(self._tier),
            "blobs": _numpy(self._blobs, "int64"),
            "bytes": _numpy(self._bytes, "int64"),
            "latency_ms": _numpy(self._latency_ms, "float64"),
            "error": _string_array(self._error),
            "message": _string_array(self._message),
        }
        for name, values in self._extra.items():
            data[name] = _extra_array(self._extra_kind[name], values)
        return pd.DataFrame(data, copy=False)

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> Trajectory:
        """A trajectory holding the rows of ``df``, ready to record more steps.

        ``df`` needs ``step, episode, time, agent, action, ok, reward``; other
        standard columns default (``params`` to ``"{}"``, counts to 0, the rest
        to missing), non-standard columns become extras. Recording continues
        after the largest step, in the largest episode.
        """
        absent = [name for name in _REQUIRED_IN_FRAME if name not in df.columns]
        if absent:
            raise ValueError(f"frame lacks trajectory columns {absent}")
        df = df.reset_index(drop=True)
        for name, default in _FRAME_DEFAULTS.items():
            if name not in df.columns:
                df[name] = pd.Series([default] * len(df), dtype=object)

        trajectory = cls()
        trajectory._step = _typed_buffer("q", _exact(df["step"], "step", "int64").to_numpy())
        trajectory._episode = _typed_buffer("q", _exact(df["episode"], "episode", "int64").to_numpy())
        trajectory._time = _typed_buffer("q", _time_us(df["time"]))
        trajectory._ok = _typed_buffer("b", _exact(df["ok"], "ok", bool).to_numpy().astype("int8"))
        trajectory._reward = _typed_buffer("d", df["reward"].astype("float64").to_numpy())
        hit = df["cache_hit"].astype("boolean")
        codes = np.where(hit.isna().to_numpy(), 2, hit.fillna(False).to_numpy(dtype=bool)).astype("int8")
        trajectory._cache_hit = _typed_buffer("b", codes)
        trajectory._blobs = _typed_buffer("q", _exact(df["blobs"], "blobs", "int64").to_numpy())
        trajectory._bytes = _typed_buffer("q", _exact(df["bytes"], "bytes", "int64").to_numpy())
        trajectory._latency_ms = _typed_buffer("d", df["latency_ms"].astype("float64").to_numpy())

        # Hand-built frames may hold dicts in `params`: encode them the same way.
        params = df["params"]
        if not isinstance(params.dtype, pd.StringDtype):
            params = pd.Series(
                [v if isinstance(v, str) else encode_params(None if _is_missing(v) else v) for v in params.tolist()],
                dtype=object,
            )
        trajectory._params = [v if v is not None else "{}" for v in _strings_from_series(params)]
        for name in ("agent", "action"):
            values = _strings_from_series(df[name])
            if None in values:
                raise ValueError(f"column {name!r} has missing values; every step needs one")
            setattr(trajectory, f"_{name}", values)
        trajectory._command = _strings_from_series(df["command"])
        trajectory._error = _strings_from_series(df["error"])
        trajectory._message = _strings_from_series(df["message"])
        trajectory._tier = _strings_from_series(df["tier"])
        unknown = set(trajectory._tier) - TIERS - {None}
        if unknown:
            raise ValueError(f"column 'tier' holds {sorted(unknown)}; allowed: {sorted(TIERS)} or missing")

        for name in df.columns:
            if name in DTYPES:
                continue
            if not isinstance(name, str):
                raise TypeError(f"extra column names must be str, got {name!r}")
            kind = _kind_of_series(name, df[name])
            trajectory._extra_kind[name] = kind
            trajectory._extra[name] = _values_from_series(kind, df[name])

        trajectory._bind()
        if len(df):
            trajectory._next_step = int(np.max(df["step"].to_numpy(dtype="int64"))) + 1
            trajectory._episode_now = int(np.max(df["episode"].to_numpy(dtype="int64")))
        return trajectory

    # -- analysis -------------------------------------------------------------
    def summary(self) -> TrajectorySummary:
        """Steps, episodes, cache hit rate, total reward, errors, reward per agent/action."""
        df = self.to_frame()
        hits = df["cache_hit"][(df["agent"] != MANUAL_AGENT).to_numpy(dtype=bool)]
        looked = int(hits.notna().sum())
        groups = (
            df.groupby(["agent", "action"], sort=True)["reward"]
            .agg(["size", "sum", "mean"])
            .reset_index()
        )
        rows = [
            AgentActionStats(
                agent=agent, action=action, steps=int(size), reward_sum=float(total), reward_mean=float(mean)
            )
            for agent, action, size, total, mean in groups.itertuples(index=False, name=None)
        ]
        return TrajectorySummary(
            steps=len(df),
            episodes=int(df["episode"].nunique()),
            hit_rate=(int(hits.sum()) / looked) if looked else None,
            total_reward=float(df["reward"].sum()),
            errors=int((~df["ok"]).sum()),
            by_agent_action=rows,
        )

    # -- persistence ----------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the trajectory to ``.parquet`` or ``.csv`` (chosen by suffix); returns the path.

        The file is written next to its target and renamed into place, so a
        reader never sees half a file. CSV follows the PostgreSQL convention —
        strings are always quoted, a missing value is an empty *unquoted* field
        — so ``""`` and missing stay different; its first line is a ``#``
        comment carrying the extra columns' dtypes (``pd.read_csv(path,
        skiprows=1)`` reads the rest).
        """
        path = Path(path)
        kind = _file_kind(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = self.to_frame()
        table = pa.Table.from_pandas(frame, preserve_index=False)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            with open(tmp, "wb") as out:
                if kind == "parquet":
                    pa_parquet.write_table(table, out)
                else:
                    extras = {name: str(frame[name].dtype) for name in frame.columns[len(COLUMNS):]}
                    meta = json.dumps({"version": _CSV_VERSION, "extras": extras}, ensure_ascii=False)
                    out.write((_CSV_MAGIC + meta + "\n").encode("utf-8"))
                    pa_csv.write_csv(table, out)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | Path) -> Trajectory:
        """Read a trajectory written by :meth:`save` (or any frame with the columns).

        ``load(t.save(p)).to_frame()`` equals ``t.to_frame()``, dtypes and time
        zone included, for Parquet and CSV.
        """
        path = Path(path)
        if _file_kind(path) == "parquet":
            table = pa_parquet.read_table(path)
        else:
            table = _read_csv(path)
        frame = table.to_pandas(types_mapper=_ARROW_TO_PANDAS.get)
        return cls.from_frame(frame)


_ARROW_TO_PANDAS = {
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
    pa.string(): _STRING,
    pa.large_string(): _STRING,
}


def _file_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".csv":
        return "csv"
    raise ValueError(f"cannot tell the format of {path}: use a .parquet or .csv suffix")


_CSV_ARROW_TYPES: dict[str, pa.DataType] = {
    "step": pa.int64(),
    "episode": pa.int64(),
    "time": pa.timestamp("us", "UTC"),
    "ok": pa.bool_(),
    "reward": pa.float64(),
    "cache_hit": pa.bool_(),
    "blobs": pa.int64(),
    "bytes": pa.int64(),
    "latency_ms": pa.float64(),
    **{name: pa.large_string() for name in _STRING_COLUMNS},
}


def _read_csv(path: Path) -> pa.Table:
    types = dict(_CSV_ARROW_TYPES)
    with open(path, "rb") as source:
        first = source.readline()
        if first.startswith(_CSV_MAGIC.encode()):
            meta = json.loads(first[len(_CSV_MAGIC):].decode("utf-8"))
            for name, dtype in meta.get("extras", {}).items():
                if dtype not in _DTYPE_NAMES:
                    raise ValueError(f"{path}: extra column {name!r} has unknown dtype {dtype!r}")
                types[name] = _KIND_ARROW.get(_DTYPE_NAMES[dtype], pa.null())
        else:
            source.seek(0)  # a plain CSV: standard columns typed, extras inferred
        return pa_csv.read_csv(
            source,
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types=types,
                null_values=[""],
                strings_can_be_null=True,
                # The point of the convention: a quoted "" is an empty string.
                quoted_strings_can_be_null=False,
            ),
        )
