"""Source URIs -> named blobs, streamed.

`assimilate` takes a source URI (``file::``, ``folder::``, ``hdf5::``, ``mem::``) and
stores every blob it names into one tag. This module turns the URI into those blobs
and nothing else: it never writes anywhere, and it never holds a whole large payload
in memory. Each `SourceBlob` carries a re-iterable ``chunks()`` that streams its
payload in pieces of at most `CHUNK_BYTES`, so a 4 GiB HDF5 dataset needs tens of
MiB of RAM, not 4 GiB.

Two rules shape the code:

* **Paths stay inside the data roots** (ARCHITECTURE.md). `DataRoots.resolve` follows
  every symlink (``Path.resolve``) and checks the *real* path against the *real*
  roots, so ``..``, absolute paths and symlinks that lead out are all refused with
  `UnsafePath`. HDF5 datasets whose storage lives in other files (external storage,
  virtual datasets) are held to the same rule, since HDF5 would otherwise read those
  files for us.
* **Nothing half-happens.** `resolve_source` validates the whole source (every
  folder entry, every dataset) *before* it returns, so a refusal means no blob was
  produced at all, and the caller never stores half a folder. The returned iterator
  then only streams. If a file changes between validation and streaming so that its
  bytes no longer match the announced size, streaming raises `SourceError` instead
  of handing out a partial or stale blob.
"""

from __future__ import annotations

import errno
import itertools
import json
import math
import os
import stat
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agentfactory.core.errors import (
    IntegrityError,
    SourceError,
    SourceNotFound,
    UnsafePath,
    UnsupportedSource,
)
from agentfactory.storage.names import check_name

__all__ = [
    "CHUNK_BYTES",
    "SCHEMES",
    "DataRoots",
    "SourceBlob",
    "decode_blob",
    "resolve_source",
    "split_uri",
]

#: Largest piece `SourceBlob.chunks` yields. Read at streaming time (not import
#: time) so tests and tuning code can lower it.
CHUNK_BYTES = 16 * 1024 * 1024

SCHEMES = ("file", "folder", "hdf5", "mem")

# JSON-encoded (object) datasets are sliced by element count, not bytes: the size of
# a variable-length element is unknown until it is read.
_JSON_ELEMENTS_PER_SLICE = 4096

_URI_HINT = "write file::PATH, folder::PATH, hdf5::PATH or mem::TAG/BLOB"

MemReader = Callable[[str, str], "bytes | None"]


# -- blobs --------------------------------------------------------------------
@dataclass(frozen=True)
class SourceBlob:
    """One named payload of a source, ready to be stored in a tag.

    ``chunks`` is a factory rather than an iterator so the store can retry or read
    twice (write-through to IOWarp, then to the cache) without buffering the payload:
    each call opens the source again and streams it from the start. Pieces are never
    empty and never larger than `CHUNK_BYTES`; an empty payload yields no piece.
    """

    name: str
    size: int
    metadata: dict[str, Any]
    chunks: Callable[[], Iterator[bytes]] = field(repr=False, compare=False)

    def read(self) -> bytes:
        """The whole payload in memory: for small blobs and tests, not for big data."""
        return b"".join(self.chunks())


# -- URIs ---------------------------------------------------------------------
def split_uri(uri: str) -> tuple[str, str]:
    """Split ``scheme::rest`` into ``(scheme, rest)``, the scheme lower-cased.

    Only the first ``::`` separates, so paths may contain ``::``, spaces and any
    Unicode; ``rest`` is returned untouched (a path may legitimately start or end
    with a space).
    """
    if not isinstance(uri, str):
        raise UnsupportedSource(f"a source URI must be a string, not {type(uri).__name__}", hint=_URI_HINT)
    scheme, sep, rest = uri.partition("::")
    if not sep:
        raise UnsupportedSource(f"source {uri!r} has no scheme", hint=_URI_HINT)
    scheme = scheme.strip().lower()
    if scheme not in SCHEMES:
        raise UnsupportedSource(f"unknown source scheme {scheme!r} in {uri!r}", hint=_URI_HINT)
    return scheme, rest


