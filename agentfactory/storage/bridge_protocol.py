"""Wire format shared by the bridge server and its client.

A request is `[op, args, *data]`, a reply `[b"ok" | b"err", meta, *data]`
(ZeroMQ multipart or the Unix transport's frames). Payloads travel as their
own frames, never hex- or JSON-encoded, so a 64 MiB blob costs one copy into
the native client.

`args` and `meta` are JSON for every op but the hot ones (`BINARY_OPS`: the
reads and writes of a single blob that every cache miss and store makes).
Their args are two length-prefixed names and a number, packed by
`pack_blob_args`, and their replies carry no meta at all (a `get` that found
nothing has no data frame): on this 2-core machine a JSON encode plus decode
of a small dict costs 15-20 us, a tenth of a whole bridge round trip, and
each side paid it twice. Errors stay JSON (`ERR` + {"error", "message"}).
"""

from __future__ import annotations

import json
import struct
from typing import Any

# Bumped whenever an op is added or changes: `services up` replaces a running
# bridge that speaks an older protocol instead of attaching to it.
# 3: get/put/stat take binary args and answer without JSON.
PROTOCOL = 3

OK = b"ok"
ERR = b"err"

# ops whose args are `pack_blob_args` bytes and whose replies have an empty meta frame
BINARY_OPS = frozenset({b"get", b"put", b"stat"})

_BLOB_ARGS = struct.Struct("<IIQ")  # tag length, blob length, a number (put: header bytes to return)
_SIZE = struct.Struct("<q")  # stat's reply: the stored size, -1 when there is no such blob


# Tags the runtime keeps for itself (clio-fs); never shown to users.
INTERNAL_TAGS = frozenset({"_clio_fs_sys", "_clio_xattr_store", "/"})


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def loads(raw: bytes | memoryview) -> Any:
    return json.loads(bytes(raw)) if len(raw) else {}


def pack_blob_args(tag: str, blob: str, number: int = 0) -> bytes:
    """A binary op's args: names as UTF-8 behind their lengths (any name fits, NULs included)."""
    t, b = tag.encode(), blob.encode()
    return _BLOB_ARGS.pack(len(t), len(b), number) + t + b


def unpack_blob_args(raw: bytes | memoryview) -> tuple[str, str, int]:
    at = _BLOB_ARGS.size
    if len(raw) < at:
        raise ValueError("malformed blob args")
    tag_len, blob_len, number = _BLOB_ARGS.unpack_from(raw)
    if len(raw) != at + tag_len + blob_len:
        raise ValueError("malformed blob args")
    names = bytes(raw[at:])
    return names[:tag_len].decode(), names[tag_len:].decode(), number


def pack_size(size: int | None) -> bytes:
    return _SIZE.pack(-1 if size is None else size)


def unpack_size(raw: bytes | memoryview) -> int | None:
    size = _SIZE.unpack_from(raw)[0]
    return None if size < 0 else size
