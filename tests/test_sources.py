"""Source URIs -> named, streamed blobs: what a user assimilating data would see.

No services: every file, folder and HDF5 file is made on the fly under tmp_path.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

import agentfactory.sources.blobs as blobs_mod
from agentfactory.core.errors import (
    IntegrityError,
    SourceError,
    SourceNotFound,
    UnsafePath,
    UnsupportedSource,
)
from agentfactory.core.vocabulary import SOURCE_SCHEMES
from agentfactory.sources import (
    CHUNK_BYTES,
    DataRoots,
    SourceBlob,
    decode_blob,
    resolve_source,
    split_uri,
)
from agentfactory.sources.hdf5_datasets import index_blocks
from agentfactory.sources.schemes import SCHEME_TABLE

MiB = 1024 * 1024


# -- helpers ------------------------------------------------------------------
@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The one allowed data root; `tmp_path/outside` is a sibling outside it."""
    r = tmp_path / "root"
    r.mkdir()
    (tmp_path / "outside").mkdir()
    return r


@pytest.fixture
def roots(root: Path) -> DataRoots:
    return DataRoots(cwd=root)


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


# -- split_uri ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("file::data/a.csv", ("file", "data/a.csv")),
        ("FILE::data/a.csv", ("file", "data/a.csv")),
        ("Folder::./docs", ("folder", "./docs")),
        ("hDf5::run 42/été.h5", ("hdf5", "run 42/été.h5")),
        ("mem::docs/sub/a.md", ("mem", "docs/sub/a.md")),
        ("file::odd::name.txt", ("file", "odd::name.txt")),
        ("file:: leading space.txt", ("file", " leading space.txt")),
    ],
)
def test_split_uri(uri, expected):
    assert split_uri(uri) == expected


@pytest.mark.parametrize(
    "uri", ["data/a.csv", "file:data/a.csv", "file:///abs/a.csv", "http::x", "::x", "", "s3::bucket/k"]
)
def test_split_uri_refuses_unknown_or_missing_scheme(uri):
    with pytest.raises(UnsupportedSource) as info:
        split_uri(uri)
    assert "file::PATH" in str(info.value)  # the hint shows the accepted forms


def test_split_uri_refuses_non_text():
    with pytest.raises(UnsupportedSource):
        split_uri(b"file::a")  # type: ignore[arg-type]


def test_every_scheme_of_the_vocabulary_has_a_resolver_and_a_hint():
    """The rule parser and the resolvers read one list of schemes; the hint names each of them."""
    assert tuple(SCHEME_TABLE) == SOURCE_SCHEMES
    with pytest.raises(UnsupportedSource) as info:
        split_uri("s3::bucket/k")
    assert info.value.hint == "write file::PATH, folder::PATH, hdf5::PATH or mem::TAG/BLOB"


# -- file:: -------------------------------------------------------------------
def test_file_is_one_blob_named_by_its_basename(root, roots):
    write(root / "data" / "notes.txt", "hello world")
    [blob] = blobs_of("file::data/notes.txt", roots)
    assert (blob.name, blob.size, blob.metadata) == ("notes.txt", 11, {})
    assert blob.read() == b"hello world"
    # chunks() is re-iterable: every call streams the payload anew
    assert b"".join(blob.chunks()) == b"".join(blob.chunks()) == b"hello world"
    assert decode_blob(blob.read(), blob.metadata) == b"hello world"


def test_file_with_spaces_unicode_and_uppercase_scheme(root, roots):
    payload = "température, °C\n21.5\n".encode()
    write(root / "données d'été" / "mes relevés 1.csv", payload)
    [blob] = blobs_of("FILE::données d'été/mes relevés 1.csv", roots)
    assert blob.name == "mes relevés 1.csv"
    assert blob.read() == payload


def test_absolute_path_inside_root_and_inner_dotdot_are_fine(root, roots):
    write(root / "a" / "x.bin", b"\x00\x01\xff")
    (root / "b").mkdir()
    assert blobs_of(f"file::{root / 'a' / 'x.bin'}", roots)[0].read() == b"\x00\x01\xff"
    assert blobs_of("file::b/../a/x.bin", roots)[0].read() == b"\x00\x01\xff"


