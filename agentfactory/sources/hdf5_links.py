"""Which files outside the roots reading an HDF5 dataset would open.

HDF5 opens other files on its own: external raw storage, virtual-dataset
sources, external links on the way to a path. Each is held to the data-roots
rule, since HDF5 would otherwise read those files for us.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .lazy_h5py import h5py
from .roots import DataRoots


def _existing(name: str | bytes, env: str, h5_real: Path, roots: DataRoots) -> list[Path]:
    """Real paths HDF5 may open for a file name stored in ``h5_real`` (it tries several bases)."""
    raw = Path(os.fsdecode(name))
    bases = [Path(os.getcwd()), roots.cwd, h5_real.parent]
    prefix = os.environ.get(env)
    if prefix:
        bases += [Path(p.replace("${ORIGIN}", str(h5_real.parent))) for p in prefix.split(os.pathsep) if p]
    candidates = [raw] if raw.is_absolute() else []
    candidates += [base / raw for base in bases] + [base / raw.name for base in bases]
    found = []
    for cand in candidates:
        try:
            real = cand.resolve()
            if real.exists():
                found.append(real)
        except (OSError, RuntimeError):
            continue
    return found


def outside_files(dset: Any, h5_real: Path, roots: DataRoots, seen: set | None = None) -> list[str]:
    """Files other than the HDF5 file itself that reading ``dset`` could open, outside the roots.

    External raw storage is looked up relative to the process cwd (or
    HDF5_EXTFILE_PREFIX); virtual-dataset sources relative to the file's directory,
    the cwd or HDF5_VDS_PREFIX. Every candidate that exists must be in the roots,
    and a virtual source is followed to what it names, transitively: its path may
    cross an external or soft link, or name another virtual dataset (the source
    file "." is this same file).
    """
    seen = set() if seen is None else seen
    bad: list[str] = []
    for entry in dset.external or ():
        if any(not roots.contains(real) and real != h5_real
               for real in _existing(entry[0], "HDF5_EXTFILE_PREFIX", h5_real, roots)):
            bad.append(os.fsdecode(entry[0]))
    if not dset.is_virtual:
        return bad
    for m in dset.virtual_sources():
        if m.file_name == ".":
            bad += _path_leaks(dset.file, m.dset_name, h5_real, roots, seen)
            continue
        reals = _existing(m.file_name, "HDF5_VDS_PREFIX", h5_real, roots)
        if any(not roots.contains(real) for real in reals):
            bad.append(os.fsdecode(m.file_name))
            continue
        for real in reals:
            bad += _in_file(real, m.dset_name, roots, seen)
    return bad


def _in_file(real: Path, path: str, roots: DataRoots, seen: set) -> list[str]:
    try:
        with h5py().File(real, "r") as other:
            return _path_leaks(other, path, real, roots, seen)
    except OSError:
        return []  # not HDF5 or unreadable: HDF5 cannot read data through it either


def _path_leaks(h5file: Any, path: str, h5_real: Path, roots: DataRoots, seen: set) -> list[str]:
    """Files outside the roots that HDF5 would open to read ``path`` inside ``h5file``."""
    lib = h5py()
    if (h5_real, path) in seen:  # link cycles end here
        return []
    seen.add((h5_real, path))
    parts = [p for p in path.split("/") if p]
    here = ""
    for i, part in enumerate(parts):
        here = f"{here}/{part}"
        rest = "/".join(parts[i + 1 :])
        try:
            link = h5file.get(here, getlink=True)
        except (KeyError, OSError, ValueError):
            return []
        if isinstance(link, lib.ExternalLink):
            reals = _existing(link.filename, "HDF5_EXT_PREFIX", h5_real, roots)
            if any(not roots.contains(real) for real in reals):
                return [link.filename]
            return [leak for real in reals for leak in _in_file(real, f"{link.path}/{rest}", roots, seen)]
        if isinstance(link, lib.SoftLink):
            target = link.path if link.path.startswith("/") else f"{here.rsplit('/', 1)[0]}/{link.path}"
            return _path_leaks(h5file, f"{target}/{rest}", h5_real, roots, seen)
    obj = h5file.get(path) if parts else None
    if isinstance(obj, lib.Dataset):
        return outside_files(obj, h5_real, roots, seen)
    return []
