"""Extra columns: what callers add per step (``backend``, ``route_latency_ms``, ``tokens``).

They follow the standard columns, and steps that did not supply them hold a
missing value. Each extra column holds one kind of scalar. Ints become nullable
Int64 because int64 cannot hold "this step did not report it"; floats stay
float64 (NaN for missing) like reward and latency_ms, so they plot and
aggregate the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .columns import pylist
from .schema import DTYPES, STRING

Kind = str | None  # "str", "int", "float", "bool", or None for a column of missing values only
Staged = list[tuple[str, Kind, Any]]  # (name, the column's kind after this step, plain value)

KIND_DTYPES: dict[Kind, Any] = {
    "str": STRING,
    "int": pd.Int64Dtype(),
    "float": np.dtype("float64"),
    "bool": pd.BooleanDtype(),
    None: np.dtype("object"),  # a column that so far only holds missing values
}
DTYPE_KINDS: dict[str, Kind] = {"string": "str", "Int64": "int", "float64": "float", "boolean": "bool", "object": None}
KIND_ARROW = {"str": pa.large_string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}

_ABSENT = object()
_PLAIN_KINDS: dict[type, str] = {str: "str", int: "int", float: "float", bool: "bool"}


def scalar_kind(name: str, value: Any) -> tuple[Kind, Any]:
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


def merge_kind(name: str, old: Kind, new: Kind) -> Kind:
    if new is None or old == new:
        return old
    if old is None:
        return new
    if {old, new} == {"int", "float"}:
        return "float"
    raise TypeError(f"extra column {name!r} holds {old} values, got a {new}")


def stage(extra: dict[str, Any], known: dict[str, Kind]) -> Staged:
    """Check one step's extras against the columns' kinds so far, changing nothing."""
    staged = []
    for name, value in extra.items():
        kind = _PLAIN_KINDS.get(type(value))
        if kind is None:  # None, numpy scalars, str subclasses, or not allowed
            kind, value = scalar_kind(name, value)
        old = known.get(name, _ABSENT)
        if old is not _ABSENT:
            if kind != old:
                kind = merge_kind(name, old, kind)
        elif not isinstance(name, str):
            raise TypeError(f"extra column names must be str, got {name!r}")
        elif name in DTYPES:
            raise ValueError(f"extra column {name!r} clashes with a standard column")
        staged.append((name, kind, value))
    return staged


def append(staged: Staged | None, columns: dict[str, list[Any]], kinds: dict[str, Kind], size: int) -> None:
    """Add one row to every extra column; `size` is the row count before this step."""
    if staged:
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


def to_array(kind: Kind, values: list[Any]) -> Any:
    """One extra column as the frame holds it."""
    if kind is None:
        return np.array(values, dtype=object)
    arrow = pa.array(values, type=KIND_ARROW[kind])
    if kind == "float":
        return arrow.to_numpy(zero_copy_only=False)  # nulls become NaN
    return KIND_DTYPES[kind].__from_arrow__(arrow)


def kind_of_series(name: str, series: pd.Series) -> Kind:
    """The kind of a frame's extra column, from its dtype (or, for objects, its values)."""
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
        kind: Kind = None
        for value in series.tolist():
            if value is not None and not (isinstance(value, float) and np.isnan(value)):
                kind = merge_kind(name, kind, scalar_kind(name, value)[0])
        return kind
    raise TypeError(
        f"extra column {name!r} has dtype {dtype}; extra columns hold str, int, float or bool"
    )


def values_of_series(kind: Kind, series: pd.Series) -> list[Any]:
    if kind is None:
        return [None] * len(series)
    return pylist(series, KIND_DTYPES[kind])
