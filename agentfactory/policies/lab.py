"""Policy comparisons as data: workloads x cache sizes x seeds x policies -> DataFrame.

The CLI (`agentfactory policies`), the notebook and a Ray sweep all call
`compare`, so a number quoted anywhere is reproduced by one call with the same
arguments. Results are plain rows (one per run); `summarize` turns them into
means with 95% confidence intervals over seeds, and `nested` into the
`{workload: {fraction: {policy: miss_ratio}}}` object the CLI prints.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from scipy import stats

from ..core.errors import ConfigError
from ..workloads import RequestStream, make_workload, read_trace, workload_names
from .registry import DEFAULT_POLICIES, PEERS, policy_class, policy_names
from .simulator import SimResult, simulate

RESULT_COLUMNS = ["workload", "fraction", "seed", "policy", "miss_ratio", "byte_miss_ratio",
                  "requests", "capacity", "cpu_s", "requests_per_s"]


@dataclass(frozen=True)
class Job:
    """One stream (a workload at a seed, or a trace) and everything to run on it."""

    workload: str
    seed: int | None
    fractions: tuple[str, ...]
    policies: tuple[str, ...]
    requests: int | None = None
    trace: str | None = None
    bytes_mode: bool = False

    def stream(self) -> RequestStream:
        if self.trace is not None:
            return read_trace(self.trace, max_requests=self.requests)
        return make_workload(self.workload, self.seed or 0, self.requests)


def check_policies(names: Sequence[str]) -> list[str]:
    """Validate policy keys early (before minutes of simulation), with the known keys in the error."""
    known = policy_names(with_peers=True, with_extra=True)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"unknown polic{'y' if len(unknown) == 1 else 'ies'}: {', '.join(unknown)}",
                          hint=f"known: {', '.join(known)}")
    return list(dict.fromkeys(names))


def check_fractions(fractions: Sequence[str | float]) -> list[str]:
    out = []
    for raw in fractions:
        text = str(raw).strip()
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"cache size {text!r} is not a number", hint="sizes are fractions, e.g. 0.01,0.05,0.1") from None
        if not 0 < value <= 1:
            raise ConfigError(f"cache size {text} is not a fraction in (0, 1]", hint="0.05 = 5% of the distinct objects")
        out.append(text)
    return out


def run_job(job: Job) -> list[dict]:
    """Every fraction x policy of one job, as result rows (runs in a worker process too)."""
    stream = job.stream()
    rows = []
    for fraction in job.fractions:
        value = float(fraction)
        capacity = stream.byte_capacity(value) if job.bytes_mode else stream.capacity(value)
        peers = [p for p in job.policies if p in PEERS]
        results: dict[str, SimResult] = {}
        if peers:
            from .peers import run_peers  # GPL-3.0 extra: imported only when asked for

            results.update(run_peers(peers, stream, capacity, bytes_mode=job.bytes_mode))
        for name in job.policies:
            if name not in results:
                results[name] = simulate(policy_class(name)(capacity), stream, bytes_mode=job.bytes_mode)
        for name in job.policies:
            r = results[name]
            rows.append({
                "workload": job.workload, "fraction": fraction, "seed": job.seed, "policy": name,
                "miss_ratio": r.miss_ratio,
                "byte_miss_ratio": r.byte_miss_ratio if r.bytes_missed >= 0 else math.nan,
                "requests": r.requests, "capacity": capacity, "cpu_s": r.cpu_s,
                "requests_per_s": r.requests_per_s,
            })
    return rows


def plan(workloads: Sequence[str] = (), *, traces: Sequence[str | Path] = (), fractions: Sequence[str | float] = ("0.05",),
         seeds: int | Sequence[int] = 5, policies: Sequence[str] = DEFAULT_POLICIES, requests: int | None = None,
         bytes_mode: bool = False) -> list[Job]:
    """The jobs of a comparison; validates every argument before anything runs.

    seeds: a count (seeds 0..n-1) or explicit seeds; a trace is replayed once (it has no seed).
    """
    fractions = tuple(check_fractions(fractions))
    policies = tuple(check_policies(policies))
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seed_list:
        raise ConfigError("at least one seed is needed", hint="--seeds 5")
    known = workload_names()
    for name in workloads:
        if name not in known:
            raise ConfigError(f"unknown workload {name!r}", hint=f"known: {', '.join(known)}; or --trace FILE.csv")
    if not workloads and not traces:
        raise ConfigError("nothing to compare", hint="name a --workload or a --trace")
    jobs = [Job(name, seed, fractions, policies, requests, bytes_mode=bytes_mode)
            for name in workloads for seed in seed_list]
    for trace in traces:
        path = Path(trace)
        if not path.is_file():
            raise ConfigError(f"trace file not found: {path}")
        jobs.append(Job(path.stem, None, fractions, policies, requests, trace=str(path), bytes_mode=bytes_mode))
    return jobs


def compare(workloads: Sequence[str] = (), *, traces: Sequence[str | Path] = (),
            fractions: Sequence[str | float] = ("0.05",), seeds: int | Sequence[int] = 5,
            policies: Sequence[str] = DEFAULT_POLICIES, requests: int | None = None, bytes_mode: bool = False,
            jobs: int = 1, progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Run the comparison; one row per (workload, fraction, seed, policy).

    jobs: worker processes (each job = one stream); 1 runs in this process.
        CPU times stay per-run figures either way (process time of the run).
    progress: called as progress(0, total) once arguments are checked, then after each stream.
    """
    work = plan(workloads, traces=traces, fractions=fractions, seeds=seeds, policies=policies,
                requests=requests, bytes_mode=bytes_mode)
    rows: list[dict] = []
    if progress:
        progress(0, len(work))
    if jobs <= 1:
        for done, job in enumerate(work, 1):
            rows += run_job(job)
            if progress:
                progress(done, len(work))
    else:
        with ProcessPoolExecutor(max_workers=min(jobs, os.cpu_count() or 1)) as pool:
            futures = [pool.submit(run_job, job) for job in work]
            for done, future in enumerate(as_completed(futures), 1):
                rows += future.result()
                if progress:
                    progress(done, len(work))
    frame = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    # keep the order the user asked for (workloads, sizes, policies), not alphabetical
    order = {"workload": list(dict.fromkeys(j.workload for j in work)), "fraction": list(work[0].fractions),
             "policy": list(work[0].policies)}
    return frame.sort_values(["workload", "fraction", "policy", "seed"], ignore_index=True,
                             key=lambda col: col.map({v: i for i, v in enumerate(order[col.name])})
                             if col.name in order else col)


