"""The one process that talks to the native IOWarp client.

Why a separate process: the native client segfaults on any call after a
failed `clio_init`, blocks for CLIO_WAIT_SERVER seconds when the runtime is
missing, and maps a 544 MB shared segment. Keeping it here means a notebook
kernel survives a runtime crash, several kernels share one connection, and
every trap of the binding is contained in this file:

* a put over an existing blob does not truncate -> replace = delete + put;
* a read past the end is zero-padded -> always ask the size first;
* `cte.Tag(name)` silently creates the tag -> reads check existence first;
* there is no DelTag binding -> `clio_cee.ContextInterface().context_destroy`;
* puts must go through the cache pool (563) for the BM25 indexer to see them.

Run as `agentfactory bridge --endpoint tcp://127.0.0.1:PORT` (services do it).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import zmq

from .bridge_protocol import (
    BINARY_OPS,
    ERR,
    INTERNAL_TAGS,
    OK,
    PROTOCOL,
    dumps,
    loads,
    pack_size,
    unpack_blob_args,
)
from .curve import secure_server
from .unix_transport import UnixServer

CURVE_ENV = "AGENTFACTORY_BRIDGE_CURVE"  # key directory: the bridge then requires CURVE clients
UNIX_ENV = "AGENTFACTORY_BRIDGE_UNIX"  # path of the same-host Unix socket (see unix_transport.py)

log = logging.getLogger("agentfactory.bridge")

INDEXED_POOL = (563, 0)  # chain top: cache -> indexer -> replication -> core


class NativeIOWarp:
    """Thin, trap-aware wrapper of clio_cte_core_ext for one process."""

    def __init__(self, *, connect_timeout_s: float = 20.0) -> None:
        os.environ.setdefault("CLIO_WAIT_SERVER", str(max(1, int(connect_timeout_s))))
        import clio_cte_core_ext as cte  # imported here: only the bridge loads the native client

        self.cte = cte
        if not cte.clio_init(cte.RuntimeMode.kClient, False):
            # Any further call would segfault: leave and let the supervisor retry.
            raise SystemExit("bridge: clio_init failed (is the IOWarp runtime up? CLIO_SERVER_CONF?)")
        if not cte.initialize_cte("", cte.PoolQuery.Dynamic()):
            raise SystemExit("bridge: initialize_cte failed")
        self.top = cte.Client(cte.PoolId(*INDEXED_POOL))
        self._tags: dict[str, Any] = {}  # name -> (Tag, tag_id) of tags known to exist
        self._cee = None

    # -- tags ---------------------------------------------------------------
    def tag_names(self, regex: str = ".*") -> list[str]:
        return sorted(t for t in self.top.TagQuery(regex) if t not in INTERNAL_TAGS)

    def _existing(self, tag: str):
        handle = self._tags.get(tag)
        if handle is None and tag in self.top.TagQuery(re.escape(tag)):
            handle = self._open(tag)
        return handle

    def _open(self, tag: str):
        handle = self._tags.get(tag)
        if handle is None:
            tid = self.top.AsyncGetOrCreateTag(tag).result()
            handle = self._tags[tag] = (self.cte.Tag(tid), tid)
        return handle

    # -- operations ---------------------------------------------------------
    def put(self, tag: str, blob: str, data: bytes, head_bytes: int = 0) -> bytes:
        """Replace one blob; returns the first `head_bytes` of the blob it replaced (b"" if none)."""
        return self.put_many(tag, [(blob, data)], head_bytes)[0]

    def put_many(self, tag: str, items: list[tuple[str, bytes]], head_bytes: int) -> list[bytes]:
        """Replace blobs, puts in flight together; returns the first `head_bytes` of each replaced blob."""
        t, tid = self._open(tag)
        heads, pending = [], []
        for blob, data in items:
            old = t.GetBlobSize(blob)
            heads.append(t.GetBlob(blob, min(old, head_bytes), 0) if old > 0 and head_bytes else b"")
            if old > 0:
                self.top.DelBlob(tid, blob)  # no truncation on overwrite: replace = delete + put
            pending.append((blob, self.top.AsyncPutBlob(tid, blob, data)))
        failed = [f"{blob} (rc {rc})" for blob, fut in pending if (rc := fut.wait()) != 0]
        if failed:
            raise RuntimeError(f"PutBlob failed for {', '.join(failed)}")
        return heads

    def get(self, tag: str, blob: str) -> bytes | None:
        handle = self._existing(tag)
        if handle is None:
            return None
        t, _ = handle
        size = t.GetBlobSize(blob)
        if size <= 0:  # our blobs always carry a header, so 0 means missing
            return None
        return t.GetBlob(blob, size)

    def stat(self, tag: str, blob: str) -> int | None:
        handle = self._existing(tag)
        size = handle[0].GetBlobSize(blob) if handle else 0
        return size if size > 0 else None

    def blobs(self, tag: str) -> list[str] | None:
        handle = self._existing(tag)
        return None if handle is None else sorted(handle[0].GetContainedBlobs())

    def sizes(self, tag: str) -> dict[str, int] | None:
        """Stored bytes of every physical blob of a tag (GetBlobSize is a shared-memory read)."""
        handle = self._existing(tag)
        if handle is None:
            return None
        t = handle[0]
        return {name: t.GetBlobSize(name) for name in t.GetContainedBlobs()}

    def delete(self, tag: str, blobs: list[str]) -> list[str]:
        handle = self._existing(tag)
        if handle is None:
            return []
        return [b for b in blobs if self.top.DelBlob(handle[1], b)]

    def delete_tag(self, tag: str) -> bool:
        if self._existing(tag) is None:
            return False
        if self._cee is None:
            import clio_cee

            self._cee = clio_cee.ContextInterface()
        self._tags.pop(tag, None)
        return self._cee.context_destroy([tag]) == 0

    def search(self, tag: str, blob_regex: str, prompt: str, k: int) -> list[tuple[str, float]]:
        if self._existing(tag) is None:
            return []
        hits = self.top.SemanticSearch(tag, blob_regex, prompt, k)
        return [(h.blob_name, float(h.score)) for h in hits if h.score > 0]


class BridgeServer:
    """Answers on a ZeroMQ ROUTER (TCP: remote kernels, CURVE) and, for this host, a Unix socket.

    Both transports carry the same frames and meet in `dispatch`, one request
    at a time (`lock`): the native client is never entered from two threads.
    """

    def __init__(self, endpoint: str, native: NativeIOWarp, *, curve_dir: str | None = None,
                 unix_path: str | None = None) -> None:
        self.endpoint = endpoint
        self.native = native
        self.lock = threading.Lock()
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        # beyond loopback: CURVE, and only the home's client key gets in (see storage/curve.py)
        self._auth = secure_server(self.sock, Path(curve_dir)) if curve_dir else None
        self.sock.bind(endpoint)
        self._stop = False
        self.ops = 0  # requests answered, both transports (ping reports it: tests count round trips)
        self.unix = UnixServer(unix_path, self.dispatch, self.lock) if unix_path else None

    def dispatch(self, frames: list[Any]) -> list[Any]:
        """`[op, args, *data]` -> `[status, meta, *data]`; every failure goes back to the client."""
        op, args, data = frames[0].bytes, frames[1].buffer, frames[2:]
        self.ops += 1
        try:
            if op in BINARY_OPS:
                return [OK, b"", *self.handle_blob(op, *unpack_blob_args(args), data)]
            meta, out = self.handle(op.decode(), loads(args), data)
            return [OK, dumps(meta), *out]
        except Exception as exc:  # report every failure to the client, keep serving
            log.exception("bridge op %s failed", op)
            return [ERR, dumps({"error": type(exc).__name__, "message": str(exc)})]

    def handle_blob(self, op: bytes, tag: str, blob: str, number: int, data: list[Any]) -> list[Any]:
        """The hot ops (binary args, no meta in the reply): one blob's read, write or size."""
        n = self.native
        if op == b"get":  # found: one data frame, the whole stored blob; not found: none
            raw = n.get(tag, blob)
            return [] if raw is None else [raw]
        if op == b"put":  # replies with the first `number` bytes of the blob it replaced
            payload = data[0].bytes if len(data) == 1 else b"".join(f.buffer for f in data)
            return [n.put(tag, blob, payload, number)]
        return [pack_size(n.stat(tag, blob))]  # stat

    def stop(self, *_: Any) -> None:
        self._stop = True

    def serve_forever(self) -> None:
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        while not self._stop:
            if not poller.poll(200):
                continue
            frames = self.sock.recv_multipart(copy=False)
            # ROUTER sees [identity, (request id with REQ_CORRELATE), empty, op, args, *data]:
            # echo the whole envelope up to the empty delimiter
            cut = next(i for i, f in enumerate(frames) if len(f) == 0) + 1
            with self.lock:
                reply = self.dispatch(frames[cut:])
            self.sock.send_multipart([*frames[:cut], *reply], copy=False)
        self.sock.close()
        if self.unix is not None:
            self.unix.close()
        if self._auth is not None:
            self._auth.stop()

    def handle(self, op: str, a: dict[str, Any], data: list[zmq.Frame]) -> tuple[dict[str, Any], list[bytes]]:
        """The ops with JSON args and meta: tags, listings, batches, search."""
        n = self.native
        if op == "ping":
            return {"pid": os.getpid(), "time": time.time(), "protocol": PROTOCOL, "ops": self.ops}, []
        if op == "put_many":  # frames come in pairs: header, payload
            items = [(name, data[2 * i].bytes + data[2 * i + 1].bytes) for i, name in enumerate(a["blobs"])]
            return {"count": len(items)}, n.put_many(a["tag"], items, int(a.get("head", 0)))
        if op == "tags":
            return {"tags": n.tag_names(a.get("regex", ".*"))}, []
        if op == "blobs":
            return {"blobs": n.blobs(a["tag"])}, []
        if op == "sizes":
            return {"sizes": n.sizes(a["tag"])}, []
        if op == "delete":
            return {"deleted": n.delete(a["tag"], a["blobs"])}, []
        if op == "delete_tag":
            return {"deleted": n.delete_tag(a["tag"])}, []
        if op == "search":
            return {"hits": n.search(a["tag"], a.get("blob_regex", ".*"), a["prompt"], int(a.get("k", 10)))}, []
        raise ValueError(f"unknown op {op!r}")


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters


