"""numpy dtypes <-> JSON, for blob metadata that must rebuild the exact array layout."""

from __future__ import annotations

import json
import warnings

import numpy as np


def dtype_to_json(dt: np.dtype) -> str | list:
    """dtype.str for plain dtypes, the (JSON-ised) descr for structured ones.

    descr keeps field offsets and padding, which `numpy.lib.format.descr_to_dtype`
    rebuilds, so the raw bytes decode to the same records.
    """
    if dt.fields is None and dt.subdtype is None:
        return dt.str
    return json.loads(json.dumps(_plain_dtype(dt).descr))


def _plain_dtype(dt: np.dtype) -> np.dtype:
    """The same memory layout without h5py's dtype metadata (which would leak into descr)."""
    if dt.subdtype is not None:
        base, shape = dt.subdtype
        return np.dtype((_plain_dtype(base), shape))
    if dt.fields is None:
        return np.dtype(dt.str)
    return np.dtype(
        {
            "names": list(dt.names),
            "formats": [_plain_dtype(dt.fields[n][0]) for n in dt.names],
            "offsets": [dt.fields[n][1] for n in dt.names],
            "itemsize": dt.itemsize,
        }
    )


def dtype_from_json(spec: str | list) -> np.dtype:
    """The dtype `dtype_to_json` wrote (JSON turned descr's tuples into lists)."""
    if isinstance(spec, str):
        return np.dtype(spec)

    def entry(item: list) -> tuple:
        name = tuple(item[0]) if isinstance(item[0], list) else item[0]
        fmt = [entry(x) for x in item[1]] if isinstance(item[1], list) else item[1]
        return (name, fmt) if len(item) == 2 else (name, fmt, tuple(item[2]))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.lib.format.descr_to_dtype([entry(x) for x in spec])
