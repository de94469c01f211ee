"""Trajectory frames on disk: Parquet, or CSV that keeps ``""`` and missing apart.

CSV follows the PostgreSQL convention — strings are always quoted, a missing
value is an empty *unquoted* field — so ``""`` and missing stay different; its
first line is a ``#`` comment carrying the extra columns' dtypes
(``pd.read_csv(path, skiprows=1)`` reads the rest). A plain CSV without that
line loads too: standard columns typed, extras inferred.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pa_parquet

from ..core.files import atomic_write
from .extras import DTYPE_KINDS, KIND_ARROW
from .schema import COLUMNS, STRING, STRING_COLUMNS

_CSV_MAGIC = "# agentfactory-trajectory "
_CSV_VERSION = 1

_ARROW_TO_PANDAS = {
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
    pa.string(): STRING,
    pa.large_string(): STRING,
}

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
    **{name: pa.large_string() for name in STRING_COLUMNS},
}


def file_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".csv":
        return "csv"
    raise ValueError(f"cannot tell the format of {path}: use a .parquet or .csv suffix")


def write_frame(frame: pd.DataFrame, path: Path) -> Path:
    """Write a trajectory frame to `path` (format by suffix), whole or not at all."""
    kind = file_kind(path)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with atomic_write(path) as out:
        if kind == "parquet":
            pa_parquet.write_table(table, out)
        else:
            extras = {name: str(frame[name].dtype) for name in frame.columns[len(COLUMNS):]}
            meta = json.dumps({"version": _CSV_VERSION, "extras": extras}, ensure_ascii=False)
            out.write((_CSV_MAGIC + meta + "\n").encode("utf-8"))
            pa_csv.write_csv(table, out)
    return path


def read_frame(path: Path) -> pd.DataFrame:
    """The frame in a file :func:`write_frame` wrote (or any Parquet/CSV with the columns)."""
    table = pa_parquet.read_table(path) if file_kind(path) == "parquet" else _read_csv(path)
    return table.to_pandas(types_mapper=_ARROW_TO_PANDAS.get)


def _read_csv(path: Path) -> pa.Table:
    types = dict(_CSV_ARROW_TYPES)
    with open(path, "rb") as source:
        first = source.readline()
        if first.startswith(_CSV_MAGIC.encode()):
            meta = json.loads(first[len(_CSV_MAGIC):].decode("utf-8"))
            for name, dtype in meta.get("extras", {}).items():
                if dtype not in DTYPE_KINDS:
                    raise ValueError(f"{path}: extra column {name!r} has unknown dtype {dtype!r}")
                types[name] = KIND_ARROW.get(DTYPE_KINDS[dtype], pa.null())
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
