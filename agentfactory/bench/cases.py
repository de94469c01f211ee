"""The benchmark cases by name: our path against the rawest way to do the same work.

Every case is a function `(ctx) -> list[CaseResult]`; `CASES` names them for
`--only`, in the order they run. Each group's module says what its two sides
do: `cache_cases` (hit, miss), `iowarp_cases` (bridge, ingest), `agent_cases`
(trajectory, router), `policy_cases` (policies). Timing, warm-up,
interleaving and the table live in `timing`; what a case is handed, in
`context`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .agent_cases import router, trajectory
from .cache_cases import hit_path, miss_path
from .context import Context
from .iowarp_cases import bridge, ingest
from .policy_cases import policies
from .timing import CaseResult


@dataclass(frozen=True)
class CaseGroup:
    name: str
    run: Callable[[Context], list[CaseResult]]
    needs_store: bool
    needs_native: bool
    rows: int  # result rows it produces (progress bar, time shares)


CASES: dict[str, CaseGroup] = {
    g.name: g
    for g in (
        CaseGroup("hit", hit_path, True, False, 3),
        CaseGroup("miss", miss_path, True, True, 2),
        CaseGroup("bridge", bridge, True, True, 6),
        CaseGroup("ingest", ingest, True, True, 1),
        CaseGroup("trajectory", trajectory, False, False, 1),
        CaseGroup("router", router, False, False, 1),
        CaseGroup("policies", policies, False, False, 2),
    )
}
