"""host:port text -> (host, port), through pymemcache's own server-spec parser.

Four places parsed it by hand and disagreed on IPv6 brackets and defaults;
pymemcache's `normalize_server_spec` is what the cache client will do with the
same text anyway, so we parse it once, its way, and only add the checks.
"""

from __future__ import annotations

from pymemcache.client.base import normalize_server_spec

from .errors import ConfigError

MEMCACHED_PORT = 11211


def parse_host_port(value: str, default_port: int | None = MEMCACHED_PORT) -> tuple[str, int]:
    """`"127.0.0.1:11211"`, `"[::1]:11211"` or `"host"` (with a default port) as `(host, port)`.

    Raises `ConfigError` with the expected form when the text is not an endpoint.
    """
    problem = ConfigError(f"{value!r} is not a host:port endpoint", hint="write it as host:port, e.g. 127.0.0.1:11211")
    if not isinstance(value, str) or not value.strip() or value.startswith(("/", "unix:")):
        raise problem
    has_port = ":" in value and not value.endswith("]")
    if not has_port and default_port is None:
        raise problem
    try:
        spec = normalize_server_spec(value if has_port else f"{value}:{default_port}")
    except ValueError:
        raise problem from None
    host, port = spec  # a str spec without "unix:" or "/" always comes back as a tuple
    if not host or not 0 < port < 65536:
        raise problem
    return host, port
