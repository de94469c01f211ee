"""Meta commands on pymemcache's sockets: the one place we reach into its internals.

memcached's meta get (`mg KEY f`) tells whether a key exists, with its client
flags, without moving the value; that is what keeps the query view cheap.
pymemcache 4 has no meta commands, and its public `raw_command` drops data
when a reply spans two socket reads, so `meta_lines` writes on the node's
socket and reads with pymemcache's own line reader. Those two names
(`Client._connect`, `base._readline`) are private: they are used here and
nowhere else, and tests/test_store.py checks them (and the major version
below) so that an upgrade that changes them fails there, loudly, instead of
turning every query into a cache error.
"""

from __future__ import annotations

from pymemcache.client.base import Client, _readline
from pymemcache.client.hash import HashClient
from pymemcache.exceptions import MemcacheError, MemcacheUnknownError

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
