"""The trajectory frame as the analysis reads it: checked once on entry, then trusted.

Every public function here calls :func:`conform` first. A frame recorded by
:class:`agentfactory.trajectory.Trajectory` passes through untouched (no copy);
a hand-built one may leave the optional columns out and is read as a run in
which nothing says otherwise: no episodes or times, no agent (so never the
``manual`` one), every step ok, no retrieves, no latencies. A frame without
the columns every step has, or whose values cannot be read as their kind,
raises :class:`NotATrajectory` naming the columns, instead of a ``KeyError``
from deep inside a plot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from agentfactory.core.errors import NotATrajectory
from agentfactory.trajectory import DTYPES

__all__ = ["OPTIONAL", "REQUIRED", "NotATrajectory", "conform", "group_keys"]

#: The columns every step has: without them a frame is not a trajectory.
REQUIRED: tuple[str, ...] = ("step", "action", "reward")

#: The columns a hand-built frame may leave out, and what each step then holds.
OPTIONAL: dict[str, Any] = {
    "episode": pd.NA,
    "time": pd.NaT,
    "agent": pd.NA,
    "ok": True,
    "cache_hit": pd.NA,
    "latency_ms": np.nan,
}
_MISSING_DTYPES: dict[str, Any] = {"episode": pd.Int64Dtype(), "agent": DTYPES["agent"], "time": DTYPES["time"],
                                   "ok": DTYPES["ok"], "cache_hit": DTYPES["cache_hit"],
                                   "latency_ms": DTYPES["latency_ms"]}

# The columns the analysis computes with, each with the test of its kind and the dtype a column of
# another kind is converted to; the others (action, agent, time, episode) are only grouped or shown.
_KINDS: dict[str, tuple[Callable[[Any], bool], Any, str]] = {
    "step": (pd.api.types.is_integer_dtype, DTYPES["step"], "integers"),
    "reward": (pd.api.types.is_float_dtype, DTYPES["reward"], "numbers"),
    "latency_ms": (pd.api.types.is_float_dtype, DTYPES["latency_ms"], "numbers"),
    # exactly numpy bool: a nullable boolean may hold <NA>, and a step either worked or did not
    "ok": (lambda dtype: dtype == np.dtype("bool"), DTYPES["ok"], "True/False"),
    "cache_hit": (lambda dtype: isinstance(dtype, pd.BooleanDtype), DTYPES["cache_hit"], "True/False/<NA>"),
}


def conform(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every column the analysis reads, each of its trajectory dtype.

    Returns ``df`` itself when it already conforms (a ``Trajectory`` frame),
    otherwise a new frame with the optional columns added and the others
    converted. ``pd.DataFrame()`` is read as a run with no steps yet.

    Raises:
        NotATrajectory: ``df`` is not a DataFrame, lacks one of :data:`REQUIRED`,
            or holds values that cannot be read as their column's kind.
    """
    if not isinstance(df, pd.DataFrame):
        raise NotATrajectory(f"expected a trajectory DataFrame, got {type(df).__name__}",
                             hint="pass Trajectory.to_frame(), or the frame `%iowarp history` returns")
    if df.empty and df.columns.empty:
        df = pd.DataFrame({name: pd.Series(dtype=DTYPES[name]) for name in REQUIRED}, index=df.index)
    missing = [name for name in REQUIRED if name not in df.columns]
    if missing:
        raise NotATrajectory(f"not a trajectory frame: no column(s) {', '.join(map(repr, missing))}",
                             columns=missing, hint=f"every step needs {', '.join(REQUIRED)}; "
                                                   f"optional: {', '.join(OPTIONAL)}")
    fixes = {name: pd.Series(value, index=df.index, dtype=_MISSING_DTYPES[name])
             for name, value in OPTIONAL.items() if name not in df.columns}
    for name, (is_kind, dtype, kind) in _KINDS.items():
        if name in df.columns and not is_kind(df[name].dtype):
            fixes[name] = _converted(df[name], name, dtype, kind)
    return df.assign(**fixes) if fixes else df


def _converted(column: pd.Series, name: str, dtype: Any, kind: str) -> pd.Series:
    try:
        return column.astype(dtype)
    except (TypeError, ValueError) as exc:
        raise NotATrajectory(f"column {name!r} of dtype {column.dtype} does not hold {kind}: {exc}",
                             columns=[name]) from exc


def group_keys(by: str | Sequence[str], frame: pd.DataFrame | None = None) -> list[str]:
    """``by`` (a column name or several) as a list; with ``frame``, each checked to be one of its columns.

    Any column may group rewards, extras such as ``backend`` too, so this is
    checked per call rather than by :func:`conform`.

    Raises:
        KeyError: a column to group by is not in ``frame``.
    """
    keys = [by] if isinstance(by, str) else list(by)
    absent = [k for k in keys if frame is not None and k not in frame.columns]
    if absent:
        raise KeyError(f"frame has no column(s) {absent} to group rewards by")
    return keys
