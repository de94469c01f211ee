"""`agentfactory bench`: our paths against the rawest way to do the same work.

    agentfactory bench [--quick] [--json] [--only NAME ...] [--home DIR]

Cases (`--only` names): hit, miss, bridge, ingest, trajectory, router,
policies; `cases` names them and points at the module of each group
(`cache_cases`, `iowarp_cases`, `agent_cases`, `policy_cases`), which says
what each side does. `context` is what a case is handed, `timing` what they
share (timers, warm-up, interleaved rounds, results, the table), `native` the
worker process that runs the native IOWarp client for the baselines,
`runner` the services and the output. Everything is in the package so users
can run it on their own hardware.
"""

from __future__ import annotations

from .cases import CASES
from .runner import run
from .timing import CaseResult, Plan, Sample, Target, compare, render_table

__all__ = ["CASES", "CaseResult", "Plan", "Sample", "Target", "compare", "render_table", "run"]
