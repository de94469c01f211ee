"""Policy names -> constructors: the keys `agentfactory policies` accepts and prints.

Modules are imported lazily so listing names costs nothing and optional peers
(libcachesim, GPL-3.0, a test/benchmark extra only) load only when asked for.
"""

from __future__ import annotations

from importlib import import_module

from .base import Policy

#: our policies: key -> "module:Class" inside agentfactory.policies
OURS: dict[str, str] = {
    "lru": "simple:LRU",
    "fifo": "simple:FIFO",
    "lfu": "lfu:LFU",
    "arc": "arc:ARC",
    "s3fifo": "s3fifo:S3FIFO",
    "sieve": "sieve:SIEVE",
    "wtinylfu": "tinylfu:WTinyLFU",
    "belady": "belady:Belady",
    "learned": "learned:Learned",
}
#: offline references that are not in the default comparison but can be asked for
EXTRA: dict[str, str] = {
    "oracle": "oracle:Oracle",
}
#: libcachesim's learned and adaptive peers (`--with-libcachesim`), run on the same stream
PEERS: tuple[str, ...] = ("lcs-cacheus", "lcs-lecar", "lcs-twoq", "lcs-lrb", "lcs-3lcache")

DEFAULT_POLICIES: tuple[str, ...] = tuple(OURS)


def policy_names(*, with_peers: bool = False, with_extra: bool = False) -> list[str]:
    names = list(OURS) + (list(EXTRA) if with_extra else [])
    return names + (list(PEERS) if with_peers else [])


def policy_class(name: str) -> type[Policy]:
    """The class behind one of our policy keys.

    Raises:
        KeyError: naming the known keys, when `name` is not one of ours.
    """
    spec = OURS.get(name) or EXTRA.get(name)
    if spec is None:
        known = ", ".join(policy_names(with_peers=True, with_extra=True))
        raise KeyError(f"unknown policy {name!r}; known: {known}")
    module, cls = spec.split(":")
    return getattr(import_module(f"{__package__}.{module}"), cls)


def make_policy(name: str, capacity: int, **kwargs) -> Policy:
    return policy_class(name)(capacity, **kwargs)
