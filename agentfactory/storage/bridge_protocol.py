"""Wire format shared by the bridge server and its client.

A request is a multipart ZeroMQ message `[op, json-args, *data]`; a reply is
`[b"ok" | b"err", json, *data]`. Payloads travel as their own frames, never
hex- or JSON-encoded, so a 64 MiB blob costs one copy into the native client.
"""

from __future__ import annotations

import json
from typing import Any

# Bumped whenever an op is added or changes: `services up` replaces a running
# bridge that speaks an older protocol instead of attaching to it.
PROTOCOL = 2

OK = b"ok"
ERR = b"err"


# Tags the runtime keeps for itself (clio-fs); never shown to users.
INTERNAL_TAGS = frozenset({"_clio_fs_sys", "_clio_xattr_store", "/"})


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def loads(raw: bytes | memoryview) -> Any:
    return json.loads(bytes(raw)) if len(raw) else {}
