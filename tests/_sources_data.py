"""What the source tests share: a way to consume a source as the store does, files made on the fly, HDF5 checks.

A plain module, imported by name (pytest puts tests/ on sys.path); the `root` and
`roots` fixtures live in conftest.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

import agentfactory.sources.blobs as blobs_mod
from agentfactory.sources import DataRoots, SourceBlob, decode_blob, resolve_source

MiB = 1024 * 1024


def blobs_of(uri: str, roots: DataRoots, **kw) -> list[SourceBlob]:
    return list(resolve_source(uri, roots, **kw))


def refused(exc_type: type[Exception], uri: str, roots: DataRoots, match: str | None = None, **kw) -> Exception:
    """Consume a source the way the store does and prove it yields nothing before failing."""
    yielded: list[str] = []
    with pytest.raises(exc_type, match=match) as info:
        for blob in resolve_source(uri, roots, **kw):
            yielded.append(blob.name)
            b"".join(blob.chunks())
    assert yielded == [], f"blobs were yielded before the refusal: {yielded}"
    return info.value


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def h5_roundtrip(blob: SourceBlob):
    """What a retrieve hands back: streamed pieces joined, then decoded."""
    pieces = list(blob.chunks())
    assert all(0 < len(p) <= blobs_mod.CHUNK_BYTES for p in pieces)
    data = b"".join(pieces)
    assert len(data) == blob.size
    json.dumps(blob.metadata)  # metadata must be JSON-serialisable
    return decode_blob(data, blob.metadata)


def assert_same(decoded, original) -> None:
    if isinstance(original, h5py.Empty):
        assert isinstance(decoded, h5py.Empty) and decoded.dtype == original.dtype
        return
    original = np.asarray(original)
    decoded_arr = np.asarray(decoded)
    assert decoded_arr.dtype == original.dtype, (decoded_arr.dtype, original.dtype)
    assert decoded_arr.shape == original.shape
    np.testing.assert_array_equal(decoded_arr, original)
