"""The ``params`` column: a step's parameters as compact, key-sorted JSON text.

``params`` stays a JSON *string* rather than a column of dicts: strings survive
Parquet and CSV byte for byte, while object columns of dicts do not. Use
:func:`decode_params` to get dicts back.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from json.encoder import c_encode_basestring, c_make_encoder  # type: ignore[attr-defined]
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["decode_params", "encode_params"]


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

    def encode(params: Any) -> str:
        return "".join(_c_encode(params, 0))

else:  # pragma: no cover - CPython without the _json accelerator
    encode = _ENCODER.encode


def encode_params(params: dict[str, Any] | None) -> str:
    """Compact, key-sorted JSON of ``params`` (``"{}"`` for None or empty).

    Sorted keys make equal params give equal strings, so the column can be
    grouped and compared as text; non-ASCII is kept as is, not escaped.
    """
    return encode(params) if params else "{}"


def decode_params(data: pd.DataFrame | pd.Series) -> pd.Series:
    """The ``params`` column decoded back to dicts (a missing value gives ``{}``).

    Accepts a trajectory frame or its ``params`` Series; keeps the index, so
    ``df.join(decode_params(df).apply(pd.Series))`` spreads params into columns.
    """
    series = data["params"] if isinstance(data, pd.DataFrame) else data
    values = [json.loads(v) if isinstance(v, str) else {} for v in series.tolist()]
    return pd.Series(values, index=series.index, name=series.name, dtype=object)
