"""The same-host transport between a kernel and the bridge: a Unix stream socket, no ZeroMQ.

Why not ZeroMQ's ipc://: every ZeroMQ message crosses two I/O threads on
each side (application -> I/O thread -> socket -> I/O thread -> application),
so a request/reply costs eight thread hand-offs. On this shared 2-core
machine a 1 KiB round trip measured 152 us over zmq ipc:// (165 us over
tcp://) and 20 us over a plain Unix socket (Python on both ends, same
process placement); 1 MiB: 899 us against 579 us. The caller's thread
writes straight into the socket and the bridge's serving thread reads it.

Wire format, both directions: `<u32 frame count><u64 length per frame>` and
the frames, sent with one `sendmsg` (scatter-gather: payloads are never
joined in user space) and received with one `recvmsg_into` into a buffer
each side keeps (a message of many small frames is one system call, not one
per frame; an inline frame larger than what is left goes straight into a
buffer of its size). Frames are the ZeroMQ bridge's frames
(`[op, json, *data]` / `[status, json, *data]`), so the bridge handles both
transports with the same code.

The socket lives in `<home>/run/` (mode 0700): file permissions decide who
may connect, as loopback TCP cannot. The bridge removes it on exit; a killed
bridge's socket is removed by `services down`/`up`.
"""

from __future__ import annotations

import functools
import mmap
import os
import socket
import struct
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

SCHEME = "unix://"
_HEAD = struct.Struct("<II")  # frame count, flags (bit 0: a region descriptor rides along)
_DESC = struct.Struct("<Qq")  # per frame: length, offset in the sender's region (-1: inline)
_FD = struct.Struct("i")  # a descriptor passed with SCM_RIGHTS
_ANC_SPACE = socket.CMSG_SPACE(_FD.size)
SHM_MIN = 64 << 10  # frames from this size on go through shared memory
MIN_REGION = 32 << 20
MAX_FRAMES = 4096  # a sanity bound on what a peer may announce
MAX_PATH = 100  # sun_path holds 108 bytes; longer homes fall back to TCP
_IOV_MAX = 512  # frames per sendmsg call (Linux allows 1024 iovecs)
READ_AHEAD = 64 << 10  # a message up to this size is one read (frames from SHM_MIN on go by shared memory)


class Frame:
    """A received frame with the two views the ZeroMQ code uses (`.buffer`, `.bytes`).

    `shared`: the bytes live in the peer's shared region and are valid only
    until this side sends its next message.
    """

    __slots__ = ("buffer", "shared")

    def __init__(self, data: bytearray | bytes | memoryview, shared: bool = False) -> None:
        self.buffer = memoryview(data)
        self.shared = shared

    @property
    def bytes(self) -> bytes:
        return self.buffer.tobytes()

    def __len__(self) -> int:
        return len(self.buffer)


@functools.lru_cache(maxsize=64)
def _desc_struct(count: int) -> struct.Struct:
    """The head and descriptor table of a message of `count` inline frames, packed in one call."""
    return struct.Struct("<II" + "Qq" * count)


def path_of(endpoint: str) -> str:
    return endpoint[len(SCHEME):]


def usable_path(path: Path) -> bool:
    return len(os.fsencode(str(path))) <= MAX_PATH


def _as_view(frame: Any) -> memoryview:
    if isinstance(frame, memoryview):
        return frame.cast("B") if frame.format != "B" or frame.ndim != 1 else frame
    buf = getattr(frame, "buffer", None)  # a zmq.Frame or our Frame
    return memoryview(buf if buf is not None else frame).cast("B")


