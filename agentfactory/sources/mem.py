"""``mem::TAG/BLOB``: a blob already in the cache tier, copied under a new tag."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from agentfactory.core.errors import SourceNotFound, UnsupportedSource
from agentfactory.storage.names import check_name

from .blobs import SourceBlob, limit_pieces

#: ``mem_reader(tag, blob)`` reads the cache tier only and returns None on a miss.
MemReader = Callable[[str, str], "bytes | None"]


def resolve_mem(rest: str, mem_reader: MemReader | None) -> list[SourceBlob]:
    """The one cached blob ``rest`` names; a miss is an error, never a silent IOWarp read."""
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
        return limit_pieces([data])

    return [SourceBlob(name=blob, size=len(data), metadata={}, chunks=chunks)]
