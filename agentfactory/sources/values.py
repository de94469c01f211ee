"""Python values <-> stored blobs, without pickling.

bytes stay bytes, str is UTF-8 with `kind: text`, numpy arrays keep dtype and
shape in the blob metadata with the same keys an `hdf5::` dataset uses, so a
retrieve gives back what was put: an array, a str or bytes.

Importing this module registers `decode_value` as `Observation.value()`'s
decoder: `core` knows nothing about blob layouts (nor numpy or h5py), and every
path that produces observations with data imports `agentfactory.sources` first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from agentfactory.core.observation import register_value_decoder

from .blobs import SourceBlob
from .decode import decode_blob
from .dtypes import dtype_to_json

ARRAY_KIND = "array"
TEXT_KIND = "text"
_ARRAY_KINDS = ("hdf5", ARRAY_KIND)


def decode_value(data: bytes | None, metadata: dict[str, Any] | None) -> Any:
    """Stored bytes back to what was stored: an array for array/HDF5 blobs, str for text, else bytes."""
    if data is None:
        return None
    kind = (metadata or {}).get("kind")
    if kind == TEXT_KIND:
        return bytes(data).decode(metadata.get("encoding", "utf-8"))
    if kind in _ARRAY_KINDS:
        return decode_blob(data, {**metadata, "kind": "hdf5"})  # an array blob uses the hdf5 layout
    return bytes(data)


def value_blob(name: str, value: Any) -> tuple[SourceBlob, str]:
    """A blob for a Python value, and a word for what it was (bytes, text, array).

    Raises TypeError for values with no faithful byte form (objects would need
    pickling, which the store never does).
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        payload, metadata, kind = bytes(value), {}, "bytes"
    elif isinstance(value, str):
        payload, metadata, kind = value.encode("utf-8"), {"kind": TEXT_KIND, "encoding": "utf-8"}, "text"
    elif isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        if arr.dtype.hasobject:
            raise TypeError("object arrays cannot be stored (nothing is pickled); convert to a numeric or bytes dtype")
        arr = np.ascontiguousarray(arr)
        payload = arr.tobytes()
        metadata = {"kind": ARRAY_KIND, "dtype": dtype_to_json(arr.dtype), "shape": list(arr.shape), "encoding": "raw"}
        kind = "array"
    else:
        raise TypeError(f"cannot store a {type(value).__name__}; use bytes, str or a numpy array")

    def chunks() -> Iterator[bytes]:
        return iter((payload,)) if payload else iter(())

    return SourceBlob(name=name, size=len(payload), metadata=metadata, chunks=chunks), kind


register_value_decoder(decode_value)
