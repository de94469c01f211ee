"""Bench rows for the policy lab: simulator speed and the learned policy's CPU against our LRU.

Issue targets: LRU and S3-FIFO replay at least 500,000 requests/s; the learned
policy costs at most 10x our LRU's CPU per request. Both sides run in this
process on the same stream, interleaved, so machine load hits them alike.
"""

from __future__ import annotations

from .context import Context
from .timing import CaseResult, Plan, Target


def policies(ctx: Context) -> list[CaseResult]:
    from ..policies import make_policy, simulate
    from ..workloads import make_workload

    stream = make_workload("zipf0.8", 1, requests=100_000 if ctx.quick else 1_000_000)
    capacity = stream.capacity(0.05)

    def per_request(name: str):
        return lambda: simulate(make_policy(name, capacity), stream).cpu_s / len(stream)

    plan = Plan(rounds=3 if ctx.quick else 5, min_rounds=2, warmup=0 if ctx.quick else 1, budget_s=ctx.plan.budget_s)
    rows = []
    for name, target in (("s3fifo", Target("<=", 1e-6 / 0.5, on="ours_s")), ("learned", Target("<=", 10.0))):
        label = (f"policy {name}: seconds per request vs our LRU (time ratio), zipf0.8 at 5%, "
                 f"{len(stream):,} requests")
        ours, lru = ctx.compare(label, per_request(name), per_request("lru"), plan=plan)
        rows.append(CaseResult(label, "time", ours, lru, target=target,
                               ours_label=f"simulate({name})", baseline_label="simulate(lru)",
                               extra={f"{name}_requests_per_s": 1.0 / ours.median,
                                      "lru_requests_per_s": 1.0 / lru.median}))
    return rows