def ci95(values: pd.Series) -> float:
    """Half-width of the 95% confidence interval of the mean (Student t); 0 for one value."""
    n = values.count()
    if n < 2:
        return 0.0
    return float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n))


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% CI over seeds per (workload, fraction, policy), with CPU cost per request."""
    grouped = results.groupby(["workload", "fraction", "policy"], sort=False)
    summary = grouped.agg(
        miss_ratio=("miss_ratio", "mean"), miss_ratio_ci95=("miss_ratio", ci95),
        byte_miss_ratio=("byte_miss_ratio", "mean"), seeds=("miss_ratio", "count"),
        cpu_s=("cpu_s", "sum"), requests=("requests", "sum"),
    ).reset_index()
    summary["cpu_us_per_request"] = 1e6 * summary["cpu_s"] / summary["requests"]
    summary["requests_per_s"] = summary["requests"] / summary["cpu_s"]
    return summary.drop(columns=["cpu_s", "requests"])


def nested(summary: pd.DataFrame, column: str = "miss_ratio") -> dict:
    """`{workload: {fraction: {policy: value}}}` (the CLI's --json object)."""
    out: dict = {}
    for row in summary.itertuples(index=False):
        out.setdefault(row.workload, {}).setdefault(row.fraction, {})[row.policy] = float(getattr(row, column))
    return out


def paired_gaps(results: pd.DataFrame, policy: str = "learned", against: Sequence[str] | None = None) -> pd.DataFrame:
    """Per (workload, fraction): `policy` minus the best other policy, paired by seed, with a 95% CI.

    The best other policy is the one with the lowest mean among `against`
    (default: every online policy present; belady and oracle are limits, not rivals).
    A negative `gap` whose CI excludes zero is a win that is not a one-seed accident.
    """
    limits = {"belady", "oracle", policy}
    rows = []
    for (workload, fraction), group in results.groupby(["workload", "fraction"], sort=False):
        means = group.groupby("policy")["miss_ratio"].mean()
        rivals = [p for p in (against or means.index) if p not in limits and p in means.index]
        if policy not in means.index or not rivals:
            continue
        best = min(rivals, key=means.__getitem__)
        pivot = group.pivot_table(index="seed", columns="policy", values="miss_ratio", dropna=False)
        diff = (pivot[policy] - pivot[best]).dropna() if len(pivot) else pd.Series(dtype=float)
        rows.append({"workload": workload, "fraction": fraction, "best_rival": best,
                     "rival_miss_ratio": means[best], "policy_miss_ratio": means[policy],
                     "gap": float(diff.mean()), "gap_ci95": ci95(diff),
                     "relative_gap": float(diff.mean() / means[best]) if means[best] else math.nan})
    return pd.DataFrame(rows)


def learning_curves(stream: RequestStream, fraction: float | str, policies: Sequence[str] = ("learned", "wtinylfu"),
                    *, window: int | None = None, points: int = 200) -> pd.DataFrame:
    """Rolling miss ratio over the requests of `stream`, one column set per policy (long format).

    Columns: `request` (index of the last request in the window), `policy`,
    `miss_ratio` (over the last `window` requests; default len/50). Drift shows
    as a spike; a policy that learns shows the spike shrinking faster.
    """
    capacity = stream.capacity(float(fraction))
    window = window or max(100, len(stream) // 50)
    step = max(1, len(stream) // points)
    frames = []
    for name in check_policies(policies):
        if name in PEERS:
            raise ConfigError(f"{name} runs inside libcachesim and has no per-request record",
                              hint="learning curves take our policies")
        hits = simulate(policy_class(name)(capacity), stream, record=True).hits
        misses = pd.Series(~hits, dtype=float).rolling(window, min_periods=window).mean()
        sampled = misses.iloc[window - 1::step]
        frames.append(pd.DataFrame({"request": sampled.index + 1, "policy": name, "miss_ratio": sampled.to_numpy()}))
    return pd.concat(frames, ignore_index=True)