# -- data roots ---------------------------------------------------------------
class DataRoots:
    """The directories sources may be read from, and the cwd relative paths start at.

    Roots and cwd are resolved once, at construction, so a symlinked root (say
    ``/data -> /mnt/nvme/data``) is compared by its real location. With no roots
    given, the working directory is the only root. An empty sequence allows
    nothing (useful when only ``mem::`` sources are wanted).
    """

    def __init__(self, roots: Sequence[Path | str] | None = None, *, cwd: Path | str | None = None) -> None:
        self.cwd: Path = Path(os.getcwd() if cwd is None else cwd).expanduser().resolve()
        if roots is None:
            self.roots: tuple[Path, ...] = (self.cwd,)
        else:
            self.roots = tuple(dict.fromkeys((self.cwd / Path(r).expanduser()).resolve() for r in roots))

    def __repr__(self) -> str:
        return f"DataRoots({[str(r) for r in self.roots]!r}, cwd={str(self.cwd)!r})"

    def contains(self, real_path: Path) -> bool:
        """Whether an already-resolved path lies inside (or is) one of the roots.

        `Path.is_relative_to` compares whole components, so root ``/x/data`` does not
        admit ``/x/data2`` (a string prefix test would).
        """
        return any(real_path.is_relative_to(root) for root in self.roots)

    def _refuse(self, subject: str, what: str = "resolves") -> UnsafePath:
        roots = ", ".join(str(r) for r in self.roots) or "none"
        return UnsafePath(
            f"{subject} {what} outside the allowed data roots",
            hint=f"allowed roots: {roots}; add a root or copy the data inside one",
        )

    def resolve(self, path_str: str | os.PathLike[str], *, must_exist: bool = True) -> Path:
        """The real path of ``path_str``, or an error saying why it cannot be read.

        Safety is checked before existence, so a path outside the roots is refused
        with `UnsafePath` whether or not it exists (no probing of the filesystem
        outside the roots). Relative paths start at ``cwd``; ``~`` is expanded.
        """
        text = os.fspath(path_str)
        if not isinstance(text, str):
            raise UnsupportedSource(f"path {text!r} must be text, not bytes")
        if not text:
            raise UnsupportedSource("the source names no path", hint="use . for the working directory")
        if "\x00" in text:
            raise UnsupportedSource(f"path {text!r} contains a NUL character")
        try:
            os.fsencode(text)  # file names from os.listdir (surrogateescape) pass; a lone surrogate does not
        except UnicodeEncodeError:
            raise UnsupportedSource(f"path {text!r} is not valid text (a lone surrogate)", hint="retype the path") from None
        try:
            path = Path(text).expanduser()
        except RuntimeError as exc:  # ~user that does not exist
            raise UnsupportedSource(f"cannot expand {text!r}: {exc}") from None
        if not path.is_absolute():
            path = self.cwd / path
        try:
            real = path.resolve()  # follows every symlink, collapses `..` after that
        except RuntimeError:  # Python 3.11 reports symlink loops this way
            raise UnsupportedSource(f"{text!r} is a symlink loop") from None
        except OSError as exc:
            raise UnsupportedSource(f"cannot resolve {text!r}: {exc.strerror or exc}") from None
        if not self.contains(real):
            raise self._refuse(repr(text))
        if must_exist:
            _stat_existing(real, text, path)
        return real


def _stat_existing(real: Path, text: str, given: Path) -> os.stat_result:
    """stat() the resolved path, turning OS errors into source errors."""
    try:
        return real.stat()
    except (FileNotFoundError, NotADirectoryError):
        if given.is_symlink():
            raise SourceNotFound(f"{text!r} is a dangling symlink", hint="its target does not exist") from None
        raise SourceNotFound(f"{text!r} does not exist") from None
    except PermissionError:
        raise UnsupportedSource(f"{text!r} cannot be accessed (permission denied)") from None
    except OSError as exc:
        raise UnsupportedSource(f"cannot access {text!r}: {exc.strerror or exc}") from None


