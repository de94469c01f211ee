"""`agentfactory policies`: the policy lab from a shell, one command per published table.

Kept beside the lab rather than in cli.py so the command's arguments and the
`compare` call they map to are read together.
"""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from ..workloads import workload_names
from .registry import DEFAULT_POLICIES, PEERS, policy_names


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "policies", help="compare cache policies (heuristics, Belady, learned) on seeded workloads or a trace",
        description="Miss ratios of cache policies, mean over seeds, on workloads or a CSV trace "
                    "(header: key[,tag,size,time]). Example: agentfactory policies --workload tenants "
                    "--sizes 0.05,0.1 --seeds 5")
    p.add_argument("--workload", type=_csv, default=[], metavar="NAME[,NAME...]",
                   help=f"workloads: {', '.join(workload_names())}")
    p.add_argument("--trace", action="append", default=[], metavar="FILE.csv",
                   help="replay a CSV trace (repeatable); its key in the output is the file's stem")
    p.add_argument("--sizes", type=_csv, default=["0.01", "0.05", "0.1"], metavar="F[,F...]",
                   help="cache sizes as fractions of the distinct objects (default 0.01,0.05,0.1)")
    p.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 per workload (default 5)")
    p.add_argument("--policies", type=_csv, default=None, metavar="KEY[,KEY...]",
                   help=f"policy keys (default: {','.join(DEFAULT_POLICIES)}); also: "
                        f"{', '.join(k for k in policy_names(with_peers=True, with_extra=True) if k not in DEFAULT_POLICIES)}")
    p.add_argument("--with-libcachesim", action="store_true",
                   help=f"also run libcachesim's peers on the same stream ({', '.join(PEERS)}); needs the GPL-3.0 extra")
    p.add_argument("--requests", type=int, default=None, help="scale every workload to N requests (traces: read N)")
    p.add_argument("--bytes", action="store_true", help="capacity in bytes (sizes are byte fractions) instead of objects")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true",
                     help="print ONE object {workload: {fraction: {policy: miss_ratio}}} (mean over seeds)")
    out.add_argument("--json-detail", action="store_true",
                     help="print {workload: {fraction: {policy: {miss_ratio, ci95, byte_miss_ratio, seeds, "
                          "cpu_us_per_request}}}}")
    p.add_argument("--csv", default=None, metavar="FILE", help="also write every run (one row per seed) to FILE")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def _table(summary: pd.DataFrame) -> str:
    cell = summary.apply(lambda r: f"{r.miss_ratio:.4f}" + (f" ±{r.miss_ratio_ci95:.4f}" if r.seeds > 1 else ""),
                         axis=1)
    frame = summary.assign(cell=cell).pivot(index=["workload", "fraction"], columns="policy", values="cell")
    frame = frame[list(dict.fromkeys(summary["policy"]))]
    speed = summary.groupby("policy", sort=False)["requests_per_s"].median()
    lines = ["miss ratio (mean ±95% CI over seeds)", frame.to_string(), "",
             "requests/s (median over runs): " + ", ".join(f"{k} {v:,.0f}" for k, v in speed.items())]
    return "\n".join(lines)


def _detail(summary: pd.DataFrame) -> dict:
    out: dict = {}
    for row in summary.itertuples(index=False):
        out.setdefault(row.workload, {}).setdefault(row.fraction, {})[row.policy] = {
            "miss_ratio": row.miss_ratio, "ci95": row.miss_ratio_ci95,
            "byte_miss_ratio": None if pd.isna(row.byte_miss_ratio) else row.byte_miss_ratio,
            "seeds": int(row.seeds), "cpu_us_per_request": row.cpu_us_per_request,
        }
    return out


def run(args: argparse.Namespace) -> int:
    from .lab import compare, nested, summarize

    policies = list(args.policies or DEFAULT_POLICIES)
    if args.with_libcachesim:
        policies += [p for p in PEERS if p not in policies]
    kwargs = dict(traces=args.trace, fractions=args.sizes, seeds=args.seeds, policies=policies,
                  requests=args.requests, bytes_mode=args.bytes)
    if any(p in PEERS for p in policies):
        from .peers import libcachesim_module

        libcachesim_module()  # say it is missing before any simulation runs
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="stream", desc="policies", file=sys.stderr)
        bar.n = done
        bar.refresh()

    try:
        results = compare(args.workload, jobs=args.jobs, progress=None if args.no_progress else progress, **kwargs)
    finally:
        if bar is not None:
            bar.close()
    if args.csv:
        results.to_csv(args.csv, index=False)
    summary = summarize(results)
    if args.json:
        print(json.dumps(nested(summary)))
    elif args.json_detail:
        print(json.dumps(_detail(summary)))
    else:
        print(_table(summary))
    return 0
