"""One HDF5 dataset -> one blob: the array's bytes (or JSON for object data) plus its layout.

Numeric and fixed-size data is stored raw (C order) with dtype and shape in the
metadata, so `decode_blob` rebuilds the same array. Object data (variable-length
strings and sequences, references) has no raw byte form and is stored as JSON.
Both stream in bounded selections, so a dataset larger than RAM can be stored.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from agentfactory.core.errors import SourceError, UnsupportedSource

from . import blobs
from .blobs import SourceBlob, checked
from .dtypes import dtype_to_json
from .lazy_h5py import h5py

# JSON-encoded (object) datasets are sliced by element count, not bytes: the size of
# a variable-length element is unknown until it is read.
_JSON_ELEMENTS_PER_SLICE = 4096

#: Turns an open dataset into its payload pieces (called again on every read).
PieceMaker = Callable[[Any], Iterator[bytes]]


def jsonable(value: Any, h5file: Any = None) -> Any:
    """A JSON-serialisable stand-in for an attribute or object-dataset value."""
    lib = h5py()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return jsonable(value[()], h5file)
        return [jsonable(v, h5file) for v in value.tolist()]
    if isinstance(value, np.generic):
        return jsonable(value.item(), h5file)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "surrogateescape")
    if isinstance(value, complex):
        return [value.real, value.imag]
    if isinstance(value, (list, tuple)):
        return [jsonable(v, h5file) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v, h5file) for k, v in value.items()}
    if isinstance(value, lib.Empty):
        return None
    if isinstance(value, lib.h5r.Reference):
        # A reference is meaningless outside its file: keep the path it points at.
        if not value or h5file is None:
            return None
        try:
            return h5file[value].name
        except Exception:
            return None
    return str(value)


def _attrs(obj: Any, h5file: Any) -> tuple[dict[str, Any], list[str]]:
    attrs: dict[str, Any] = {}
    skipped: list[str] = []
    for key in sorted(obj.attrs.keys()):
        try:
            attrs[key] = jsonable(obj.attrs[key], h5file)
        except Exception:  # an attribute type h5py cannot read must not sink the dataset
            skipped.append(key)
    return attrs, skipped


def index_blocks(shape: tuple[int, ...], itemsize: int, budget: int, align: int = 1) -> Iterator[tuple]:
    """Selections that, read in order, cover an array in C order, each <= budget bytes.

    Slices run along the first axis whose sub-blocks fit; when one row is larger than
    the budget the leading indices are fixed one by one and the next axis is sliced,
    so even a (2, 10**9) dataset streams in bounded pieces. ``align`` (the HDF5 chunk
    length along axis 0) keeps slices on chunk boundaries, so a compressed chunk is
    not decompressed twice.
    """
    if not shape:
        yield ()
        return
    if 0 in shape:
        return
    axis = len(shape) - 1
    for k in range(len(shape)):
        if itemsize * math.prod(shape[k + 1 :]) <= budget:
            axis = k
            break
    step = max(1, budget // (itemsize * math.prod(shape[axis + 1 :])))
    if axis == 0 and align > 1 and step >= align:
        step -= step % align
    for prefix in itertools.product(*(range(n) for n in shape[:axis])):
        for start in range(0, shape[axis], step):
            yield prefix + (slice(start, min(start + step, shape[axis])),)


def _ordered(meta: dict[str, Any]) -> dict[str, Any]:
    """The documented keys first, in a fixed order, so metadata reads the same everywhere."""
    keys = ("kind", "dtype", "shape", "encoding", "attrs")
    return {k: meta[k] for k in keys} | {k: v for k, v in meta.items() if k not in keys}


def dataset_blob(dset: Any, h5file: Any, h5_real: Path, label: str) -> SourceBlob:
    """The blob for ``dset``: its size is exact before anything is stored, its reads re-open the file."""
    name = dset.name.lstrip("/")
    dt = dset.dtype
    attrs, skipped = _attrs(dset, h5file)
    meta: dict[str, Any] = {"kind": "hdf5", "attrs": attrs}
    if skipped:
        meta["attrs_skipped"] = skipped

    # Subarray dtypes ('(3,)f8') come back from h5py folded into the array shape;
    # describe the blob the way it reads, so frombuffer+reshape rebuilds it.
    base, sub = (dt.subdtype if dt.subdtype is not None else (dt, ()))
    enum = h5py().check_enum_dtype(dt)
    if enum is not None:
        meta["enum"] = {str(k): int(v) for k, v in enum.items()}

    if dset.shape is None:  # an HDF5 null dataspace (h5py.Empty)
        meta.update(dtype=dtype_to_json(base), shape=None, encoding="raw")
        return SourceBlob(name=name, size=0, metadata=_ordered(meta), chunks=lambda: iter(()))

    full_shape = tuple(dset.shape) + tuple(sub)
    encode = _raw_encoding if not base.hasobject else _json_encoding
    make, size = encode(dset, base, full_shape, meta)
    chunks = _rereading(dset, h5_real, make, size, label)
    return SourceBlob(name=name, size=size, metadata=_ordered(meta), chunks=chunks)


def _raw_encoding(dset: Any, base: np.dtype, shape: tuple[int, ...], meta: dict[str, Any]) -> tuple[PieceMaker, int]:
    """Fixed-size data: C-order bytes, read in selections aligned to the dataset's chunks."""
    meta.update(dtype=dtype_to_json(base), shape=list(shape), encoding="raw")
    size = base.itemsize * math.prod(shape)
    align = dset.chunks[0] if dset.chunks else 1

    def raw_pieces(d: Any) -> Iterator[bytes]:
        for sel in index_blocks(shape, base.itemsize, blobs.CHUNK_BYTES, align):
            # One expression so the array is freed as soon as its bytes exist.
            yield np.asarray(d[sel if sel else ...]).tobytes()

    return raw_pieces, size


