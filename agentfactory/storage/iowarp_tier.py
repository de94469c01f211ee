"""The persistent tier as the kernel sees it: a ZeroMQ client of the bridge.

Every call has a deadline: when the bridge or the runtime behind it is gone,
the caller gets `StorageUnavailable` within `timeout_s`, never a hang. Blobs
are stored with a verified header (see `framing`); blobs above `part_bytes`
are split into parts written *before* their manifest, so a reader either
sees the whole new blob or none of it.

Transport by endpoint: `unix://PATH` (this host: the bridge's Unix socket,
see unix_transport for why not ZeroMQ) or `tcp://`/`ipc://` through a ZeroMQ
REQ socket (other hosts, with CURVE keys when the bridge asks for them).
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import zmq

from ..core.errors import BlobNotFound, IntegrityError, StorageError, StorageUnavailable, TagNotFound
from . import unix_transport
from .bridge_protocol import ERR, dumps, loads, pack_blob_args, unpack_size
from .curve import CurveKeys
from .framing import (
    STORE_HEADER_BYTES,
    pack_stored_header,
    payload_digest,
    peek_part_count,
    unpack_stored_header,
)

PART_BYTES = 16 << 20  # the runtime is fastest per byte around 16 MiB (reference notes)
PART_PREFIX = "__afpart__/"  # reserved blob-name prefix for the parts of large blobs


def part_name(name: str, index: int) -> str:
    return f"{PART_PREFIX}{index}/{name}"


def logical_name(physical: str) -> str:
    """Map a part's physical name back to the blob it belongs to."""
    if physical.startswith(PART_PREFIX):
        return physical[len(PART_PREFIX) :].split("/", 1)[1]
    return physical


@dataclass(frozen=True, slots=True)
class StoredBlob:
    data: bytes
    metadata: dict[str, Any]


