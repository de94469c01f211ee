"""Blobs as values: mem:: reads a cached value back as a source, decode_blob turns stored bytes into values.

No services: the cache is a plain function.
"""

from __future__ import annotations

import numpy as np
import pytest
from _sources_data import blobs_of, refused

import agentfactory.sources.blobs as blobs_mod
from agentfactory.core.errors import IntegrityError, SourceNotFound, UnsupportedSource
from agentfactory.sources import decode_blob


# -- mem:: --------------------------------------------------------------------
def test_mem_reads_through_the_cache_reader(roots):
    calls = []

    def reader(tag: str, blob: str) -> bytes | None:
        calls.append((tag, blob))
        return {("docs", "sub/a.md"): b"# A\n"}.get((tag, blob))

    [blob] = blobs_of("MEM::docs/sub/a.md", roots, mem_reader=reader)
    assert (blob.name, blob.size, blob.metadata, blob.read()) == ("sub/a.md", 4, {}, b"# A\n")
    assert calls == [("docs", "sub/a.md")]
    err = refused(SourceNotFound, "mem::docs/missing.md", roots, match="not in the cache", mem_reader=reader)
    assert "missing.md" in str(err)


def test_mem_big_value_is_chunked(roots, monkeypatch):
    monkeypatch.setattr(blobs_mod, "CHUNK_BYTES", 10)
    [blob] = blobs_of("mem::t/b", roots, mem_reader=lambda t, b: bytes(range(25)))
    assert [len(p) for p in blob.chunks()] == [10, 10, 5] and blob.read() == bytes(range(25))


def test_mem_without_reader_or_blob_name(roots):
    refused(UnsupportedSource, "mem::docs/a.md", roots, match="need a cache")
    for bad in ("mem::docs", "mem::docs/", "mem::/a.md"):
        refused(UnsupportedSource, bad, roots, match="does not name a blob", mem_reader=lambda t, b: b"x")


# -- decode_blob --------------------------------------------------------------
def test_decode_plain_blob_is_bytes():
    assert decode_blob(b"abc", {}) == b"abc"
    assert decode_blob(bytearray(b"abc"), {}) == b"abc"


def test_decode_rejects_a_size_mismatch_and_unknown_encoding():
    meta = {"kind": "hdf5", "dtype": "<f8", "shape": [3], "encoding": "raw", "attrs": {}}
    with pytest.raises(IntegrityError):
        decode_blob(b"\x00" * 16, meta)
    with pytest.raises(UnsupportedSource):
        decode_blob(b"", {**meta, "encoding": "zstd"})


def test_decoded_arrays_are_writable_unless_asked_not_to_copy():
    meta = {"kind": "hdf5", "dtype": "<i4", "shape": [2, 2], "encoding": "raw", "attrs": {}}
    data = np.arange(4, dtype="<i4").tobytes()
    arr = decode_blob(data, meta)
    arr[0, 0] = 9
    assert arr.flags.writeable and decode_blob(data, meta)[0, 0] == 0
    assert not decode_blob(data, meta, writable=False).flags.writeable
    buf = bytearray(data)
    view = decode_blob(buf, meta)
    view[0, 0] = 5
    assert buf[:4] == (5).to_bytes(4, "little")  # a bytearray is used in place, not copied
