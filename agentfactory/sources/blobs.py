"""The unit a source hands to the store: a named payload that streams in bounded pieces.

Every source, whatever its scheme, ends up as `SourceBlob`s whose ``chunks()``
never yields a piece larger than `CHUNK_BYTES`, so a 4 GiB HDF5 dataset needs
tens of MiB of RAM, not 4 GiB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from agentfactory.core.errors import SourceError

#: Largest piece `SourceBlob.chunks` yields. Every reader looks it up here at
#: streaming time (not import time) so tests and tuning code can lower it by
#: setting ``agentfactory.sources.blobs.CHUNK_BYTES``.
CHUNK_BYTES = 16 * 1024 * 1024


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


def limit_pieces(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """Re-cut pieces so none is empty or larger than CHUNK_BYTES.

    Generators in this package drop their reference to a piece once it is handed
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


def checked(pieces: Iterable[bytes], size: int, label: str) -> Iterator[bytes]:
    """Yield pieces, failing if they add up to anything but ``size`` bytes.

    The size was announced at validation; a source that changed since must not
    become a blob that is silently truncated or longer than the store expects.
    """
    total = 0
    for piece in limit_pieces(pieces):
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
