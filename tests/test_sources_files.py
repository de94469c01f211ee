"""file:: and folder:: sources: one streamed blob per file, what cannot be read, what changes under a reader.

No services: every file and folder is made on the fly under tmp_path (`root`, from conftest.py).
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest
from _sources_data import MiB, blobs_of, refused, write

from agentfactory.core.errors import SourceError, SourceNotFound, UnsupportedSource
from agentfactory.sources import CHUNK_BYTES, DataRoots, decode_blob, resolve_source


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