def test_empty_file_streams_no_piece(root, roots):
    write(root / "empty", b"")
    [blob] = blobs_of("file::empty", roots)
    assert blob.size == 0 and list(blob.chunks()) == [] and blob.read() == b""


def test_big_file_streams_in_pieces_of_at_most_16_mib(root, roots):
    payload = os.urandom(40 * 1000 * 1000)
    write(root / "big.bin", payload)
    [blob] = blobs_of("file::big.bin", roots)
    pieces = list(blob.chunks())
    assert CHUNK_BYTES == 16 * MiB
    assert len(pieces) == math.ceil(len(payload) / CHUNK_BYTES) == 3
    assert all(0 < len(p) <= CHUNK_BYTES for p in pieces)
    assert b"".join(pieces) == payload


def test_file_missing(roots):
    refused(SourceNotFound, "file::nope.txt", roots, match="does not exist")


def test_file_dangling_symlink_is_not_found(root, roots):
    (root / "dangling").symlink_to(root / "gone.txt")
    refused(SourceNotFound, "file::dangling", roots, match="dangling symlink")


def test_file_symlink_loop(root, roots):
    (root / "loop").symlink_to(root / "loop")
    refused(UnsupportedSource, "file::loop", roots, match="loop")


def test_file_on_a_directory_hints_folder(root, roots):
    (root / "docs").mkdir()
    err = refused(UnsupportedSource, "file::docs", roots, match="is a directory")
    assert "folder::docs" in str(err)


@pytest.mark.timeout(20)
def test_file_on_a_fifo_is_unsupported_and_does_not_block(root, roots):
    os.mkfifo(root / "pipe")
    refused(UnsupportedSource, "file::pipe", roots, match="FIFO")


def test_file_on_a_socket_is_unsupported(root, roots, tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(root / "s.sock"))
        refused(UnsupportedSource, "file::s.sock", roots, match="socket")
    finally:
        sock.close()