class IOWarpTier:
    def __init__(self, endpoint: str, *, timeout_s: float = 10.0, part_bytes: int = PART_BYTES,
                 curve: CurveKeys | None = None) -> None:
        self.endpoint = endpoint
        self.timeout_ms = int(timeout_s * 1000)
        self.part_bytes = part_bytes
        self.curve = curve  # keys for a bridge bound beyond loopback (it refuses clients without them)
        self._ctx = zmq.Context.instance()
        self._lock = threading.Lock()
        self._sock: zmq.Socket | None = None
        self._unix: unix_transport.UnixClient | None = None
        self.round_trips = 0  # requests sent to the bridge (a cache miss costs one: tests hold it to that)

    # -- transport ----------------------------------------------------------
    def _socket(self) -> zmq.Socket:
        if self._sock is None:
            s = self._ctx.socket(zmq.REQ)
            # RELAXED + CORRELATE: after a timed-out request the socket may send
            # again and a late reply to the old request is dropped, not mistaken.
            s.setsockopt(zmq.REQ_RELAXED, 1)
            s.setsockopt(zmq.REQ_CORRELATE, 1)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.IMMEDIATE, 1)  # never queue for a bridge that is not there...
            s.setsockopt(zmq.SNDTIMEO, self.timeout_ms)  # ...so a send to it must time out
            if self.curve is not None:
                self.curve.apply(s)
            s.connect(self.endpoint)
            self._sock = s
        return self._sock

    def _reset(self) -> None:
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None
        if self._unix is not None:
            self._unix.close()
            self._unix = None

    def request(self, op: str, args: dict[str, Any] | None = None, data: Iterable[Any] = ()) -> tuple[dict[str, Any], list[Any]]:
        """An op with JSON args and meta (listings, batches, search, ping)."""
        status, meta, frames = self._exchange(op, [op.encode(), dumps(args or {}), *data])
        return self._reply(op, status, meta, frames), frames

    def blob_request(self, op: str, tag: str, blob: str, number: int = 0, data: Iterable[Any] = ()) -> list[Any]:
        """A hot op (get, put, stat: bridge_protocol.BINARY_OPS): binary args, the reply's data frames."""
        status, meta, frames = self._exchange(op, [op.encode(), pack_blob_args(tag, blob, number), *data])
        if status.bytes == ERR:
            self._reply(op, status, meta, frames)  # raises with the bridge's message
        return frames

    def _exchange(self, op: str, frames: list[Any]) -> tuple[Any, Any, list[Any]]:
        """One round trip: `(status, meta, data frames)`; StorageUnavailable when the bridge is not there."""
        if self.endpoint.startswith(unix_transport.SCHEME):
            return self._unix_request(op, frames)
        with self._lock:
            self.round_trips += 1
            sock = self._socket()
            try:
                sock.send_multipart(frames, copy=False, flags=0)
                if not sock.poll(self.timeout_ms, zmq.POLLIN):
                    raise zmq.Again()
                status, meta, *data = sock.recv_multipart(copy=False)
            except zmq.Again:  # send or reply timed out: the bridge (or its runtime) is gone
                self._reset()
                raise self._timed_out(op) from None
            except zmq.ZMQError as exc:
                self._reset()
                raise StorageUnavailable(f"IOWarp bridge at {self.endpoint}: {exc}") from None
        return status, meta, data

    def _timed_out(self, op: str) -> StorageUnavailable:
        return StorageUnavailable(
            f"IOWarp bridge at {self.endpoint} did not answer '{op}' within {self.timeout_ms / 1000:g} s",
            hint="check `agentfactory services status`; `agentfactory services up` restarts it",
        )

    def _unix_request(self, op: str, frames: list[Any]) -> tuple[Any, Any, list[Any]]:
        with self._lock:
            self.round_trips += 1
            if self._unix is None:
                self._unix = unix_transport.UnixClient(self.endpoint, self.timeout_ms / 1000)
            try:
                status, meta, *data = self._unix.request(frames)
            except TimeoutError:
                raise self._timed_out(op) from None
            except OSError as exc:  # refused, reset, gone: the bridge is not there (next call reconnects)
                raise StorageUnavailable(f"IOWarp bridge at {self.endpoint}: {exc}",
                                         hint="`agentfactory services up` restarts it") from None
        return status, meta, data

    @staticmethod
    def _reply(op: str, status: Any, meta: Any, frames: list[Any]) -> dict[str, Any]:
        reply = loads(meta.buffer)
        if status.bytes == ERR:
            raise StorageError(f"IOWarp {op} failed: {reply.get('error')}: {reply.get('message')}")
        return reply

    def close(self) -> None:
        with self._lock:
            self._reset()

    def retarget(self, endpoint: str) -> None:
        """Talk to the bridge at `endpoint` from now on (a restarted bridge listens elsewhere)."""
        with self._lock:
            self._reset()
            self.endpoint = endpoint

    # -- blobs --------------------------------------------------------------
    def ping(self) -> dict[str, Any]:
        return self.request("ping")[0]

    def put_blob(self, tag: str, name: str, chunks: Iterable[bytes], metadata: dict[str, Any] | None = None) -> int:
        """Store a blob (replacing any old one); returns the payload size."""
        if name.startswith(PART_PREFIX):
            raise StorageError(f"blob names may not start with {PART_PREFIX!r}", hint="rename the blob")
        digest = payload_digest()
        parts = old_parts = 0
        size = 0
        pending: list[bytes] = []
        pending_len = 0
        for chunk in _slices(chunks, self.part_bytes):
            if pending_len + len(chunk) > self.part_bytes and pending:
                if parts == 0:
                    # readers must never pair the old manifest with new parts
                    old_parts = self._part_count(tag, name)
                    self._delete([tag, name])
                self._put(tag, part_name(name, parts), pending)
                parts += 1
                pending, pending_len = [], 0
            digest.update(chunk)
            size += len(chunk)
            pending.append(chunk)
            pending_len += len(chunk)
        if parts:  # a large blob: last part, then the manifest
            self._put(tag, part_name(name, parts), pending)
            parts += 1
            pending = []
        head = self._put(tag, name, [pack_stored_header(size, parts, digest.digest(), metadata), *pending])
        if not parts:
            old_parts = peek_part_count(head)
        if old_parts > parts:
            self._delete([tag, *[part_name(name, i) for i in range(parts, old_parts)]])
        return size

    def put_many(self, tag: str, items: list[tuple[str, bytes, dict[str, Any] | None]]) -> None:
        """Store several small blobs (each at most `part_bytes`) in one round trip."""
        frames: list[bytes] = []
        for name, payload, metadata in items:
            if name.startswith(PART_PREFIX) or len(payload) > self.part_bytes:
                raise StorageError(f"put_many takes small blobs with ordinary names, not {name!r}")
            digest = payload_digest()
            digest.update(payload)
            frames += [pack_stored_header(len(payload), 0, digest.digest(), metadata), payload]
        names = [name for name, _, _ in items]
        _, heads = self.request("put_many", {"tag": tag, "blobs": names, "head": STORE_HEADER_BYTES}, frames)
        stale = [part_name(n, i) for n, h in zip(names, heads) for i in range(peek_part_count(h.bytes))]
        if stale:  # a small blob replaced a large one: drop the old parts
            self._delete([tag, *stale])

    def _put(self, tag: str, blob: str, frames: list[bytes]) -> bytes:
        """Put one physical blob; returns the header of the blob it replaced, if any."""
        head = STORE_HEADER_BYTES if not blob.startswith(PART_PREFIX) else 0
        return self.blob_request("put", tag, blob, head, frames)[0].bytes

    def _delete(self, args: list[str]) -> list[str]:
        tag, *blobs = args
        return self.request("delete", {"tag": tag, "blobs": blobs})[0]["deleted"]

    def _part_count(self, tag: str, name: str) -> int:
        raw = self._get_raw(tag, name) if self.exists(tag, name) else None
        return peek_part_count(raw) if raw else 0

    def _get_frame(self, tag: str, blob: str) -> zmq.Frame | None:
        frames = self.blob_request("get", tag, blob)
        return frames[0] if frames else None

    def _get_raw(self, tag: str, blob: str) -> bytes | None:
        frame = self._get_frame(tag, blob)
        return frame.bytes if frame is not None else None

    def get_blob(self, tag: str, name: str) -> StoredBlob:
        # Work on the received frames' memory and copy the payload exactly once
        # into the bytes we return (Frame.bytes and then a slice would copy twice).
        frame = self._get_frame(tag, name)
        if frame is None:
            if not self.tag_exists(tag):  # say which name is wrong: a read of a destroyed tag is not a missing blob
                raise TagNotFound(f"tag {tag!r} does not exist", hint="`list blobs in *` shows the tags there are")
            raise BlobNotFound(f"blob {name!r} not found in tag {tag!r}", hint=f"`list blobs in {tag}` shows what it holds")
        raw = frame.buffer
        header = unpack_stored_header(raw)
        if header is None:
            raise IntegrityError(f"blob {name!r} in tag {tag!r} has no AgentFactory header (written by another tool?)")
        if header.n_parts:
            pieces = []
            for i in range(header.n_parts):
                part = self._get_frame(tag, part_name(name, i))
                if part is None:
                    raise IntegrityError(f"blob {name!r} in tag {tag!r} is missing part {i} of {header.n_parts}")
                # a part in the bridge's shared region is overwritten by the next reply: keep a copy
                pieces.append(part.bytes if getattr(part, "shared", False) else part.buffer)
            data = b"".join(pieces)
        else:
            data = bytes(raw[header.body_offset :])
        digest = payload_digest()
        digest.update(data)
        if len(data) != header.payload_len or digest.digest() != header.digest:
            raise IntegrityError(f"blob {name!r} in tag {tag!r} fails its checksum; it is not served")
        return StoredBlob(data, header.metadata)

    def exists(self, tag: str, name: str) -> bool:
        return bool(unpack_size(self.blob_request("stat", tag, name)[0].buffer))

    def delete_blobs(self, tag: str, names: list[str]) -> list[str]:
        return self._delete([tag, *names])

    # -- tags ---------------------------------------------------------------
    def list_tags(self, pattern: str = "*") -> list[str]:
        """Tags matching a glob. Filtering happens here, not in the runtime's C++ regex."""
        names = self.request("tags", {"regex": ".*"})[0]["tags"]
        return [t for t in names if fnmatch.fnmatchcase(t, pattern)]

    def tag_exists(self, tag: str) -> bool:
        return tag in self.list_tags(_escape_glob(tag))

    def list_blobs(self, tag: str) -> list[str]:
        names = self.request("blobs", {"tag": tag})[0]["blobs"]
        if names is None:
            raise TagNotFound(f"tag {tag!r} does not exist", hint="`list blobs in *` shows the tags there are")
        return sorted(n for n in names if not n.startswith(PART_PREFIX))

    def blob_sizes(self, tag: str) -> dict[str, int]:
        """Bytes each blob of a tag occupies in IOWarp (its parts and header included)."""
        sizes = self.request("sizes", {"tag": tag})[0]["sizes"]
        if sizes is None:
            raise TagNotFound(f"tag {tag!r} does not exist", hint="`list blobs in *` shows the tags there are")
        out: dict[str, int] = {}
        for physical, size in sizes.items():
            name = logical_name(physical)
            out[name] = out.get(name, 0) + size
        return dict(sorted(out.items()))

    def delete_tag(self, tag: str) -> bool:
        return bool(self.request("delete_tag", {"tag": tag})[0]["deleted"])

    def search(self, tag: str, prompt: str, k: int = 10) -> list[tuple[str, float]]:
        """BM25-ranked blobs of a tag (IOWarp's own indexer); parts map to their blob."""
        hits = self.request("search", {"tag": tag, "prompt": prompt, "k": max(k * 4, 16)})[0]["hits"]
        best: dict[str, float] = {}
        for physical, score in hits:
            name = logical_name(physical)
            best[name] = max(score, best.get(name, 0.0))
        return sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def _escape_glob(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _slices(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    """Re-cut a stream so no piece is larger than `limit` (sources may hand us big chunks)."""
    for chunk in chunks:
        if len(chunk) <= limit:
            yield chunk
        else:
            view = memoryview(chunk)
            for start in range(0, len(chunk), limit):
                yield bytes(view[start : start + limit])
