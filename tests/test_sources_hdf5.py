"""hdf5:: sources: one blob per dataset that decodes to what h5py reads, streamed in bounded pieces.

No services: HDF5 files are made on the fly under tmp_path.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest
from _sources_data import assert_same, blobs_of, h5_roundtrip, refused, write

import agentfactory.sources.blobs as blobs_mod
from agentfactory.core.errors import SourceError, SourceNotFound, UnsupportedSource
from agentfactory.sources import CHUNK_BYTES, decode_blob, resolve_source
from agentfactory.sources.hdf5_datasets import index_blocks


def _make_h5(path: Path) -> dict[str, object]:
    """An HDF5 file with nested groups and many dtypes; returns what h5py reads back."""
    rng = np.random.default_rng(7)
    point = np.dtype([("x", "<f4"), ("y", "<f4")])
    nested = np.dtype([("id", "<i8"), ("pos", point), ("hist", "<u2", (3,)), ("tag", "S4")])
    padded = np.dtype({"names": ["a", "b"], "formats": ["i1", "<f8"], "offsets": [0, 8], "itemsize": 16})
    data: dict[str, object] = {
        "flags": rng.random(17) > 0.5,
        "ints/i1": rng.integers(-128, 127, 10, dtype=np.int8),
        "ints/i2": rng.integers(-(2**15), 2**15 - 1, (3, 4), dtype=np.int16),
        "ints/i4": rng.integers(-(2**31), 2**31 - 1, (2, 3, 4), dtype=np.int32),
        "ints/i8": rng.integers(-(2**62), 2**62, 9, dtype=np.int64),
        "ints/u1": rng.integers(0, 255, 5, dtype=np.uint8),
        "ints/u2": rng.integers(0, 2**16 - 1, 5, dtype=np.uint16),
        "ints/u4": rng.integers(0, 2**32 - 1, 5, dtype=np.uint32),
        "ints/u8": np.array([0, 1, 2**64 - 1], dtype=np.uint64),
        "floats/f2": rng.standard_normal(8).astype(np.float16),
        "floats/f4": rng.standard_normal((5, 6)).astype(np.float32),
        "floats/f8": np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300]),
        "floats/big_endian": np.arange(6, dtype=">f8").reshape(2, 3),
        "complex/c8": (rng.standard_normal(4) + 1j * rng.standard_normal(4)).astype(np.complex64),
        "complex/c16": rng.standard_normal(4) + 1j * rng.standard_normal(4),
        "text/fixed": np.array([b"alpha", b"beta", b"", b"0123456789"], dtype="S10"),
        "records/nested": np.array(
            [(1, (1.5, 2.5), (1, 2, 3), b"ab"), (2, (-1.0, 0.0), (4, 5, 6), b"cdef")], dtype=nested
        ),
        "records/padded": np.array([(1, 2.0), (-3, 4.5)], dtype=padded),
        "scalars/f8": np.float64(3.25),
        "scalars/i4": np.int32(-7),
        "scalars/fixed": np.bytes_(b"xyz"),
        "empty/zero_rows": np.zeros((0,), dtype=np.float32),
        "empty/zero_cols": np.zeros((3, 0), dtype=np.int16),
        "group/sub/temps": rng.standard_normal((4, 5)),
    }
    with h5py.File(path, "w") as f:
        for name, value in data.items():
            f[name] = value
        f.create_dataset("empty/null", data=h5py.Empty("<f4"))
        f.create_dataset("compressed", data=np.arange(10_000, dtype=np.int32), chunks=(999,), compression="gzip")
        f["group"].attrs["experiment"] = "run 42"  # group attrs are not blobs
        f["group/sub/temps"].attrs.update(
            {
                "units": "°C",
                "scale": np.float32(0.5),
                "count": np.int64(3),
                "ok": np.bool_(True),
                "limits": np.array([-1.5, 2.5]),
                "raw": np.bytes_(b"bytes attr"),
                "labels": np.array(["a", "bé"], dtype=h5py.string_dtype()),
                "z": np.complex128(1 + 2j),
            }
        )
    with h5py.File(path, "r") as f:
        out: dict[str, object] = {}
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
    return out


def test_hdf5_datasets_round_trip_with_dtype_and_shape(root, roots):
    expected = _make_h5(root / "run.h5")
    blobs = blobs_of("hdf5::run.h5", roots)
    names = [b.name for b in blobs]
    assert names == sorted(expected) and "group/sub/temps" in names
    for blob in blobs:
        assert blob.metadata["kind"] == "hdf5"
        assert blob.metadata["encoding"] == "raw"
        decoded = h5_roundtrip(blob)
        assert_same(decoded, expected[blob.name])
    # dataset with "S10" and a compound dtype keep their exact descriptions
    meta = {b.name: b.metadata for b in blobs}
    assert meta["text/fixed"]["dtype"] == "|S10"
    assert meta["floats/big_endian"]["dtype"] == ">f8"
    assert meta["group/sub/temps"]["shape"] == [4, 5]
    assert meta["scalars/f8"]["shape"] == []
    assert meta["empty/null"]["shape"] is None
    assert isinstance(meta["records/nested"]["dtype"], list)


def test_hdf5_scalar_decodes_like_dataset_getitem(root, roots):
    with h5py.File(root / "s.h5", "w") as f:
        f["v"] = np.float32(1.25)
    [blob] = blobs_of("hdf5::s.h5", roots)
    value = h5_roundtrip(blob)
    assert isinstance(value, np.float32) and value == np.float32(1.25)


def test_hdf5_attrs_are_json_ready(root, roots):
    _make_h5(root / "run.h5")
    blob = next(b for b in resolve_source("hdf5::run.h5", roots) if b.name == "group/sub/temps")
    assert blob.metadata["attrs"] == {
        "units": "°C",
        "scale": 0.5,
        "count": 3,
        "ok": True,
        "limits": [-1.5, 2.5],
        "raw": "bytes attr",
        "labels": ["a", "bé"],
        "z": [1.0, 2.0],
    }
    assert json.loads(json.dumps(blob.metadata)) == blob.metadata


def test_hdf5_variable_length_data_is_json_encoded(root, roots):
    with h5py.File(root / "v.h5", "w") as f:
        f["names"] = np.array(["alpha", "bêta", "", "日本"], dtype=h5py.string_dtype())
        f["grid"] = np.array([["a", "b"], ["c", "d"]], dtype=h5py.string_dtype())
        f["title"] = "a scalar string"
        seq = f.create_dataset("ragged", shape=(3,), dtype=h5py.vlen_dtype(np.int32))
        seq[0], seq[1], seq[2] = [1, 2, 3], [], [42]
    blobs = {b.name: b for b in blobs_of("hdf5::v.h5", roots)}
    assert {b.metadata["encoding"] for b in blobs.values()} == {"json"}
    names = h5_roundtrip(blobs["names"])
    assert names.dtype == object and names.tolist() == ["alpha", "bêta", "", "日本"]
    assert h5_roundtrip(blobs["grid"]).tolist() == [["a", "b"], ["c", "d"]]
    assert h5_roundtrip(blobs["title"]) == "a scalar string"
    ragged = h5_roundtrip(blobs["ragged"])
    assert [r.tolist() for r in ragged] == [[1, 2, 3], [], [42]]
    assert all(r.dtype == np.int32 for r in ragged)


def test_hdf5_dataset_bigger_than_one_chunk_streams_in_pieces(root, roots):
    rows = 40 * 1000 * 1000 // (8 * 1000)
    with h5py.File(root / "big.h5", "w") as f:
        d = f.create_dataset("big", shape=(rows, 1000), dtype="<f8")
        for start in range(0, rows, 1000):
            d[start : start + 1000] = np.arange(start * 1000, (start + 1000) * 1000, dtype="<f8").reshape(-1, 1000)
    [blob] = blobs_of("hdf5::big.h5", roots)
    assert blob.size == rows * 1000 * 8
    pieces = list(blob.chunks())
    assert len(pieces) >= 3 and all(0 < len(p) <= CHUNK_BYTES for p in pieces)
    arr = decode_blob(b"".join(pieces), blob.metadata)
    np.testing.assert_array_equal(arr, np.arange(rows * 1000, dtype="<f8").reshape(rows, 1000))


def test_hdf5_rows_wider_than_a_chunk_are_sliced_along_inner_axes(root, roots, monkeypatch):
    monkeypatch.setattr(blobs_mod, "CHUNK_BYTES", 1000)
    cube = np.arange(3 * 4 * 1001, dtype="<f8").reshape(3, 4, 1001)  # one row: 32 KB, one line: 8 KB
    chunked = np.arange(5000, dtype="<i2")
    with h5py.File(root / "wide.h5", "w") as f:
        f["cube"] = cube
        f.create_dataset("chunked", data=chunked, chunks=(77,), compression="gzip")
        f["huge_item"] = np.array([b"x" * 2500, b"y" * 2500], dtype="S2500")  # one element > budget
    blobs = {b.name: b for b in blobs_of("hdf5::wide.h5", roots)}
    for name, original in [("cube", cube), ("chunked", chunked)]:
        pieces = list(blobs[name].chunks())
        assert len(pieces) > 10 and max(map(len, pieces)) <= 1000
        assert_same(decode_blob(b"".join(pieces), blobs[name].metadata), original)
    pieces = list(blobs["huge_item"].chunks())
    assert max(map(len, pieces)) <= 1000
    assert decode_blob(b"".join(pieces), blobs["huge_item"].metadata).tolist() == [b"x" * 2500, b"y" * 2500]


def test_index_blocks_cover_the_array_in_c_order():
    shape = (3, 4, 5)
    arr = np.arange(60).reshape(shape)
    for budget in (1, 7, 40, 41, 160, 10_000):
        parts = [arr[sel].reshape(-1) for sel in index_blocks(shape, 1, budget)]
        assert all(p.size <= max(budget, 1) for p in parts)
        np.testing.assert_array_equal(np.concatenate(parts), arr.reshape(-1))


def test_hdf5_is_reiterable_and_detects_changes(root, roots):
    with h5py.File(root / "c.h5", "w") as f:
        f["x"] = np.arange(10)
    [blob] = blobs_of("hdf5::c.h5", roots)
    assert blob.read() == blob.read() == np.arange(10).tobytes()
    with h5py.File(root / "c.h5", "w") as f:
        f["x"] = np.arange(11)
    with pytest.raises(SourceError, match="changed"):
        blob.read()


def test_non_hdf5_file_is_unsupported(root, roots):
    write(root / "fake.h5", "just text, not HDF5\n")
    err = refused(UnsupportedSource, "hdf5::fake.h5", roots, match="is not an HDF5 file")
    assert "file::fake.h5" in str(err)


def test_hdf5_missing_or_directory(root, roots):
    (root / "dir.h5").mkdir()
    refused(SourceNotFound, "hdf5::nope.h5", roots)
    refused(UnsupportedSource, "hdf5::dir.h5", roots, match="is a directory")


def test_hdf5_without_datasets_yields_nothing(root, roots):
    with h5py.File(root / "g.h5", "w") as f:
        f.create_group("only/groups")
    assert blobs_of("hdf5::g.h5", roots) == []


def test_hdf5_filter_not_installed_is_refused_up_front(root, roots):
    bogus_filter = 300  # 256-511 is HDF5's range for testing: never registered
    assert not h5py.h5z.filter_avail(bogus_filter)
    with h5py.File(root / "f.h5", "w") as f:
        d = f.create_dataset(
            "z", shape=(4,), dtype="<i4", chunks=(4,), compression=bogus_filter, allow_unknown_filter=True
        )
        d.id.write_direct_chunk((0,), b"\x00" * 16)
    refused(UnsupportedSource, "hdf5::f.h5", roots, match="needs HDF5 filter")

# -- memory -------------------------------------------------------------------
PEAK_SCRIPT = textwrap.dedent(
    """
    import hashlib, json, resource, sys, tracemalloc
    import h5py, numpy
    from agentfactory.sources import DataRoots, resolve_source

    def status_mb(field):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024

    # Imports alone push the high-water mark above what streaming needs, so a plain
    # ru_maxrss difference would read 0. Reset the mark (Linux: clear_refs 5) and
    # measure the new peak against the resident size right before streaming.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    rss_before = status_mb("VmRSS")
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    [blob] = resolve_source("hdf5::big.h5", roots := DataRoots(cwd=sys.argv[1]))
    digest, pieces, total, largest = hashlib.sha256(), 0, 0, 0
    for piece in blob.chunks():
        digest.update(piece)
        pieces += 1
        total += len(piece)
        largest = max(largest, len(piece))
        del piece
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({
        "size": blob.size, "total": total, "pieces": pieces, "largest": largest,
        "sha256": digest.hexdigest(),
        "rss_before_mb": rss_before,
        "peak_rss_growth_mb": status_mb("VmHWM") - rss_before,
        "ru_maxrss_growth_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - maxrss_before,
        "traced_peak_mb": traced_peak / 2**20,
    }))
    """
)


def test_streaming_a_200_mb_dataset_keeps_memory_flat(root, tmp_path):
    rows, cols = 6250, 4000  # 25e6 float64 = 200 MB
    digest = hashlib.sha256()
    with h5py.File(root / "big.h5", "w") as f:
        d = f.create_dataset("field", shape=(rows, cols), dtype="<f8")
        for start in range(0, rows, 250):
            block = np.arange(start * cols, (start + 250) * cols, dtype="<f8").reshape(250, cols)
            d[start : start + 250] = block
            digest.update(block.tobytes())
    size = rows * cols * 8
    script = tmp_path / "peak.py"
    script.write_text(PEAK_SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), str(root)], capture_output=True, text=True, timeout=240, check=False
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    print(f"\npeak memory while streaming a {size / 1e6:.0f} MB dataset: {report}")
    assert report["size"] == report["total"] == size
    assert report["sha256"] == digest.hexdigest()
    assert report["pieces"] >= size // CHUNK_BYTES and report["largest"] <= CHUNK_BYTES
    assert 0 < report["peak_rss_growth_mb"] < 64, report
    assert report["traced_peak_mb"] < 64, report