def tune_malloc(mmap_threshold: int = 32 << 20, trim_threshold: int = 128 << 20) -> bool:
    """Keep blob-sized buffers in the heap instead of a fresh mmap per blob (glibc only).

    Every blob the bridge moves is a new buffer (the join of a put's frames, the
    bytes GetBlob returns). By default glibc maps each one >= 128 KiB freshly and
    unmaps it on free, so every 16 MiB blob costs 4,096 page faults; on a small
    VM that doubled the bridge's 16 MiB get time. Raising the mmap and trim
    thresholds lets freed buffers be reused; the bridge keeps at most
    `trim_threshold` bytes of freed heap. No effect (and False) on other libcs.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold))
    except (OSError, AttributeError):
        return False


def serve(endpoint: str, *, connect_timeout_s: float = 20.0) -> None:
    """Connect to the runtime, then answer requests until SIGTERM/SIGINT."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    tune_malloc()
    native = NativeIOWarp(connect_timeout_s=connect_timeout_s)
    # set by `services up` when the bridge binds beyond loopback (an env var keeps the CLI unchanged)
    server = BridgeServer(endpoint, native, curve_dir=os.environ.get(CURVE_ENV) or None,
                          unix_path=os.environ.get(UNIX_ENV) or None)
    signal.signal(signal.SIGTERM, server.stop)
    signal.signal(signal.SIGINT, server.stop)
    print(f"bridge ready on {endpoint}", flush=True)
    server.serve_forever()
