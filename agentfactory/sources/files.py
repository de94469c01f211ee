"""``file::`` and ``folder::``: regular files inside the data roots, streamed.

A folder is validated whole (every entry, every symlink) before any blob is
returned, so a refusal means nothing was produced and the store never holds half
a folder. Reading opens each file again without following a final symlink: one
planted after validation could lead out of the roots.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from agentfactory.core.errors import SourceError, SourceNotFound, UnsupportedSource

from . import blobs
from .blobs import SourceBlob, checked
from .roots import DataRoots, stat_existing

#: A folder entry that passed validation: its blob name, real path and announced size.
Entry = tuple[str, Path, int]


def check_name(name: str) -> None:
    """Blob names go to IOWarp and memcached as UTF-8: refuse undecodable file names early."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsupportedSource(
            f"file name {name.encode('utf-8', 'surrogateescape')!r} is not valid UTF-8",
            hint="rename the file",
        ) from None


def open_regular(real: Path, label: str) -> int:
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


def check_regular(real: Path, label: str, st: os.stat_result, *, hint_dir: str) -> None:
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
    os.close(open_regular(real, label))


def file_blob(name: str, real: Path, size: int, label: str) -> SourceBlob:
    """A blob that re-opens ``real`` on every read and fails if it no longer holds ``size`` bytes."""

    def chunks() -> Iterator[bytes]:
        def pieces() -> Iterator[bytes]:
            fd = open_regular(real, label)
            with open(fd, "rb", buffering=0) as handle:
                # Read one byte past the announced size so growth is detected.
                remaining = size + 1
                while remaining > 0:
                    piece = handle.read(min(blobs.CHUNK_BYTES, remaining))
                    if not piece:
                        return
                    remaining -= len(piece)
                    yield piece
                    del piece

        return checked(pieces(), size, label)

    return SourceBlob(name=name, size=size, metadata={}, chunks=chunks)


def resolve_file(rest: str, roots: DataRoots) -> list[SourceBlob]:
    """``file::PATH``: one blob named after the file."""
    real = roots.resolve(rest)
    st = stat_existing(real, rest, real)
    label = f"file::{rest}"
    check_regular(real, label, st, hint_dir=f"use folder::{rest} to store every file under it")
    name = Path(rest).name or real.name
    return [file_blob(name, real, st.st_size, label)]


def resolve_folder(rest: str, roots: DataRoots) -> list[SourceBlob]:
    """``folder::PATH``: one blob per regular file below, named by its path relative to the folder."""
    top = roots.resolve(rest)
    st = stat_existing(top, rest, top)
    if not stat.S_ISDIR(st.st_mode):
        raise UnsupportedSource(f"folder::{rest} is not a directory", hint=f"use file::{rest} for a single file")
    entries = sorted(_walk(top, rest, roots), key=lambda e: e[0])
    return [file_blob(name, real, size, f"{name!r} in folder::{rest}") for name, real, size in entries]


def _walk(top: Path, rest: str, roots: DataRoots) -> list[Entry]:
    """Every regular file under ``top``, each checked, or the error for the first that is not.

    Walk by hand rather than os.walk: every entry, symlink or not, is checked
    against the roots, and directory symlinks are followed only when they stay
    inside them (with a cycle check on the real paths of the current branch).
    """
    entries: list[Entry] = []
    stack: list[tuple[Path, str, frozenset[Path]]] = [(top, "", frozenset({top}))]
    while stack:
        directory, prefix, ancestors = stack.pop()
        for child in _listing(directory, prefix or rest):
            rel = f"{prefix}{child.name}"
            check_name(rel)
            real, cst = _follow(child, rel, rest, roots)
            if stat.S_ISDIR(cst.st_mode):
                if real in ancestors:
                    raise UnsupportedSource(
                        f"{rel!r} in folder::{rest} is a symlink to a folder that contains it",
                        hint="the folder would be endless; remove the link",
                    )
                stack.append((real, rel + "/", ancestors | {real}))
                continue
            check_regular(real, f"{rel!r} in folder::{rest}", cst, hint_dir="")
            entries.append((rel, real, cst.st_size))
    return entries


def _listing(directory: Path, shown: str) -> list[os.DirEntry[str]]:
    """The entries of one directory, by name; ``shown`` is how errors name it."""
    try:
        with os.scandir(directory) as listing:
            return sorted(listing, key=lambda e: e.name)
    except PermissionError:
        raise UnsupportedSource(f"folder {shown!r} cannot be listed (permission denied)") from None
    except OSError as exc:
        raise UnsupportedSource(f"folder {shown!r} cannot be listed: {exc.strerror or exc}") from None


def _follow(child: os.DirEntry[str], rel: str, rest: str, roots: DataRoots) -> tuple[Path, os.stat_result]:
    """The real path and stat of a folder entry; a symlink must stay inside the roots."""
    path = Path(child.path)
    real = path
    if child.is_symlink():
        try:
            real = path.resolve()
        except RuntimeError:
            raise UnsupportedSource(f"{rel!r} in folder::{rest} is a symlink loop") from None
        if not roots.contains(real):
            raise roots.refusal(f"{rel!r} in folder::{rest}", "is a symlink that leads")
    try:
        return real, real.stat()
    except FileNotFoundError:
        raise SourceNotFound(
            f"{rel!r} in folder::{rest} is a dangling symlink",
            hint="remove it or point it at an existing file",
        ) from None
    except OSError as exc:
        raise UnsupportedSource(f"cannot access {rel!r} in folder::{rest}: {exc.strerror or exc}") from None
