"""Commands on pymemcache's sockets: the one place we reach into its internals.

* memcached's meta get (`mg KEY f`) tells whether a key exists, with its
  client flags, without moving the value; that is what keeps the query view
  cheap. pymemcache 4 has no meta commands, and its public `raw_command` drops
  data when a reply spans two socket reads, so `meta_lines` writes on the
  node's socket and reads with pymemcache's own line reader.
* `get_values` is the hit path's multi-get. pymemcache reads a value in
  4 KiB `recv`s and joins them (128 system calls and a copy for 512 KiB);
  here a value's bytes go straight from the socket into one buffer of its
  size, in as few reads as the kernel allows, and a small reply is one read.
  `set_value` sends the command line and the value with one `sendmsg`
  instead of concatenating them first.

The private names (`Client._connect`, `Client.sock`, `base._readline`) are
used here and nowhere else, and tests/test_store.py checks them (and the
major version below) so that an upgrade that changes them fails there,
loudly, instead of turning every read into a cache error.
"""

from __future__ import annotations

from typing import Any

from pymemcache.client.base import Client, _readline
from pymemcache.client.hash import HashClient
from pymemcache.exceptions import (
    MemcacheClientError,
    MemcacheError,
    MemcacheServerError,
    MemcacheUnexpectedCloseError,
    MemcacheUnknownError,
)

#: the pymemcache major version whose internals `meta_lines` was written against
CHECKED_MAJOR = 4


def node_for(client: Client | HashClient, key: str) -> Client:
    """The single-server client that holds `key`, as HashClient's own routing picks it.

    Public attributes only: the documented hasher (`get_node`) and the
    `clients` map. Dead nodes are already out of the hasher; bringing them back
    after `dead_timeout` is left to the next ordinary call, which the callers
    make first (the generation token's get).
    """
    if not isinstance(client, HashClient):
        return client
    server = client.hasher.get_node(key)
    if server is None:
        raise MemcacheError("All servers seem to be down right now")
    return client.clients[server]


def meta_lines(node: Client, commands: list[bytes]) -> list[bytes]:
    """Send meta commands in one write and read one reply line per command."""
    if node.sock is None:
        node._connect()
    try:
        node.sock.sendall(b"".join(commands))
        buf, lines = b"", []
        for _ in commands:
            buf, line = _readline(node.sock, buf)
            if line.startswith((b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR")):
                raise MemcacheUnknownError(line.decode(errors="replace"))
            lines.append(line)
        return lines
    except Exception:
        node.close()  # a half-read reply must not leak into the next command
        raise


_READ = 65536  # one read takes a small reply whole; a large value is read into its own buffer
_ERRORS = (b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR")


def _socket(node: Client) -> Any:
    if node.sock is None:
        node._connect()
    return node.sock


def _raise_for(line: bytes) -> None:
    text = line.decode(errors="replace")
    if line.startswith(b"CLIENT_ERROR"):
        raise MemcacheClientError(text)
    if line.startswith(b"SERVER_ERROR"):
        raise MemcacheServerError(text)
    raise MemcacheUnknownError(text)


def get_values(node: Client, keys: list[str]) -> dict[str, bytes | bytearray]:
    """`get k1 k2 ...` on one node: the values found (a large one as a bytearray, read in place)."""
    sock = _socket(node)
    try:
        sock.sendall(b"get " + " ".join(keys).encode() + b"\r\n")
        asked = set(keys)
        found: dict[str, bytes | bytearray] = {}
        buf, pos = sock.recv(_READ), 0
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:  # a line split across reads
                more = sock.recv(_READ)
                if not more:
                    raise MemcacheUnexpectedCloseError()
                buf, pos = buf[pos:] + more, 0
                continue
            line = buf[pos:eol]
            if line == b"END":
                return found
            if not line.startswith(b"VALUE "):
                _raise_for(line)
            _, key, _flags, size_text = line.split()[:4]
            if key.decode() not in asked:  # a reply to someone else's request: the stream is out of step
                raise MemcacheUnknownError(f"memcached answered for {key.decode()}, which this get did not ask for")
            start, size = eol + 2, int(size_text)
            if len(buf) - start >= size + 2:  # the whole value is in hand
                found[key.decode()] = buf[start : start + size]
                pos = start + size + 2
                continue
            value = bytearray(size + 2)  # the value and its \r\n, straight from the socket
            have = len(buf) - start
            value[:have] = memoryview(buf)[start:]
            _recv_into(sock, memoryview(value)[have:])
            del value[size:]  # the trailing \r\n: a resize in place, no copy
            found[key.decode()] = value
            buf, pos = sock.recv(_READ), 0
    except Exception:
        node.close()  # a half-read reply must not leak into the next command
        raise


def _recv_into(sock: Any, view: memoryview) -> None:
    got = 0
    while got < len(view):
        n = sock.recv_into(view[got:])
        if n == 0:
            raise MemcacheUnexpectedCloseError()
        got += n


def set_value(node: Client, key: str, value: bytes, ttl: int, flags: int) -> None:
    """`set` with the reply awaited; the value is sent as it is, never copied into the command."""
    sock = _socket(node)
    head = f"set {key} {flags} {ttl} {len(value)}\r\n".encode()
    try:
        pending = [memoryview(head), memoryview(value).cast("B"), memoryview(b"\r\n")]
        while pending:
            sent = sock.sendmsg(pending)
            while sent:
                if sent >= len(pending[0]):
                    sent -= len(pending.pop(0))
                else:
                    pending[0], sent = pending[0][sent:], 0
        _, line = _readline(sock, b"")
        if line != b"STORED":
            _raise_for(line)
    except Exception:
        node.close()
        raise
