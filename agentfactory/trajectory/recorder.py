"""The recorder: every step an agent takes, appended in O(1), turned into a DataFrame on demand.

Recording is columnar. Each column is a Python list or a typed ``array.array``
that grows by one O(1) append per step; ``to_frame()`` builds the DataFrame once
from those buffers and caches it until the next step. Appending a row to a
DataFrame copies the frame, which turns a 100,000-step experiment quadratic;
this recorder never does that.
"""

from __future__ import annotations

import logging
import threading
from array import array
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from time import time_ns
from typing import Any

import pandas as pd

from . import extras, frame, io
from .columns import check_strings, numpy_of, string_array, to_utc_us
from .params import encode
from .schema import check_tier

__all__ = ["Trajectory"]

# The package's name, not this module's: subscribers' failures are the trajectory's to report.
logger = logging.getLogger("agentfactory.trajectory")


class Trajectory:
    """A columnar recorder of agent steps that turns into a pandas DataFrame.

    One instance lives for a whole experiment: ``step`` counts across episodes,
    ``new_episode()`` starts the next episode (steps recorded before the first
    call belong to episode 0). ``record`` is thread-safe and returns the index
    of the step it recorded (the only safe way to know it while others record
    too); subscribers hear about every step, which is how a live dashboard
    follows an experiment.
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
        bytes: int = 0,  # the column's name; shadowing is local to this call
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
        check_tier(tier)
        if (
            type(agent) is not str
            or type(action) is not str
            or (command is not None and type(command) is not str)
            or (error is not None and type(error) is not str)
            or (message is not None and type(message) is not str)
        ):
            check_strings(agent=agent, action=action, command=command, error=error, message=message)
        index = self._append(
            time_ns() // 1000 if time is None else to_utc_us(time),
            1 if ok else 0, reward, 2 if cache_hit is None else (1 if cache_hit else 0), blobs, bytes, latency_ms,
            agent, command, action, encode(params) if params else "{}", tier, error, message, extra,
        )
        # Outside the lock: a subscriber may call to_frame() or record().
        for callback in self._subscribers:
            try:
                callback(index)
            except Exception:  # a broken dashboard must not stop the experiment
                logger.exception("trajectory subscriber %r failed on step %d", callback, index)
        return index

    def _append(
        self, time_us: int, ok: int, reward: float, hit: int, blobs: int, bytes_: int, latency_ms: float,
        agent: str, command: str | None, action: str, params: str, tier: str | None, error: str | None,
        message: str | None, extra: dict[str, Any] | None,
    ) -> int:
        """Append one validated step under the lock; returns its step index."""
        # acquire/release in try/finally: half the cost of `with` on this hot path.
        self._acquire()
        try:
            # Extras are checked under the lock because a column's kind is
            # shared state; like everything else, before anything is appended.
            staged = extras.stage(extra, self._extra_kind) if extra else None
            index = self._next_step
            # Bound appends held in a tuple: one call each instead of an
            # attribute and a method lookup, a third of record()'s cost.
            (step_, episode_, time_, ok_, reward_, hit_, blobs_, bytes_of_, latency_,
             agent_, command_, action_, params_, tier_, error_, message_) = self._appenders
            try:
                step_(index)
                episode_(self._episode_now)
                time_(time_us)
                ok_(ok)
                reward_(reward)
                hit_(hit)
                blobs_(blobs)
                bytes_of_(bytes_)
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
            params_(params)
            tier_(tier)
            error_(error)
            message_(message)
            if staged or self._extra:
                extras.append(staged, self._extra, self._extra_kind, len(self._agent) - 1)
            self._next_step = index + 1
            self._frame = None
        finally:
            self._release()
        return index

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
        codes = numpy_of(self._cache_hit, "int8")
        stamps = numpy_of(self._time, "int64").view("datetime64[us]")
        data: dict[str, Any] = {
            "step": numpy_of(self._step, "int64"),
            "episode": numpy_of(self._episode, "int64"),
            "time": pd.DatetimeIndex(stamps).tz_localize("UTC").array,
            "agent": string_array(self._agent),
            "command": string_array(self._command),
            "action": string_array(self._action),
            "params": string_array(self._params),
            "ok": numpy_of(self._ok, "int8").astype(bool),
            "reward": numpy_of(self._reward, "float64"),
            "cache_hit": pd.arrays.BooleanArray(codes == 1, codes == 2),
            "tier": string_array(self._tier),
            "blobs": numpy_of(self._blobs, "int64"),
            "bytes": numpy_of(self._bytes, "int64"),
            "latency_ms": numpy_of(self._latency_ms, "float64"),
            "error": string_array(self._error),
            "message": string_array(self._message),
        }
        for name, values in self._extra.items():
            data[name] = extras.to_array(self._extra_kind[name], values)
        return pd.DataFrame(data, copy=False)

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> Trajectory:
        """A trajectory holding the rows of ``df``, ready to record more steps.

        ``df`` needs ``step, episode, time, agent, action, ok, reward``; other
        standard columns default (``params`` to ``"{}"``, counts to 0, the rest
        to missing), non-standard columns become extras. Recording continues
        after the largest step, in the largest episode.
        """
        df = frame.with_defaults(df)
        trajectory = cls()
        frame.fill(trajectory, df)
        trajectory._bind()
        return trajectory

    # -- persistence ----------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the trajectory to ``.parquet`` or ``.csv`` (chosen by suffix); returns the path.

        The file is replaced atomically, so a reader never sees half a file;
        CSV keeps ``""`` and missing apart (see :mod:`agentfactory.trajectory.io`).
        """
        return io.write_frame(self.to_frame(), Path(path))

    @classmethod
    def load(cls, path: str | Path) -> Trajectory:
        """Read a trajectory written by :meth:`save` (or any frame with the columns).

        ``load(t.save(p)).to_frame()`` equals ``t.to_frame()``, dtypes and time
        zone included, for Parquet and CSV.
        """
        return cls.from_frame(io.read_frame(Path(path)))