# -- streaming helpers --------------------------------------------------------
def _limit_pieces(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """Re-cut pieces so none is empty or larger than CHUNK_BYTES.

    Generators in this module drop their reference to a piece once it is handed
    out (``del``): otherwise the previous piece stays alive while the next one is
    read, and the streaming peak grows by one chunk per generator layer.
    """
    limit = CHUNK_BYTES
    for piece in pieces:
        if len(piece) <= limit:
            if piece:
                yield piece
            del piece
            continue
        view = memoryview(piece)
        del piece
        for start in range(0, len(view), limit):
            yield bytes(view[start : start + limit])
        view.release()


def _checked(pieces: Iterable[bytes], size: int, label: str) -> Iterator[bytes]:
    """Yield pieces, failing if they add up to anything but ``size`` bytes.

    The size was announced at validation; a source that changed since must not
    become a blob that is silently truncated or longer than the store expects.
    """
    total = 0
    for piece in _limit_pieces(pieces):
        total += len(piece)
        if total > size:
            break
        yield piece
        del piece
    if total != size:
        raise SourceError(
            f"{label} changed while it was being read ({size} bytes announced, "
            f"{'more' if total > size else total} read)",
            hint="assimilate it again once it is no longer being written",
        )


def _open_regular(real: Path, label: str) -> int:
    """Open a file for reading without following a final symlink or blocking on a FIFO.

    Validation already resolved every symlink, so a symlink found here was planted
    after the check (it could lead out of the roots); O_NONBLOCK keeps a file swapped
    for a FIFO from hanging the caller.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(real, flags)
    except FileNotFoundError:
        raise SourceNotFound(f"{label} does not exist") from None
    except PermissionError:
        raise UnsupportedSource(f"{label} is not readable (permission denied)") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SourceError(
                f"{label} became a symlink after it was checked", hint="assimilate it again"
            ) from None
        raise UnsupportedSource(f"{label} cannot be opened: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise UnsupportedSource(f"{label} is not a regular file")
    return fd


def _file_blob(name: str, real: Path, size: int, label: str) -> SourceBlob:
    def chunks() -> Iterator[bytes]:
        def pieces() -> Iterator[bytes]:
            fd = _open_regular(real, label)
            with open(fd, "rb", buffering=0) as handle:
                # Read one byte past the announced size so growth is detected.
                remaining = size + 1
                while remaining > 0:
                    piece = handle.read(min(CHUNK_BYTES, remaining))
                    if not piece:
                        return
                    remaining -= len(piece)
                    yield piece
                    del piece

        return _checked(pieces(), size, label)

    return SourceBlob(name=name, size=size, metadata={}, chunks=chunks)


def _check_regular(real: Path, label: str, st: os.stat_result, *, hint_dir: str) -> None:
    """A source file must be a readable regular file; say what it is otherwise."""
    if stat.S_ISDIR(st.st_mode):
        raise UnsupportedSource(f"{label} is a directory", hint=hint_dir)
    if not stat.S_ISREG(st.st_mode):
        kind = (
            "a FIFO" if stat.S_ISFIFO(st.st_mode)
            else "a socket" if stat.S_ISSOCK(st.st_mode)
            else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "not a regular file"
        )
        raise UnsupportedSource(f"{label} is {kind}, not a regular file", hint="only regular files can be stored")
    # Open once to prove readability: os.access() misjudges ACLs, setuid and root.
    os.close(_open_regular(real, label))


# -- file:: -------------------------------------------------------------------
def _resolve_file(rest: str, roots: DataRoots) -> list[SourceBlob]:
    real = roots.resolve(rest)
    st = _stat_existing(real, rest, real)
    label = f"file::{rest}"
    _check_regular(real, label, st, hint_dir=f"use folder::{rest} to store every file under it")
    name = Path(rest).name or real.name
    return [_file_blob(name, real, st.st_size, label)]


# -- folder:: -----------------------------------------------------------------
def _resolve_folder(rest: str, roots: DataRoots) -> list[SourceBlob]:
    top = roots.resolve(rest)
    st = _stat_existing(top, rest, top)
    if not stat.S_ISDIR(st.st_mode):
        raise UnsupportedSource(f"folder::{rest} is not a directory", hint=f"use file::{rest} for a single file")

    entries: list[tuple[str, Path, int]] = []
    # Walk by hand rather than os.walk: every entry, symlink or not, is checked
    # against the roots, and directory symlinks are followed only when they stay
    # inside them (with a cycle check on the real paths of the current branch).
    stack: list[tuple[Path, str, frozenset[Path]]] = [(top, "", frozenset({top}))]
    while stack:
        directory, prefix, ancestors = stack.pop()
        try:
            with os.scandir(directory) as listing:
                children = sorted(listing, key=lambda e: e.name)
        except PermissionError:
            raise UnsupportedSource(f"folder {prefix or rest!r} cannot be listed (permission denied)") from None
        except OSError as exc:
            raise UnsupportedSource(f"folder {prefix or rest!r} cannot be listed: {exc.strerror or exc}") from None
        for child in children:
            rel = f"{prefix}{child.name}"
            _check_name(rel)
            path = Path(child.path)
            real = path
            if child.is_symlink():
                try:
                    real = path.resolve()
                except RuntimeError:
                    raise UnsupportedSource(f"{rel!r} in folder::{rest} is a symlink loop") from None
                if not roots.contains(real):
                    raise roots._refuse(f"{rel!r} in folder::{rest}", "is a symlink that leads")
            try:
                cst = real.stat()
            except FileNotFoundError:
                raise SourceNotFound(
                    f"{rel!r} in folder::{rest} is a dangling symlink",
                    hint="remove it or point it at an existing file",
                ) from None
            except OSError as exc:
                raise UnsupportedSource(
                    f"cannot access {rel!r} in folder::{rest}: {exc.strerror or exc}"
                ) from None
            if stat.S_ISDIR(cst.st_mode):
                if real in ancestors:
                    raise UnsupportedSource(
                        f"{rel!r} in folder::{rest} is a symlink to a folder that contains it",
                        hint="the folder would be endless; remove the link",
                    )
                stack.append((real, rel + "/", ancestors | {real}))
                continue
            label = f"{rel!r} in folder::{rest}"
            _check_regular(real, label, cst, hint_dir="")
            entries.append((rel, real, cst.st_size))

    entries.sort(key=lambda e: e[0])
    return [_file_blob(name, real, size, f"{name!r} in folder::{rest}") for name, real, size in entries]


def _check_name(name: str) -> None:
    """Blob names go to IOWarp and memcached as UTF-8: refuse undecodable file names early."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsupportedSource(
            f"file name {name.encode('utf-8', 'surrogateescape')!r} is not valid UTF-8",
            hint="rename the file",
        ) from None


