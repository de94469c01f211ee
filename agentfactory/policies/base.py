"""The one interface every cache policy implements, in simulator, env and real store alike.

`access(key, size, tag)` is the whole request path (hit or miss, admission,
eviction) in one call because the simulator pays one Python call per request;
the store and the environments use the same objects. Evictions are announced
through `on_evict` so the real store can delete what the policy dropped.

Capacity is in the same unit as `size`: pass size=1 for object-count caching,
bytes for byte caching. An object larger than the whole cache is never admitted.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable

EvictHook = Callable[[Hashable], None]


class Policy(ABC):
    """A cache policy over keys: decides what stays; does not store values.

    Subclasses set `name` (the key used in `agentfactory policies` output) and
    implement `access`, `__contains__` and `__len__`; `used` counts the size of
    everything resident.
    """

    name: str = "policy"
    #: offline policies need the whole future (`prepare(stream)`) before the first access
    offline: bool = False

    def __init__(self, capacity: int, *, on_evict: EvictHook | None = None) -> None:
        if capacity < 1:
            raise ValueError(f"cache capacity must be at least 1, got {capacity}")
        self.capacity = int(capacity)
        self.used = 0
        self.on_evict = on_evict

    @abstractmethod
    def access(self, key: Hashable, size: int = 1, tag: int = 0) -> bool:
        """Serve one request; True on a hit. On a miss the policy may admit `key`."""

    @abstractmethod
    def __contains__(self, key: object) -> bool: ...

    @abstractmethod
    def __len__(self) -> int: ...

    def _evicted(self, key: Hashable) -> None:
        if self.on_evict is not None:
            self.on_evict(key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(capacity={self.capacity}, resident={len(self)}, used={self.used})"