def _json_encoding(dset: Any, base: np.dtype, shape: tuple[int, ...], meta: dict[str, Any]) -> tuple[PieceMaker, int]:
    """Object data: a JSON array in C order, its byte size counted in a streaming pass."""
    lib = h5py()
    meta.update(dtype=dtype_to_json(np.dtype(object)) if base.fields is None else dtype_to_json(base),
                shape=list(shape), encoding="json")
    is_str = lib.check_string_dtype(base) is not None
    vlen = lib.check_vlen_dtype(base)  # the element dtype of a vlen sequence (str/bytes for strings)
    if vlen is not None and not is_str:
        meta["vlen_dtype"] = dtype_to_json(np.dtype(vlen))

    def json_pieces(d: Any) -> Iterator[bytes]:
        return _json_pieces(d, shape, is_str)

    # The byte size of JSON is only known once encoded: count it now, in a
    # streaming pass, so `size` is exact before anything is stored.
    return json_pieces, sum(len(p) for p in json_pieces(dset))


def _json_pieces(d: Any, shape: tuple[int, ...], is_str: bool) -> Iterator[bytes]:
    src = d.asstr(errors="surrogateescape") if is_str else d
    if not shape:
        yield json.dumps(jsonable(src[()], d.file)).encode("ascii")
        return
    yield b"["
    first = True
    for sel in index_blocks(shape, 1, _JSON_ELEMENTS_PER_SLICE):
        block = np.asarray(src[sel]).reshape(-1)
        text = ",".join(json.dumps(jsonable(v, d.file)) for v in block)
        if text:
            yield (text if first else "," + text).encode("ascii")
            first = False
    yield b"]"


def _rereading(dset: Any, h5_real: Path, make: PieceMaker, size: int, label: str) -> Callable[[], Iterator[bytes]]:
    """A ``chunks`` factory that opens the file again and refuses a dataset that changed since listing."""
    lib = h5py()
    h5path = dset.name
    expected = (dset.dtype, dset.shape)

    def chunks() -> Iterator[bytes]:
        def pieces() -> Iterator[bytes]:
            try:
                with lib.File(h5_real, "r") as f:
                    d = f.get(h5path)
                    if not isinstance(d, lib.Dataset) or (d.dtype, d.shape) != expected:
                        raise SourceError(f"{label}: dataset {h5path!r} changed or vanished since it was listed")
                    yield from make(d)
            except SourceError:
                raise
            except OSError as exc:
                raise UnsupportedSource(f"{label}: cannot read dataset {h5path!r}: {exc}") from None

        return checked(pieces(), size, f"{label} dataset {h5path!r}")

    return chunks