class _Region:
    """The shared memory one side writes its large frames into (a memfd: no name anywhere).

    Why memfd: it has no path in /dev/shm or the home, so there is nothing
    to clean up on any exit path; the kernel frees it when the last process
    holding it (descriptor or mapping) closes it or dies, SIGKILL included.
    The region is reused for every message, so its pages fault in once.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.size = 0
        self.map: mmap.mmap | None = None
        self.fd_to_send: int | None = None  # a new region's descriptor, sent with the next message

    def ensure(self, need: int) -> memoryview:
        if need > self.size:
            self.close()
            size = max(need, 2 * self.size, MIN_REGION)
            size = -(-size // (1 << 20)) << 20
            fd = os.memfd_create(self.name, os.MFD_CLOEXEC)
            os.ftruncate(fd, size)
            self.map, self.size, self.fd_to_send = mmap.mmap(fd, size), size, fd
        assert self.map is not None
        return memoryview(self.map)

    def sent(self) -> None:
        if self.fd_to_send is not None:
            os.close(self.fd_to_send)  # the mapping stays; the peer holds its own descriptor now
            self.fd_to_send = None

    def close(self) -> None:
        self.sent()
        if self.map is not None:
            try:
                self.map.close()
            except BufferError:  # a frame still points into it; it goes with the last view
                pass
            self.map, self.size = None, 0


class Channel:
    """One end of a connection: large frames travel through shared memory, the rest inline.

    A frame of at least `SHM_MIN` bytes is copied once into the sender's
    region and handed over by offset and length; the receiver reads it in
    place through a read-only memoryview (no copy). Requests and replies
    alternate, so a region is rewritten only after the peer has answered:
    a received shared frame stays valid until this side sends its next
    message (callers copy what they keep).
    """

    def __init__(self, sock: socket.socket, name: str) -> None:
        self.sock = sock
        self.out = _Region(name)
        self.peer: mmap.mmap | None = None
        self._in = memoryview(bytearray(READ_AHEAD))

    def send(self, frames: Iterable[Any]) -> None:
        views = [f if type(f) is bytes else _as_view(f) for f in frames]
        sizes = [len(v) for v in views]
        if self.out.fd_to_send is None and (not sizes or max(sizes) < SHM_MIN):
            # the usual message (a request, a small reply): one buffer, one system call
            desc = [x for size in sizes for x in (size, -1)]
            message = b"".join([_desc_struct(len(sizes)).pack(len(sizes), 0, *desc), *views])
            sent = self.sock.send(message)
            if sent < len(message):  # a full socket buffer: the rest as any large message goes
                self._send_all([memoryview(message)[sent:]], [])
            return
        offsets = [-1] * len(views)
        if max(sizes) >= SHM_MIN:
            region = self.out.ensure(sum(n for n in sizes if n >= SHM_MIN))
            at = 0
            for i, v in enumerate(views):
                if sizes[i] >= SHM_MIN:
                    region[at : at + sizes[i]] = v
                    offsets[i] = at
                    at += sizes[i]
        fd = self.out.fd_to_send
        head = _HEAD.pack(len(views), 1 if fd is not None else 0)
        desc = b"".join(_DESC.pack(n, off) for n, off in zip(sizes, offsets))
        pending = [memoryview(head + desc), *(_as_view(v) for v, off in zip(views, offsets) if off < 0 and len(v))]
        ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, _FD.pack(fd))] if fd is not None else []
        self._send_all(pending, ancillary)
        self.out.sent()

    def _send_all(self, pending: list[memoryview], ancillary: list[Any]) -> None:
        while pending:
            sent = self.sock.sendmsg(pending[:_IOV_MAX], ancillary)
            ancillary = []
            while sent:
                first = pending[0]
                if sent >= len(first):
                    sent -= len(first)
                    pending.pop(0)
                else:
                    pending[0] = first[sent:]
                    sent = 0

    def recv(self) -> list[Frame]:
        """One message, read with one system call when it fits `READ_AHEAD` (the usual case).

        Requests and replies alternate, so nothing of the next message can be
        in the socket yet: the buffer holds this message only, and its small
        frames are copied out of it (it is reused for the next message).
        """
        view = self._in
        got, ancdata, _, _ = self.sock.recvmsg_into([view], _ANC_SPACE)
        if got == 0:
            raise ConnectionResetError("the peer closed the connection")
        for level, kind, data in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                self._map_peer(_FD.unpack_from(data)[0])
        if got < _HEAD.size:
            got = self._fill(got, _HEAD.size)
        count, _flags = _HEAD.unpack_from(view)
        if count > MAX_FRAMES:
            raise ConnectionResetError(f"peer announced {count} frames")
        at = _HEAD.size + _DESC.size * count
        if at > len(view):  # a descriptor table larger than the buffer: read it on its own
            desc = bytearray(_DESC.size * count)
            desc[: got - _HEAD.size] = view[_HEAD.size : got]
            _recv_exact(self.sock, memoryview(desc)[got - _HEAD.size :])
            at = got = 0
        else:
            if got < at:
                got = self._fill(got, at)
            desc = view[_HEAD.size : at]
        frames = []
        for size, off in _DESC.iter_unpack(desc):
            if off >= 0:
                if self.peer is None or off + size > len(self.peer):
                    raise ConnectionResetError("a shared frame outside the peer's region")
                frames.append(Frame(memoryview(self.peer)[off : off + size], shared=True))
                continue
            have = min(size, got - at)
            if have == size:  # whole in the buffer
                frames.append(Frame(view[at : at + size].tobytes()))
                at += size
                continue
            buf = bytearray(size)
            buf[:have] = view[at : at + have]
            _recv_exact(self.sock, memoryview(buf)[have:])
            frames.append(Frame(buf))
            at = got = 0  # the buffer is used up; later frames come from the socket
        return frames

    def _fill(self, got: int, need: int) -> int:
        """Read into the buffer until it holds `need` bytes (they follow the first read at once)."""
        while got < need:
            n = self.sock.recv_into(self._in[got:], len(self._in) - got)
            if n == 0:
                raise ConnectionResetError("the peer closed the connection")
            got += n
        return got

    def _map_peer(self, fd: int) -> None:
        try:
            self.peer = mmap.mmap(fd, os.fstat(fd).st_size, prot=mmap.PROT_READ)
        finally:
            os.close(fd)

    def close(self) -> None:
        self.out.close()
        self.peer = None  # unmapped once no frame points into it
        self.sock.close()


def _recv_exact(sock: socket.socket, buf: bytearray | memoryview) -> None:
    view = memoryview(buf)
    got, size = 0, len(view)
    while got < size:
        n = sock.recv_into(view[got:], size - got)
        if n == 0:
            raise ConnectionResetError("the peer closed the connection")
        got += n


class UnixClient:
    """One connection to the bridge's Unix socket; not thread-safe (IOWarpTier locks around it)."""

    def __init__(self, endpoint: str, timeout_s: float) -> None:
        self.path = path_of(endpoint)
        self.timeout_s = timeout_s
        self._chan: Channel | None = None

    def request(self, frames: list[Any]) -> list[Frame]:
        """Send one request and wait for its reply. Raises OSError (incl. timeout) on any trouble.

        Shared frames of the reply are valid until the next request.
        """
        if self._chan is None:
            self._chan = Channel(self._connect(), "agentfactory-client")
        try:
            self._chan.send(frames)
            return self._chan.recv()
        except BlockingIOError:  # SO_RCVTIMEO/SO_SNDTIMEO ran out
            self.close()  # a late reply must never be read as the answer to the next request
            raise TimeoutError(f"no reply within {self.timeout_s:g} s") from None
        except BaseException:
            self.close()
            raise

    def _connect(self) -> socket.socket:
        """A blocking socket whose reads and writes time out in the kernel.

        `settimeout` would make Python poll() before every read and write: one
        more system call each, about a tenth of a small request's round trip.
        SO_RCVTIMEO/SO_SNDTIMEO give the same deadline per call without it
        (a call that runs out fails with EAGAIN).
        """
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(self.timeout_s)
            s.connect(self.path)
            s.settimeout(None)
            whole, frac = divmod(self.timeout_s, 1.0)
            timeval = struct.pack("ll", int(whole), int(frac * 1e6))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
        except OSError:
            s.close()
            raise
        return s

    def close(self) -> None:
        if self._chan is not None:
            self._chan.close()
            self._chan = None


class UnixServer:
    """Accepts connections on `path`; one thread per connection; `handle(frames) -> reply frames`.

    `handle` is called under the caller-supplied lock, so the native client
    sees one request at a time whichever transport it came from.
    """

    def __init__(self, path: str, handle: Callable[[list[Frame]], list[Any]], lock: threading.Lock) -> None:
        self.path, self.handle, self.lock = path, handle, lock
        Path(path).unlink(missing_ok=True)  # a socket left by a killed bridge of this home
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(64)
        self._closed = False
        threading.Thread(target=self._accept, name="bridge-unix-accept", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), name="bridge-unix-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        chan = Channel(conn, "agentfactory-bridge")
        try:
            while True:
                try:
                    frames = chan.recv()
                except (OSError, ValueError):
                    return
                with self.lock:
                    reply = self.handle(frames)
                del frames  # views into the client's region: it reuses it after our reply
                try:
                    chan.send(reply)
                except OSError:
                    return
        finally:
            chan.close()  # a client that went away (even SIGKILLed) takes its regions with it

    def close(self) -> None:
        self._closed = True
        try:
            self.listener.close()
        finally:
            Path(self.path).unlink(missing_ok=True)