# -- hdf5:: -------------------------------------------------------------------
def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a hard dependency
        raise UnsupportedSource("hdf5:: sources need h5py", hint="pip install h5py") from None
    return h5py


def _dtype_to_json(dt: np.dtype) -> str | list:
    """dtype.str for plain dtypes, the (JSON-ised) descr for structured ones.

    descr keeps field offsets and padding, which `numpy.lib.format.descr_to_dtype`
    rebuilds, so the raw bytes decode to the same records.
    """
    if dt.fields is None and dt.subdtype is None:
        return dt.str
    return json.loads(json.dumps(_plain_dtype(dt).descr))


def _plain_dtype(dt: np.dtype) -> np.dtype:
    """The same memory layout without h5py's dtype metadata (which would leak into descr)."""
    if dt.subdtype is not None:
        base, shape = dt.subdtype
        return np.dtype((_plain_dtype(base), shape))
    if dt.fields is None:
        return np.dtype(dt.str)
    return np.dtype(
        {
            "names": list(dt.names),
            "formats": [_plain_dtype(dt.fields[n][0]) for n in dt.names],
            "offsets": [dt.fields[n][1] for n in dt.names],
            "itemsize": dt.itemsize,
        }
    )


def _dtype_from_json(spec: str | list) -> np.dtype:
    if isinstance(spec, str):
        return np.dtype(spec)

    def entry(item: list) -> tuple:
        name = tuple(item[0]) if isinstance(item[0], list) else item[0]
        fmt = [entry(x) for x in item[1]] if isinstance(item[1], list) else item[1]
        return (name, fmt) if len(item) == 2 else (name, fmt, tuple(item[2]))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.lib.format.descr_to_dtype([entry(x) for x in spec])


