"""Private files written once: secrets that several processes may race to create."""

from __future__ import annotations

import os
from pathlib import Path


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
