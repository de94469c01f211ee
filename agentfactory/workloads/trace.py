"""Trace replay: a CSV of requests becomes a `RequestStream`.

Keys (any string) and tags are factorised to dense integer codes in order of
first appearance, so a replay is deterministic and policies hash small ints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import ConfigError
from .stream import RequestStream


def read_trace(path: str | Path, *, max_requests: int | None = None) -> RequestStream:
    """Read a CSV trace with a header: `key` required; `tag`, `size`, `time` optional.

    `size` defaults to 1 (object-count caching); rows keep their file order
    (sorted by `time` only if the file already is: a trace is replayed as given).

    Raises:
        ConfigError: the file is missing, empty, or has no `key` column, or a
            size is not a positive integer.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"trace file not found: {path}")
    try:
        frame = pd.read_csv(path, dtype={"key": str, "tag": str}, nrows=max_requests,
                            keep_default_na=False, skipinitialspace=True)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read trace {path.name}: {exc}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "key" not in frame.columns:
        raise ConfigError(f"trace {path.name} has no 'key' column",
                          hint=f"columns found: {', '.join(frame.columns) or 'none'}; the header needs key[,tag,size,time]")
    if frame.empty:
        raise ConfigError(f"trace {path.name} has no requests")
    keys, _ = pd.factorize(frame["key"], sort=False)
    if "tag" in frame.columns:
        tags, tag_names = pd.factorize(frame["tag"], sort=False)
        tag_names = tuple(str(t) for t in tag_names)
    else:
        tags, tag_names = np.zeros(len(frame), dtype=np.int64), ("",)
    if "size" in frame.columns:
        sizes = pd.to_numeric(frame["size"], errors="coerce")
        if sizes.isna().any() or (sizes <= 0).any():
            bad = int(np.flatnonzero(sizes.isna() | (sizes <= 0))[0])
            raise ConfigError(f"trace {path.name}: size on data row {bad + 1} is not a positive number")
        sizes = sizes.to_numpy().astype(np.int64)
    else:
        sizes = np.ones(len(frame), dtype=np.int64)
    times = pd.to_numeric(frame["time"], errors="coerce").to_numpy() if "time" in frame.columns else None
    return RequestStream(name=path.stem, keys=keys.astype(np.int64), tags=tags.astype(np.int32),
                         sizes=sizes, tag_names=tag_names, times=times)
