"""Stored bytes + metadata -> the array an ``hdf5::`` dataset (or a stored array) held."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from agentfactory.core.errors import IntegrityError, UnsupportedSource

from .dtypes import dtype_from_json
from .lazy_h5py import h5py


def decode_blob(data: bytes | bytearray | memoryview, metadata: dict[str, Any], *, writable: bool = True) -> Any:
    """Turn stored bytes back into what the source held.

    Plain blobs (no ``kind``) come back as bytes. HDF5 datasets come back as a numpy
    array of the original dtype and shape (a numpy scalar for a scalar dataset, as
    ``dataset[()]`` gives; ``h5py.Empty`` for a null dataspace). JSON-encoded
    datasets (variable-length strings, sequences, references) come back as an
    object array of the stored Python values, or the value itself when scalar.

    Read-only buffers (``bytes``) are copied so the array is writable; pass a
    ``bytearray`` (no copy) or ``writable=False`` (a read-only view) to avoid
    doubling the memory of a large array.
    """
    if not metadata or metadata.get("kind") != "hdf5":
        return bytes(data)
    encoding = metadata.get("encoding", "raw")
    if encoding == "raw":
        return _decode_raw(data, metadata, writable)
    if encoding == "json":
        return _decode_json(data, metadata)
    raise UnsupportedSource(f"unknown blob encoding {encoding!r}", hint="was it stored by a newer AgentFactory?")


def _decode_raw(data: bytes | bytearray | memoryview, metadata: dict[str, Any], writable: bool) -> Any:
    dtype = dtype_from_json(metadata["dtype"])
    shape = metadata.get("shape")
    if shape is None:
        return h5py().Empty(dtype)
    shape = tuple(shape)
    expected = dtype.itemsize * math.prod(shape)
    if len(data) != expected:
        raise IntegrityError(
            f"blob holds {len(data)} bytes, but a {dtype} array of shape {shape} needs {expected}"
        )
    arr = np.frombuffer(data, dtype=dtype).reshape(shape)
    if writable and not arr.flags.writeable:
        arr = arr.copy()
    return arr[()] if not shape else arr


def _decode_json(data: bytes | bytearray | memoryview, metadata: dict[str, Any]) -> Any:
    values = json.loads(bytes(data).decode("ascii"))
    shape = metadata.get("shape")
    vlen = metadata.get("vlen_dtype")
    convert = (lambda v: np.asarray(v, dtype=dtype_from_json(vlen))) if vlen else (lambda v: v)
    if not shape:
        return convert(values)
    shape = tuple(shape)
    if len(values) != math.prod(shape):
        raise IntegrityError(f"blob holds {len(values)} values, but shape {shape} needs {math.prod(shape)}")
    out = np.empty(shape, dtype=object)
    flat = out.reshape(-1)
    for i, v in enumerate(values):
        flat[i] = convert(v)
    return out
