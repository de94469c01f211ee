"""libcachesim's policies run on our streams: the learned/adaptive peers and the agreement check.

libcachesim is GPL-3.0, so it is never a runtime dependency: it is imported
inside the functions here and only the test/benchmark extra installs it.

A stream is handed over as an oracleGeneral binary trace (24 bytes a request)
that libcachesim's own C reader replays: building one `Request` object per
request from Python would cost more than the C policies themselves, and
libcachesim's `SyntheticReader` cannot be used because it reseeds numpy's global
random state and draws its own stream.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

import numpy as np

from ..core.errors import ConfigError
from ..workloads.stream import RequestStream
from .belady import NEVER, next_use
from .simulator import SimResult

INSTALL_HINT = "pip install libcachesim (GPL-3.0, test/benchmark extra)"

#: peer key -> libcachesim class name (what `--with-libcachesim` runs)
PEER_CLASSES: dict[str, str] = {
    "lcs-cacheus": "Cacheus",
    "lcs-lecar": "LeCaR",
    "lcs-twoq": "TwoQ",
    "lcs-lrb": "LRB",
    "lcs-3lcache": "ThreeLCache",
}
#: our heuristic key -> libcachesim's implementation of the same policy (agreement test)
REFERENCE_CLASSES: dict[str, str] = {
    "lru": "LRU",
    "fifo": "FIFO",
    "lfu": "LFU",
    "arc": "ARC",
    "s3fifo": "S3FIFO",
    "sieve": "Sieve",
    "wtinylfu": "WTinyLFU",
    "belady": "Belady",
}
#: the learned peers take the metric they optimise as a parameter
_OBJECTIVE = {"LRB", "ThreeLCache"}

_ORACLE_GENERAL = np.dtype([("time", "<u4"), ("id", "<u8"), ("size", "<u4"), ("next", "<i8")])


def libcachesim_module() -> ModuleType:
    """The libcachesim package, or a ConfigError saying how to get it."""
    try:
        import libcachesim
    except ImportError as exc:
        raise ConfigError("libcachesim is not installed", hint=INSTALL_HINT) from exc
    return libcachesim


def write_oracle_general(stream: RequestStream, path: str | Path, *, bytes_mode: bool = False) -> Path:
    """Write `stream` as an oracleGeneral trace (with next-access times, so Belady works too).

    Object ids are our keys + 1; in object mode every size is 1, so libcachesim's
    byte capacity is an object count.
    """
    n = len(stream)
    trace = np.zeros(n, dtype=_ORACLE_GENERAL)
    trace["time"] = np.arange(1, n + 1, dtype=np.uint32)
    trace["id"] = stream.keys.astype(np.uint64) + 1
    trace["size"] = stream.sizes if bytes_mode else 1
    nxt = next_use(stream.keys)
    trace["next"] = np.where(nxt == NEVER, -1, nxt + 1)
    path = Path(path)
    trace.tofile(path)
    return path


def _class_for(name: str) -> str:
    cls = PEER_CLASSES.get(name) or REFERENCE_CLASSES.get(name)
    if cls is None:
        known = ", ".join([*PEER_CLASSES, *REFERENCE_CLASSES])
        raise KeyError(f"unknown libcachesim policy {name!r}; known: {known}")
    return cls


def _replay(lcs: ModuleType, cls: str, trace: Path, stream: RequestStream, capacity: int, name: str,
            bytes_mode: bool) -> SimResult:
    kwargs = {}
    if cls in _OBJECTIVE:
        kwargs["objective"] = "byte-miss-ratio" if bytes_mode else "object-miss-ratio"
    # libcachesim's default table (2^24 buckets, 128 MiB, per internal queue) dominates short
    # runs; it grows on demand, so start near the cache's own object count
    kwargs["hashpower"] = int(min(24, max(12, np.ceil(np.log2(max(min(capacity, len(stream)), 2))) + 1)))
    cache = getattr(lcs, cls)(int(capacity), **kwargs)
    reader = lcs.TraceReader(str(trace), lcs.TraceType.ORACLE_GENERAL_TRACE)
    start = time.process_time()
    miss_ratio, byte_miss_ratio = cache.process_trace(reader)
    cpu = time.process_time() - start
    n = len(stream)
    requested = stream.total_bytes
    if bytes_mode:
        bytes_missed = int(round(byte_miss_ratio * requested))
    elif n and np.all(stream.sizes == stream.sizes[0]):
        bytes_missed = int(round(miss_ratio * requested))
    else:
        bytes_missed = -1  # libcachesim saw unit sizes only: it cannot know which bytes missed
    misses = int(round(miss_ratio * n))
    return SimResult(policy=name, requests=n, misses=misses, bytes_requested=requested,
                     bytes_missed=bytes_missed, cpu_s=cpu)


def run_peers(names: Iterable[str], stream: RequestStream, capacity: int, *,
              bytes_mode: bool = False) -> dict[str, SimResult]:
    """Run several libcachesim policies on one stream, writing the trace once.

    names: peer keys (`lcs-cacheus`, ...) or our heuristic keys (`lru`, `s3fifo`,
        ...) for libcachesim's own implementation of that heuristic.
    capacity: objects (or bytes with `bytes_mode`), as for our policies.

    In object mode libcachesim only sees unit sizes, so `bytes_missed` is known
    exactly only when the stream's sizes are all equal; otherwise it is -1.

    Raises:
        ConfigError: libcachesim is not installed.
        KeyError: an unknown name.
    """
    names = list(names)
    classes = [_class_for(name) for name in names]
    lcs = libcachesim_module()
    with tempfile.TemporaryDirectory(prefix="agentfactory-lcs-") as tmp:
        trace = write_oracle_general(stream, Path(tmp) / "trace.oracleGeneral.bin", bytes_mode=bytes_mode)
        return {name: _replay(lcs, cls, trace, stream, capacity, name, bytes_mode)
                for name, cls in zip(names, classes)}


def run_peer(name: str, stream: RequestStream, capacity: int, *, bytes_mode: bool = False) -> SimResult:
    """One libcachesim policy on `stream` at `capacity` (see `run_peers`)."""
    return run_peers([name], stream, capacity, bytes_mode=bytes_mode)[name]


def run_libcachesim_reference(name: str, stream: RequestStream, capacity: int, *,
                              bytes_mode: bool = False) -> SimResult:
    """libcachesim's own implementation of our heuristic `name` (lru, fifo, lfu, arc, s3fifo, sieve, wtinylfu)."""
    if name not in REFERENCE_CLASSES:
        raise KeyError(f"libcachesim has no reference for {name!r}; known: {', '.join(REFERENCE_CLASSES)}")
    return run_peer(name, stream, capacity, bytes_mode=bytes_mode)