def _jsonable(value: Any, h5file: Any = None) -> Any:
    """A JSON-serialisable stand-in for an attribute or object-dataset value."""
    h5py = _h5py()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return _jsonable(value[()], h5file)
        return [_jsonable(v, h5file) for v in value.tolist()]
    if isinstance(value, np.generic):
        return _jsonable(value.item(), h5file)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "surrogateescape")
    if isinstance(value, complex):
        return [value.real, value.imag]
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, h5file) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, h5file) for k, v in value.items()}
    if isinstance(value, h5py.Empty):
        return None
    if isinstance(value, h5py.h5r.Reference):
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
            attrs[key] = _jsonable(obj.attrs[key], h5file)
        except Exception:  # an attribute type h5py cannot read must not sink the dataset
            skipped.append(key)
    return attrs, skipped


def _index_blocks(shape: tuple[int, ...], itemsize: int, budget: int, align: int = 1) -> Iterator[tuple]:
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


def _outside_files(dset: Any, h5_real: Path, roots: DataRoots, seen: set | None = None) -> list[str]:
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
    h5py = _h5py()
    try:
        with h5py.File(real, "r") as other:
            return _path_leaks(other, path, real, roots, seen)
    except OSError:
        return []  # not HDF5 or unreadable: HDF5 cannot read data through it either


def _path_leaks(h5file: Any, path: str, h5_real: Path, roots: DataRoots, seen: set) -> list[str]:
    """Files outside the roots that HDF5 would open to read ``path`` inside ``h5file``."""
    h5py = _h5py()
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
        if isinstance(link, h5py.ExternalLink):
            reals = _existing(link.filename, "HDF5_EXT_PREFIX", h5_real, roots)
            if any(not roots.contains(real) for real in reals):
                return [link.filename]
            return [leak for real in reals for leak in _in_file(real, f"{link.path}/{rest}", roots, seen)]
        if isinstance(link, h5py.SoftLink):
            target = link.path if link.path.startswith("/") else f"{here.rsplit('/', 1)[0]}/{link.path}"
            return _path_leaks(h5file, f"{target}/{rest}", h5_real, roots, seen)
    obj = h5file.get(path) if parts else None
    if isinstance(obj, h5py.Dataset):
        return _outside_files(obj, h5_real, roots, seen)
    return []


def _dataset_blob(dset: Any, h5file: Any, h5_real: Path, label: str) -> SourceBlob:
    h5py = _h5py()
    h5path = dset.name
    name = h5path.lstrip("/")
    dt = dset.dtype
    shape = dset.shape  # None for an HDF5 null dataspace (h5py.Empty)
    attrs, skipped = _attrs(dset, h5file)
    meta: dict[str, Any] = {"kind": "hdf5", "attrs": attrs}
    if skipped:
        meta["attrs_skipped"] = skipped

    # Subarray dtypes ('(3,)f8') come back from h5py folded into the array shape;
    # describe the blob the way it reads, so frombuffer+reshape rebuilds it.
    base, sub = (dt.subdtype if dt.subdtype is not None else (dt, ()))
    enum = h5py.check_enum_dtype(dt)
    if enum is not None:
        meta["enum"] = {str(k): int(v) for k, v in enum.items()}

    if shape is None:
        meta.update(dtype=_dtype_to_json(base), shape=None, encoding="raw")
        return SourceBlob(name=name, size=0, metadata=_ordered(meta), chunks=lambda: iter(()))

    full_shape = tuple(shape) + tuple(sub)
    if not base.hasobject:
        meta.update(dtype=_dtype_to_json(base), shape=list(full_shape), encoding="raw")
        size = base.itemsize * math.prod(full_shape)
        align = dset.chunks[0] if dset.chunks else 1

        def raw_pieces(d: Any) -> Iterator[bytes]:
            for sel in _index_blocks(full_shape, base.itemsize, CHUNK_BYTES, align):
                # One expression so the array is freed as soon as its bytes exist.
                yield np.asarray(d[sel if sel else ...]).tobytes()

        make = raw_pieces
    else:
        meta.update(dtype=_dtype_to_json(np.dtype(object)) if base.fields is None else _dtype_to_json(base),
                    shape=list(full_shape), encoding="json")
        is_str = h5py.check_string_dtype(base) is not None
        vlen = h5py.check_vlen_dtype(base)  # the element dtype of a vlen sequence (str/bytes for strings)
        if vlen is not None and not is_str:
            meta["vlen_dtype"] = _dtype_to_json(np.dtype(vlen))

        def json_pieces(d: Any) -> Iterator[bytes]:
            src = d.asstr(errors="surrogateescape") if is_str else d
            if not full_shape:
                yield json.dumps(_jsonable(src[()], d.file)).encode("ascii")
                return
            yield b"["
            first = True
            for sel in _index_blocks(full_shape, 1, _JSON_ELEMENTS_PER_SLICE):
                block = np.asarray(src[sel]).reshape(-1)
                text = ",".join(json.dumps(_jsonable(v, d.file)) for v in block)
                if text:
                    yield (text if first else "," + text).encode("ascii")
                    first = False
            yield b"]"

        make = json_pieces
        # The byte size of JSON is only known once encoded: count it now, in a
        # streaming pass, so `size` is exact before anything is stored.
        size = sum(len(p) for p in json_pieces(dset))

    expected = (dt, shape)

    def chunks() -> Iterator[bytes]:
        def pieces() -> Iterator[bytes]:
            try:
                with h5py.File(h5_real, "r") as f:
                    d = f.get(h5path)
                    if not isinstance(d, h5py.Dataset) or (d.dtype, d.shape) != expected:
                        raise SourceError(f"{label}: dataset {h5path!r} changed or vanished since it was listed")
                    yield from make(d)
            except SourceError:
                raise
            except OSError as exc:
                raise UnsupportedSource(f"{label}: cannot read dataset {h5path!r}: {exc}") from None

        return _checked(pieces(), size, f"{label} dataset {h5path!r}")

    return SourceBlob(name=name, size=size, metadata=_ordered(meta), chunks=chunks)