@pytest.fixture
def shared_dir():
    """A world-traversable directory, so an unprivileged child can reach files in it."""
    d = Path(tempfile.mkdtemp(prefix="af-uri-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _outcome_as_nobody(fn) -> str:
    """Run fn in a forked child that dropped root (chmod 000 does not stop root)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.close(r)
        try:
            os.setgid(65534)
            os.setuid(65534)
            try:
                fn()
                msg = "no error"
            except BaseException as exc:  # noqa: BLE001 - report whatever happened
                msg = f"{type(exc).__name__}: {exc}"
        except BaseException as exc:  # noqa: BLE001
            msg = f"could not drop privileges: {exc!r}"
        os.write(w, msg.encode())
        os._exit(0)
    os.close(w)
    chunks = []
    while data := os.read(r, 65536):
        chunks.append(data)
    os.close(r)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


def _consume(uri: str, roots: DataRoots) -> None:
    for blob in resolve_source(uri, roots):
        raise AssertionError(f"yielded {blob.name} from an unreadable source")


def test_unreadable_file_and_folder_are_unsupported(shared_dir):
    secret = write(shared_dir / "secret.txt", "top secret")
    secret.chmod(0o000)
    write(shared_dir / "box" / "a.txt", "readable")
    write(shared_dir / "box" / "b.txt", "not readable").chmod(0o000)
    roots = DataRoots(cwd=shared_dir)
    if os.geteuid() != 0:
        refused(UnsupportedSource, "file::secret.txt", roots, match="permission denied")
        refused(UnsupportedSource, "folder::box", roots, match="permission denied")
    else:
        # As root, permissions do not block reads: drop to nobody to really produce one.
        for uri in ("file::secret.txt", "folder::box"):
            outcome = _outcome_as_nobody(lambda: _consume(uri, roots))
            assert outcome.startswith("UnsupportedSource:") and "permission denied" in outcome, outcome


def test_file_that_changes_after_listing_is_never_a_partial_blob(root, roots):
    path = write(root / "growing.log", b"0123456789")
    [blob] = blobs_of("file::growing.log", roots)
    with path.open("ab") as f:
        f.write(b"more")
    with pytest.raises(SourceError, match="changed while it was being read"):
        b"".join(blob.chunks())
    path.write_bytes(b"012")
    with pytest.raises(SourceError, match="changed while it was being read"):
        b"".join(blob.chunks())


def test_file_replaced_by_outward_symlink_after_listing_is_not_followed(root, roots, tmp_path):
    path = write(root / "a.txt", b"inside")
    [blob] = blobs_of("file::a.txt", roots)
    write(tmp_path / "outside" / "secret", b"outsid")  # same size as the original
    path.unlink()
    path.symlink_to(tmp_path / "outside" / "secret")
    with pytest.raises(SourceError, match="became a symlink"):
        blob.read()


# -- traversal refusals -------------------------------------------------------
def test_dotdot_escape_is_refused_whether_or_not_the_target_exists(roots, tmp_path):
    write(tmp_path / "outside" / "x", "outside")
    write(tmp_path / "x", "outside")
    refused(UnsafePath, "file::../x", roots)
    refused(UnsafePath, "file::../outside/x", roots)
    refused(UnsafePath, "file::../does-not-exist", roots)  # unsafe beats not-found: no probing outside
    refused(UnsafePath, "folder::..", roots)
    refused(UnsafePath, "hdf5::../outside/x", roots)


def test_absolute_path_outside_roots_is_refused(roots, tmp_path):
    outside = write(tmp_path / "outside" / "x.txt", "outside")
    err = refused(UnsafePath, f"file::{outside}", roots)
    assert "outside the allowed data roots" in str(err)
    refused(UnsafePath, "file::/etc/passwd", roots)
    refused(UnsafePath, f"folder::{outside.parent}", roots)


def test_symlink_inside_root_pointing_out_is_refused(root, roots, tmp_path):
    write(tmp_path / "outside" / "secret.txt", "secret")
    (root / "innocent.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    (root / "outdir").symlink_to(tmp_path / "outside", target_is_directory=True)
    refused(UnsafePath, "file::innocent.txt", roots)
    refused(UnsafePath, "file::outdir/secret.txt", roots)
    refused(UnsafePath, "folder::outdir", roots)


def test_symlink_inside_root_pointing_inside_is_followed(root, roots):
    write(root / "real" / "data.csv", "a,b\n")
    (root / "alias.csv").symlink_to(root / "real" / "data.csv")
    [blob] = blobs_of("file::alias.csv", roots)
    assert (blob.name, blob.read()) == ("alias.csv", b"a,b\n")


def test_folder_containing_an_outward_symlink_is_refused_before_any_blob(root, roots, tmp_path):
    write(tmp_path / "outside" / "secret.txt", "secret")
    write(root / "docs" / "a.txt", "a")  # sorts before the bad link: must still not be yielded
    write(root / "docs" / "sub" / "b.txt", "b")
    (root / "docs" / "sub" / "zz_link").symlink_to(tmp_path / "outside" / "secret.txt")
    err = refused(UnsafePath, "folder::docs", roots)
    assert "zz_link" in str(err)
    (root / "docs" / "sub" / "zz_link").unlink()
    (root / "docs" / "sub" / "dirlink").symlink_to(tmp_path / "outside", target_is_directory=True)
    refused(UnsafePath, "folder::docs", roots)


def test_root_prefix_is_compared_by_components_not_strings(tmp_path):
    data = tmp_path / "data"
    write(tmp_path / "data2" / "x.txt", "sibling")
    data.mkdir()
    roots = DataRoots([data], cwd=data)
    refused(UnsafePath, f"file::{tmp_path / 'data2' / 'x.txt'}", roots)


def test_several_roots_and_relative_roots(tmp_path):
    work = tmp_path / "work"
    write(tmp_path / "shared" / "ref.txt", "ref")
    write(work / "mine.txt", "mine")
    roots = DataRoots([".", "../shared"], cwd=work)
    assert roots.roots == (work.resolve(), (tmp_path / "shared").resolve())
    assert blobs_of("file::mine.txt", roots)[0].read() == b"mine"
    assert blobs_of("file::../shared/ref.txt", roots)[0].read() == b"ref"
    refused(UnsafePath, f"file::{tmp_path}", roots)


def test_symlinked_root_is_compared_by_its_real_location(tmp_path):
    write(tmp_path / "real" / "a.txt", "a")
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    roots = DataRoots([tmp_path / "link"], cwd=tmp_path / "link")
    assert blobs_of(f"file::{tmp_path / 'real' / 'a.txt'}", roots)[0].read() == b"a"
    assert blobs_of("file::a.txt", roots)[0].read() == b"a"


def test_no_roots_allows_nothing_but_mem(tmp_path):
    write(tmp_path / "a.txt", "a")
    roots = DataRoots([], cwd=tmp_path)
    refused(UnsafePath, "file::a.txt", roots)
    assert blobs_of("mem::t/b", roots, mem_reader=lambda t, b: b"x")[0].read() == b"x"


@pytest.mark.parametrize("path", ["", "a\x00b"])
def test_empty_or_nul_path_is_unsupported(roots, path):
    refused(UnsupportedSource, f"file::{path}", roots)


def test_resolve_returns_the_real_path(root, roots):
    write(root / "d" / "f.txt", "x")
    assert roots.resolve("d/./f.txt") == (root / "d" / "f.txt").resolve()
    assert roots.resolve("new.txt", must_exist=False) == root.resolve() / "new.txt"
    with pytest.raises(SourceNotFound):
        roots.resolve("new.txt")
    with pytest.raises(UnsafePath):
        roots.resolve("../new.txt", must_exist=False)


# -- folder:: -----------------------------------------------------------------
def test_folder_is_recursive_sorted_posix_names_with_hidden_files(root, roots):
    files = {
        "B.txt": "B",
        "a.txt": "a",
        "a-c.txt": "a-c",
        "a/b.txt": "a/b",
        ".hidden": "h",
        ".git/config": "cfg",
        "sub/z/deep.txt": "deep",
        "sub/b.txt": "sub b",
        "espace é/fi chier ü.md": "unicode",
    }
    for name, text in files.items():
        write(root / "docs" / name, text)
    (root / "docs" / "empty_dir").mkdir()
    blobs = blobs_of("folder::docs", roots)
    names = [b.name for b in blobs]
    assert names == sorted(files)
    assert {b.name: b.read().decode() for b in blobs} == files
    assert all(b.metadata == {} and b.size == len(files[b.name].encode()) for b in blobs)


def test_folder_paths_like_dot_and_trailing_slash(root, roots):
    write(root / "x.txt", "x")
    write(root / "d" / "y.txt", "y")
    assert [b.name for b in blobs_of("folder::.", roots)] == ["d/y.txt", "x.txt"]
    assert [b.name for b in blobs_of("FOLDER::d/", roots)] == ["y.txt"]


def test_empty_folder_yields_nothing(root, roots):
    (root / "empty" / "nested_empty").mkdir(parents=True)
    assert blobs_of("folder::empty", roots) == []


def test_folder_on_a_file_hints_file(root, roots):
    write(root / "a.txt", "a")
    err = refused(UnsupportedSource, "folder::a.txt", roots, match="not a directory")
    assert "file::a.txt" in str(err)


def test_folder_missing(roots):
    refused(SourceNotFound, "folder::nope", roots)


@pytest.mark.timeout(20)
def test_folder_with_a_fifo_is_refused_before_any_blob(root, roots):
    write(root / "d" / "a.txt", "a")
    os.mkfifo(root / "d" / "z.pipe")
    refused(UnsupportedSource, "folder::d", roots, match="FIFO")


def test_folder_with_a_dangling_symlink_is_refused(root, roots):
    write(root / "d" / "a.txt", "a")
    (root / "d" / "broken").symlink_to(root / "d" / "gone")
    refused(SourceNotFound, "folder::d", roots, match="dangling")


def test_folder_symlink_cycle_is_refused(root, roots):
    write(root / "d" / "sub" / "a.txt", "a")
    (root / "d" / "sub" / "up").symlink_to(root / "d", target_is_directory=True)
    refused(UnsupportedSource, "folder::d", roots, match="contains it")


def test_folder_follows_inner_symlinks_that_stay_inside(root, roots):
    write(root / "shared" / "s.txt", "shared")
    write(root / "d" / "a.txt", "a")
    (root / "d" / "link.txt").symlink_to(root / "shared" / "s.txt")
    (root / "d" / "linkdir").symlink_to(root / "shared", target_is_directory=True)
    blobs = blobs_of("folder::d", roots)
    assert {b.name: b.read() for b in blobs} == {"a.txt": b"a", "link.txt": b"shared", "linkdir/s.txt": b"shared"}


# -- hdf5:: -------------------------------------------------------------------
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


def test_hdf5_external_storage_outside_roots_is_refused(root, roots, tmp_path):
    raw = write(tmp_path / "outside" / "raw.bin", np.arange(10, dtype="<i4").tobytes())
    with h5py.File(root / "ext_abs.h5", "w") as f:
        f.create_dataset("leak", shape=(10,), dtype="<i4", external=[(str(raw), 0, 40)])
    refused(UnsafePath, "hdf5::ext_abs.h5", roots, match="reads data from .*raw.bin")
    with h5py.File(root / "ext_rel.h5", "w") as f:
        f.create_dataset("leak", shape=(10,), dtype="<i4", external=[("../outside/raw.bin", 0, 40)])
    refused(UnsafePath, "hdf5::ext_rel.h5", roots)


def test_hdf5_external_storage_inside_roots_is_read(root, roots):
    raw = write(root / "raw.bin", np.arange(10, dtype="<i4").tobytes())
    with h5py.File(root / "ext.h5", "w") as f:
        f.create_dataset("ok", shape=(10,), dtype="<i4", external=[(str(raw), 0, 40)])
    [blob] = blobs_of("hdf5::ext.h5", roots)
    assert_same(h5_roundtrip(blob), np.arange(10, dtype="<i4"))


def test_hdf5_virtual_dataset_sources_are_checked(root, roots, tmp_path):
    for where in (tmp_path / "outside", root):
        with h5py.File(where / "src.h5", "w") as f:
            f["d"] = np.arange(6, dtype="<i8")
    for name, src in [("vds_out.h5", tmp_path / "outside" / "src.h5"), ("vds_in.h5", root / "src.h5")]:
        layout = h5py.VirtualLayout(shape=(6,), dtype="<i8")
        layout[:] = h5py.VirtualSource(str(src), "d", shape=(6,))
        with h5py.File(root / name, "w") as f:
            f.create_virtual_dataset("v", layout)
    refused(UnsafePath, "hdf5::vds_out.h5", roots)
    [blob] = blobs_of("hdf5::vds_in.h5", roots)
    assert_same(h5_roundtrip(blob), np.arange(6, dtype="<i8"))


def test_hdf5_external_and_soft_links_are_not_followed(root, roots, tmp_path):
    with h5py.File(tmp_path / "outside" / "other.h5", "w") as f:
        f["secret"] = np.arange(3)
    with h5py.File(root / "links.h5", "w") as f:
        f["real"] = np.arange(4)
        f["soft"] = h5py.SoftLink("/real")
        f["ext"] = h5py.ExternalLink(str(tmp_path / "outside" / "other.h5"), "/secret")
    assert [b.name for b in blobs_of("hdf5::links.h5", roots)] == ["real"]


def test_hdf5_filter_not_installed_is_refused_up_front(root, roots):
    bogus_filter = 300  # 256-511 is HDF5's range for testing: never registered
    assert not h5py.h5z.filter_avail(bogus_filter)
    with h5py.File(root / "f.h5", "w") as f:
        d = f.create_dataset(
            "z", shape=(4,), dtype="<i4", chunks=(4,), compression=bogus_filter, allow_unknown_filter=True
        )
        d.id.write_direct_chunk((0,), b"\x00" * 16)
    refused(UnsupportedSource, "hdf5::f.h5", roots, match="needs HDF5 filter")


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


# -- issue 9, item 5: links and virtual sources are resolved transitively -----------------------
@pytest.mark.faults
@pytest.mark.parametrize("hop", ["external", "soft_to_external", "vds_to_vds"])
def test_hdf5_virtual_source_in_the_same_file_cannot_reach_outside(root, roots, tmp_path, hop):
    """A virtual dataset whose source file is "." names a path in the same file: that path may be a link out."""
    secret = np.arange(5, dtype="<i8") * 7
    with h5py.File(tmp_path / "outside" / "secret.h5", "w") as f:
        f["s"] = secret
    with h5py.File(root / "sneaky.h5", "w") as f:
        f["hop"] = h5py.ExternalLink(str(tmp_path / "outside" / "secret.h5"), "/s")
        target = "/hop"
        if hop == "soft_to_external":
            f["soft"] = h5py.SoftLink("/hop")
            target = "/soft"
        if hop == "vds_to_vds":
            inner = h5py.VirtualLayout(shape=(5,), dtype="<i8")
            inner[:] = h5py.VirtualSource(".", "/hop", shape=(5,))
            f.create_virtual_dataset("inner", inner)
            target = "/inner"
        layout = h5py.VirtualLayout(shape=(5,), dtype="<i8")
        layout[:] = h5py.VirtualSource(".", target, shape=(5,))
        f.create_virtual_dataset("v", layout)
    outside_reads = 0
    try:
        for blob in blobs_of("hdf5::sneaky.h5", roots):
            outside_reads += np.array_equal(np.frombuffer(blob.read(), dtype="<i8"), secret)
    except UnsafePath:
        pass
    assert outside_reads == 0
    refused(UnsafePath, "hdf5::sneaky.h5", roots, match="reads data from")


@pytest.mark.faults
def test_hdf5_virtual_source_in_the_same_file_inside_it_is_read(root, roots):
    with h5py.File(root / "self.h5", "w") as f:
        f["d"] = np.arange(4, dtype="<i8")
        f["soft"] = h5py.SoftLink("/d")
        layout = h5py.VirtualLayout(shape=(4,), dtype="<i8")
        layout[:] = h5py.VirtualSource(".", "/soft", shape=(4,))
        f.create_virtual_dataset("v", layout)
    blobs = {b.name: b for b in blobs_of("hdf5::self.h5", roots)}
    assert_same(h5_roundtrip(blobs["v"]), np.arange(4, dtype="<i8"))


# -- layering: core stays free of sources, values and h5py ------------------------------------
def _fresh_modules(code: str) -> dict:
    """Run ``code`` in a new interpreter and return what it printed as JSON (imports start clean)."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_importing_core_loads_nothing_of_the_top_level_nor_h5py():
    report = _fresh_modules(
        """
        import json, pkgutil, importlib, sys
        import agentfactory.core as core
        for info in pkgutil.iter_modules(core.__path__):
            importlib.import_module(f"agentfactory.core.{info.name}")
        outside = sorted(m for m in sys.modules if m.startswith("agentfactory.")
                         and not m.startswith("agentfactory.core"))
        print(json.dumps({"outside": outside, "h5py": "h5py" in sys.modules}))
        """
    )
    assert report == {"outside": [], "h5py": False}


def test_importing_sources_leaves_h5py_for_the_first_hdf5_source():
    report = _fresh_modules(
        """
        import json, sys
        import agentfactory.sources
        print(json.dumps({"h5py": "h5py" in sys.modules}))
        """
    )
    assert report == {"h5py": False}


def test_observation_value_decodes_through_the_decoder_sources_registers():
    """core cannot decode on its own; importing agentfactory.sources (as Session and IOWarpEnv do) plugs it in."""
    report = _fresh_modules(
        """
        import json
        from agentfactory.core.observation import Observation
        text = Observation(ok=True, data="grüße".encode(), metadata={"kind": "text", "encoding": "utf-8"})
        try:
            text.value()
            before = None
        except RuntimeError as exc:
            before = str(exc)
        empty = Observation(ok=False).value()
        import agentfactory.sources
        print(json.dumps({"before": before, "empty": empty, "after": text.value()}))
        """
    )
    assert "import agentfactory.sources" in report["before"]
    assert report["empty"] is None and report["after"] == "grüße"
