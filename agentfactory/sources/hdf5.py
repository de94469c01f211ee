"""``hdf5::PATH``: every dataset of one HDF5 file, each a blob named by its HDF5 path.

The whole file is checked before any blob is returned: each dataset must read
only from files inside the roots, need no missing compression filter, and have
a UTF-8 name, so a refusal means nothing was stored.
"""

from __future__ import annotations

import os
from typing import Any

from agentfactory.core.errors import UnsupportedSource

from .blobs import SourceBlob
from .files import check_name, check_regular
from .hdf5_datasets import dataset_blob
from .hdf5_links import outside_files
from .lazy_h5py import h5py
from .roots import DataRoots, stat_existing


def _check_filters(dset: Any, label: str) -> None:
    """Refuse datasets compressed with a filter this HDF5 build lacks, before streaming."""
    plist = dset.id.get_create_plist()
    for i in range(plist.get_nfilters()):
        info = plist.get_filter(i)
        filter_id, filter_name = info[0], info[3]
        if not h5py().h5z.filter_avail(filter_id):
            raise UnsupportedSource(
                f"{label}: dataset {dset.name!r} needs HDF5 filter {os.fsdecode(filter_name) or filter_id}, "
                "which is not installed",
                hint="pip install hdf5plugin and import it before assimilating",
            )


def resolve_hdf5(rest: str, roots: DataRoots) -> list[SourceBlob]:
    """The blobs of every dataset in the file, in HDF5 path order, all validated."""
    lib = h5py()
    real = roots.resolve(rest)
    st = stat_existing(real, rest, real)
    label = f"hdf5::{rest}"
    check_regular(real, label, st, hint_dir=f"point hdf5:: at one .h5 file, or use folder::{rest}")
    if not lib.is_hdf5(real):
        raise UnsupportedSource(f"{label} is not an HDF5 file", hint=f"use file::{rest} to store it as bytes")
    try:
        h5file = lib.File(real, "r")
    except OSError as exc:
        raise UnsupportedSource(f"{label} cannot be opened: {exc}") from None
    with h5file:
        datasets: list[Any] = []
        # visititems walks objects through hard links only: soft and external links
        # are not followed, so an external link can never pull in a file outside
        # the roots (and a dataset linked twice is stored once).
        h5file.visititems(lambda _n, obj: datasets.append(obj) if isinstance(obj, lib.Dataset) else None)
        blobs: list[SourceBlob] = []
        for dset in sorted(datasets, key=lambda d: d.name):
            outside = outside_files(dset, real, roots)
            if outside:
                raise roots.refusal(
                    f"{label}: dataset {dset.name!r}", f"reads data from {', '.join(map(repr, outside))},"
                )
            _check_filters(dset, label)
            check_name(dset.name)
            try:
                blobs.append(dataset_blob(dset, h5file, real, label))
            except OSError as exc:
                raise UnsupportedSource(f"{label}: cannot read dataset {dset.name!r}: {exc}") from None
    return blobs
