"""Data roots: a source outside them is refused, however it gets there (.., absolute paths, symlinks).

No services: the root and its sibling `outside` are made under tmp_path (conftest.py).
"""

from __future__ import annotations

import pytest
from _sources_data import blobs_of, refused, write

from agentfactory.core.errors import SourceNotFound, UnsafePath, UnsupportedSource
from agentfactory.sources import DataRoots


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
