"""What an HDF5 file points at: external storage, virtual sources and links are followed only inside the data roots.

No services: HDF5 files, inside the root and outside it, are made on the fly under tmp_path.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from _sources_data import assert_same, blobs_of, h5_roundtrip, refused, write

from agentfactory.core.errors import UnsafePath


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
