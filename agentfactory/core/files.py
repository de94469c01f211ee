"""Files that other processes read while we write them: whole or not at all.

Secrets several processes may race to create are written once; state, blueprints
and trajectories are replaced atomically.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def write_private_once(path: Path, data: bytes | str) -> None:
    """Create `path` with mode 0600 from the first byte on, unless it already exists.

    Written to a temporary name and then hard-linked, not renamed: a process that
    got there first keeps its file, so every process ends up reading the same secret.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data.encode() if isinstance(data, str) else data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_write(path: str | os.PathLike[str], mode: int = 0o644) -> Iterator[BinaryIO]:
    """Write `path` through a temporary file in the same folder, then `os.replace` it.

    A reader (another kernel, a registry scan in a loop) sees the old file or the
    new one, never half of one; a failure inside the block leaves no temporary
    file behind. The temporary name starts with "." and ends in ".tmp", so
    folder scans skip it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
