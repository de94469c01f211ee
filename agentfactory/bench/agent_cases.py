"""Agent-loop cases with no services: recording steps and routing commands, against the obvious code.

| case       | ours                                       | baseline                                 |
|------------|--------------------------------------------|------------------------------------------|
| trajectory | 100,000 `Trajectory.record` + `to_frame()` | list of dict rows + `pd.DataFrame(rows)` |
| router     | rule coordinator `route`, per command      | `parse_command` alone                    |
"""

from __future__ import annotations

import statistics
import time

from .context import Context
from .timing import CaseResult, Plan, Target, perf, time_batch

# -- trajectory ----------------------------------------------------------------------------
TRAJECTORY_STEPS = 100_000


def trajectory(ctx: Context) -> list[CaseResult]:
    import pandas as pd

    from ..trajectory import Trajectory

    n = TRAJECTORY_STEPS
    params = [{"tag": "docs", "blob_name": f"blob_{i}.bin"} for i in range(100)]
    record_us: list[float] = []
    frame_ms: list[float] = []
    cpu_s: list[float] = []

    def ours() -> float:
        t = Trajectory()
        rec = t.record
        cpu = time.process_time()
        start = perf()
        for i in range(n):
            hit = i % 3 != 0
            rec(agent="retriever", action="retrieve", params=params[i % 100], ok=True, reward=0.3 if hit else 0.2,
                cache_hit=hit, tier="cache" if hit else "iowarp", blobs=1, bytes=4096, latency_ms=0.12,
                error=None, command="get blob from docs")
        mid = perf()
        df = t.to_frame()
        end = perf()
        cpu_s.append(time.process_time() - cpu)
        assert len(df) == n
        record_us.append((mid - start) / n * 1e6)
        frame_ms.append((end - mid) * 1e3)
        return end - start

    def base() -> float:
        # the obvious recorder: a dict per row, one DataFrame at the end
        rows = []
        append = rows.append
        start = perf()
        for i in range(n):
            hit = i % 3 != 0
            append({"step": i, "episode": 0, "time": pd.Timestamp.now(tz="UTC") if i == 0 else None,
                    "agent": "retriever", "command": "get blob from docs", "action": "retrieve",
                    "params": params[i % 100], "ok": True, "reward": 0.3 if hit else 0.2, "cache_hit": hit,
                    "tier": "cache" if hit else "iowarp", "blobs": 1, "bytes": 4096, "latency_ms": 0.12,
                    "error": None})
        df = pd.DataFrame(rows)
        assert len(df) == n
        return perf() - start

    plan = Plan(rounds=2 if ctx.quick else 7, min_rounds=2, warmup=0 if ctx.quick else 1, budget_s=ctx.plan.budget_s)
    name = f"trajectory {n:,} steps + to_frame (time ratio)"
    a, b = ctx.compare(name, ours, base, plan)
    # CPU time too: on a shared machine wall time drifts with the neighbours' load
    extra = {"record_us_per_step": statistics.median(record_us[-len(a):]),
             "to_frame_ms": statistics.median(frame_ms[-len(a):]),
             "ours_cpu_s": statistics.median(cpu_s[-len(a):]), "steps": n}
    return [CaseResult(name, "time", a, b, target=Target("<", 0.5, on="ours_s"), extra=extra,
                       ours_label="Trajectory.record x N (columnar) + to_frame()",
                       baseline_label="list of dict rows + pd.DataFrame(rows)")]


# -- router --------------------------------------------------------------------------------
# The public example commands (tests/data/commands.jsonl), kept here so an
# installed package can run the benchmark; tests check the two stay equal.
EXAMPLE_COMMANDS: tuple[str, ...] = (
    "load file::data/sample_docs/api_reference.md as docs",
    "ingest file::data/sample_docs/api_reference.md as docs",
    "ingest folder::./data/sample_docs into docs",
    "assimilate hdf5::data/run42.h5 as sim_run42",
    "load file::results/metrics.csv into tag metrics",
    "search all data",
    "query docs",
    "find everything tagged sim_*",
    "get api_reference.md from docs",
    "retrieve metrics.csv from metrics",
    "show me the blob notes.txt in tag docs",
    "prune api_reference.md from docs",
    "evict a.md and b.md from the docs cache",
    "destroy old_experiments",
    "permanently delete tags scratch and tmp_run",
    "list blobs in docs",
    "what blobs are under sim_*?",
    "make me a sandwich",
    "",
)


def router(ctx: Context) -> list[CaseResult]:
    from ..agents.rules import parse_command
    from ..config import Settings
    from ..core.errors import AgentFactoryError
    from ..factory import BlueprintRegistry
    from ..session import Session

    # built-in blueprints only, so the number does not depend on the user's folder
    registry = BlueprintRegistry(user_dir=ctx.workdir / "no_user_blueprints")
    session = Session(settings=Settings(home=ctx.workdir), registry=registry, backend="rule")
    coordinator = session.coordinator()
    commands = EXAMPLE_COMMANDS
    routed = 0

    def route_all() -> None:
        nonlocal routed
        routed = 0
        for cmd in commands:
            try:
                coordinator.route(cmd)
                routed += 1
            except AgentFactoryError:
                pass

    def parse_all() -> None:
        for cmd in commands:
            try:
                parse_command(cmd)
            except AgentFactoryError:
                pass

    number = ctx.plan.n(100)
    per = len(commands)
    name = "router: rule coordinator, per command (time ratio)"
    a, b = ctx.compare(name, lambda: time_batch(route_all, number) / per, lambda: time_batch(parse_all, number) / per)
    return [CaseResult(name, "time", a, b, target=None,
                       extra={"commands_per_s": 1.0 / a.median, "commands": per, "routed": routed},
                       ours_label="Coordinator.route (rule router over the discovered agents)",
                       baseline_label="rules.parse_command alone")]