def _ordered(meta: dict[str, Any]) -> dict[str, Any]:
    """The documented keys first, in a fixed order, so metadata reads the same everywhere."""
    keys = ("kind", "dtype", "shape", "encoding", "attrs")
    return {k: meta[k] for k in keys} | {k: v for k, v in meta.items() if k not in keys}


def _check_filters(dset: Any, label: str) -> None:
    """Refuse datasets compressed with a filter this HDF5 build lacks, before streaming."""
    h5py = _h5py()
    plist = dset.id.get_create_plist()
    for i in range(plist.get_nfilters()):
        info = plist.get_filter(i)
        filter_id, filter_name = info[0], info[3]
        if not h5py.h5z.filter_avail(filter_id):
            raise UnsupportedSource(
                f"{label}: dataset {dset.name!r} needs HDF5 filter {os.fsdecode(filter_name) or filter_id}, "
                "which is not installed",
                hint="pip install hdf5plugin and import it before assimilating",
            )


def _resolve_hdf5(rest: str, roots: DataRoots) -> list[SourceBlob]:
    h5py = _h5py()
    real = roots.resolve(rest)
    st = _stat_existing(real, rest, real)
    label = f"hdf5::{rest}"
    _check_regular(real, label, st, hint_dir=f"point hdf5:: at one .h5 file, or use folder::{rest}")
    if not h5py.is_hdf5(real):
        raise UnsupportedSource(f"{label} is not an HDF5 file", hint=f"use file::{rest} to store it as bytes")
    try:
        h5file = h5py.File(real, "r")
    except OSError as exc:
        raise UnsupportedSource(f"{label} cannot be opened: {exc}") from None
    with h5file:
        datasets: list[Any] = []
        # visititems walks objects through hard links only: soft and external links
        # are not followed, so an external link can never pull in a file outside
        # the roots (and a dataset linked twice is stored once).
        h5file.visititems(lambda _n, obj: datasets.append(obj) if isinstance(obj, h5py.Dataset) else None)
        blobs: list[SourceBlob] = []
        for dset in sorted(datasets, key=lambda d: d.name):
            outside = _outside_files(dset, real, roots)
            if outside:
                raise roots._refuse(
                    f"{label}: dataset {dset.name!r}", f"reads data from {', '.join(map(repr, outside))},"
                )
            _check_filters(dset, label)
            _check_name(dset.name)
            try:
                blobs.append(_dataset_blob(dset, h5file, real, label))
            except OSError as exc:
                raise UnsupportedSource(f"{label}: cannot read dataset {dset.name!r}: {exc}") from None
    return blobs


