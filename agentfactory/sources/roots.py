"""Where sources may be read from: the allowed data roots and path resolution.

Paths stay inside the data roots (ARCHITECTURE.md). `DataRoots.resolve` follows
every symlink (``Path.resolve``) and checks the *real* path against the *real*
roots, so ``..``, absolute paths and symlinks that lead out are all refused with
`UnsafePath`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from agentfactory.core.errors import SourceNotFound, UnsafePath, UnsupportedSource


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

    def refusal(self, subject: str, what: str = "resolves") -> UnsafePath:
        """The error for something that leads outside the roots, naming the roots a user may use."""
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
            raise self.refusal(repr(text))
        if must_exist:
            stat_existing(real, text, path)
        return real


def stat_existing(real: Path, text: str, given: Path) -> os.stat_result:
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
