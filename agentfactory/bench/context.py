"""What every case is handed: the plan, the open store and worker, and the time left.

Its own module so that the case modules and the runner import it without
importing each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..core.endpoints import parse_host_port
from .timing import Plan, Sample, compare, perf

KiB, MiB = 1 << 10, 1 << 20


def size_label(n: int) -> str:
    return f"{n // MiB} MiB" if n >= MiB else f"{n // KiB} KiB"


@dataclass
class Context:
    """What cases need; store and native worker are opened by the runner on demand."""

    plan: Plan
    quick: bool
    workdir: Path
    store: Any = None  # TwoTierStore
    native: Any = None  # NativeWorker
    memcached_server: str | None = None
    tick: Callable[[], None] | None = None
    describe: Callable[[str], None] = lambda _name: None
    tags: list[str] = field(default_factory=list)
    deadline: float = float("inf")  # perf() time by which every selected case should be done
    rows_left: int = 1  # result rows still to measure (shares out the time left)

    def tag(self, label: str) -> str:
        tag = f"afbench_{label}_{uuid.uuid4().hex[:8]}"
        self.tags.append(tag)
        return tag

    def compare(self, name: str, ours: Callable[[], float], baseline: Callable[[], float],
                plan: Plan | None = None) -> tuple[Sample, Sample]:
        """Interleaved rounds of both sides, within this row's share of the time left."""
        self.describe(name)
        plan = plan or self.plan
        share = (self.deadline - perf()) / max(1, self.rows_left)
        budget = min(plan.budget_s, max(1.0, share))
        try:
            return compare(ours, baseline, replace(plan, budget_s=budget), tick=self.tick)
        finally:
            self.rows_left = max(1, self.rows_left - 1)


class MemBlob:
    """A BlobSource over bytes in memory."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self.size, self.metadata, self._data = name, len(data), {}, data

    def chunks(self) -> Iterator[bytes]:
        yield self._data


def raw_memcached(server: str) -> Any:
    """A bare pymemcache client with the options our backend uses: TCP_NODELAY, timeouts, replies awaited."""
    from pymemcache.client.base import Client

    return Client(parse_host_port(server), connect_timeout=0.5, timeout=1.0, no_delay=True, default_noreply=False)