# -- mem:: --------------------------------------------------------------------
def _resolve_mem(rest: str, mem_reader: MemReader | None) -> list[SourceBlob]:
    tag, sep, blob = rest.partition("/")
    if not sep or not tag or not blob:
        raise UnsupportedSource(f"mem::{rest} does not name a blob", hint="write mem::TAG/BLOB")
    check_name(tag, "tag")
    check_name(blob)
    if mem_reader is None:
        raise UnsupportedSource(
            "mem:: sources need a cache to read from", hint="run through the store, or pass mem_reader"
        )
    data = mem_reader(tag, blob)
    if data is None:
        raise SourceNotFound(
            f"blob {blob!r} of tag {tag!r} is not in the cache", hint=f"retrieve {blob} from {tag} first"
        )
    data = bytes(data)

    def chunks() -> Iterator[bytes]:
        return _limit_pieces([data])

    return [SourceBlob(name=blob, size=len(data), metadata={}, chunks=chunks)]


# -- entry points -------------------------------------------------------------
def resolve_source(uri: str, roots: DataRoots, *, mem_reader: MemReader | None = None) -> Iterator[SourceBlob]:
    """The blobs a source URI names, validated up front, streamed on demand.

    Every check (scheme, roots, existence, readability, every folder entry and every
    HDF5 dataset) runs when this function is *called*: errors are raised here and
    the returned iterator only hands out blobs, so a refused source never yields a
    first blob. An empty folder (or an HDF5 file without datasets) yields nothing;
    the caller decides whether that is an error.

    ``mem_reader(tag, blob)`` reads the cache tier only and returns None on a miss.
    """
    scheme, rest = split_uri(uri)
    if scheme == "file":
        blobs = _resolve_file(rest, roots)
    elif scheme == "folder":
        blobs = _resolve_folder(rest, roots)
    elif scheme == "hdf5":
        blobs = _resolve_hdf5(rest, roots)
    else:
        blobs = _resolve_mem(rest, mem_reader)
    return iter(blobs)


def decode_blob(data: bytes | bytearray | memoryview, metadata: dict[str, Any], *, writable: bool = True) -> Any:
    """Turn stored bytes back into what the source held.

    Plain blobs (no ``kind``) come back as bytes. HDF5 datasets come back as a numpy
    array of the original dtype and shape (a numpy scalar for a scalar dataset, as
    ``dataset[()]`` gives; ``h5py.Empty`` for a null dataspace). JSON-encoded
    datasets (variable-length strings, sequences, references) come back as an
    object array of the stored Python values, or the value itself when scalar.

    Read-only buffers (``bytes``) are copied so the array is writable; pass a
    ``bytearray`` (no copy) or ``writable=False`` (a read-only view) to avoid
    doubling the memory of a large array.
    """
    if not metadata or metadata.get("kind") != "hdf5":
        return bytes(data)
    encoding = metadata.get("encoding", "raw")
    shape = metadata.get("shape")
    if encoding == "raw":
        dtype = _dtype_from_json(metadata["dtype"])
        if shape is None:
            return _h5py().Empty(dtype)
        shape = tuple(shape)
        expected = dtype.itemsize * math.prod(shape)
        if len(data) != expected:
            raise IntegrityError(
                f"blob holds {len(data)} bytes, but a {dtype} array of shape {shape} needs {expected}"
            )
        arr = np.frombuffer(data, dtype=dtype).reshape(shape)
        if writable and not arr.flags.writeable:
            arr = arr.copy()
        return arr[()] if not shape else arr
    if encoding == "json":
        values = json.loads(bytes(data).decode("ascii"))
        vlen = metadata.get("vlen_dtype")
        convert = (lambda v: np.asarray(v, dtype=_dtype_from_json(vlen))) if vlen else (lambda v: v)
        if not shape:
            return convert(values)
        shape = tuple(shape)
        if len(values) != math.prod(shape):
            raise IntegrityError(f"blob holds {len(values)} values, but shape {shape} needs {math.prod(shape)}")
        out = np.empty(shape, dtype=object)
        flat = out.reshape(-1)
        for i, v in enumerate(values):
            flat[i] = convert(v)
        return out
    raise UnsupportedSource(f"unknown blob encoding {encoding!r}", hint="was it stored by a newer AgentFactory?")
