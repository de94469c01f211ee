"""`agentfactory bench`: services, warm-up, the selected cases, then a table or JSON.

Services: the bench uses a home of its own (`<state dir>/bench`, or `--home`),
so it never measures or disturbs the user's everyday store. Whatever is
already running in that home is used and left running; whatever the bench
starts it stops at the end, and only that, by PID. Cases that need no store
(trajectory, router) start nothing.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..core.vocabulary import SERVICE_NAMES
from .cases import CASES, CaseGroup
from .context import Context, MemBlob
from .timing import CaseResult, Plan, Sample, fmt_seconds, perf, render_table


def default_home() -> Path:
    from ..config import default_home as user_home

    return user_home() / "bench"


def select(only: Sequence[str] | None) -> list[str]:
    """Case groups named by `--only` (repeatable, comma lists allowed), in the standard order."""
    if not only:
        return list(CASES)
    wanted = {w.strip().lower() for item in only for w in item.split(",") if w.strip()}
    unknown = wanted - set(CASES)
    if unknown:
        from ..core.errors import ConfigError

        raise ConfigError(f"unknown bench case(s): {', '.join(sorted(unknown))}",
                          hint=f"cases are {', '.join(CASES)}")
    return [name for name in CASES if name in wanted]


def plan_for(quick: bool) -> Plan:
    if quick:
        return Plan(rounds=3, min_rounds=2, warmup=1, budget_s=8.0, scale=0.3)
    return Plan(rounds=15, min_rounds=3, warmup=1, budget_s=40.0, scale=1.0)


# Seconds the measurements of all cases may take together (services and data set-up
# come on top); each row gets a share of what is left, so a slow machine gets fewer
# rounds rather than a run that never ends.
TIME_BUDGET_S = {True: 80.0, False: 420.0}


# -- services --------------------------------------------------------------------------
class BenchServices:
    """Up the services of `home`, remembering which of them this bench started."""

    def __init__(self, home: Path, say: Callable[[str], None], *, private: bool = False) -> None:
        from ..config import Settings
        from ..services import Services

        self.services = Services(Settings.from_env(home=home))
        self.say = say
        self.private = private  # the bench's own home: runtime state there is only bench data
        self.started: list[str] = []
        self.state: Any = None

    def up(self) -> Any:
        running = self.services.running()
        try:
            self.state = self.services.up(progress=self.say)
        finally:
            # also when up() fails half-way: what it did start must be stopped again
            state = self.state or self.services.load_state()
            for name in SERVICE_NAMES:
                info = getattr(state, name, None) if state else None
                if info and info.pid and info.started_by_us and running.get(name) != info.pid:
                    self.started.append(name)
            self.state = state
        return self.state

    def down(self) -> None:
        """Stop what this bench started; services that were up before it stay up."""
        if not self.started:
            if self.state is not None:
                self.say("services: left running (they were up before the bench)")
            return
        svc = self.services
        svc.down(progress=self.say, only=self.started)
        if self.private and "iowarp" in self.started:
            # the runtime persists its disk tier and BM25 index (hundreds of MB after
            # a run); in the bench's own home that is only benchmark data: drop it
            for sub in ("storage", "conf"):
                shutil.rmtree(svc.iowarp_dir / sub, ignore_errors=True)
        self.started = []


def warm_up(ctx: Context) -> None:
    """First requests pay for connections, tag creation and lazy segments: not part of any case."""
    store = ctx.store
    tag = ctx.tag("warmup")
    for size in (1 << 10, 1 << 20, 16 << 20):
        store.assimilate([MemBlob(f"w{size}", b"x" * size)], tag)
        for _ in range(5 if size < 16 << 20 else 2):
            store.retrieve(tag, f"w{size}")
    if ctx.native is not None:
        ctx.native.call("get", tag=tag, blob="w1024", number=5)
        ctx.native.call("get", tag=tag, blob=f"w{16 << 20}", number=2)
        ctx.native.call("put", tag=tag, blob="native_w", size=16 << 20, number=2)


# -- running ------------------------------------------------------------------------------
def run(*, quick: bool = False, only: Sequence[str] | None = None, home: Path | None = None,
        progress: bool = True, say: Callable[[str], None] | None = None) -> list[CaseResult]:
    from tqdm import tqdm

    names = select(only)
    groups = [CASES[n] for n in names]
    plan = plan_for(quick)
    total = sum(g.rows * plan.rounds for g in groups)
    bar = tqdm(total=total, file=sys.stderr, disable=None if progress else True, unit="round",
               dynamic_ncols=True, leave=False)
    say = say or (lambda msg: bar.write(msg, file=sys.stderr))
    private = home is None
    home = Path(home) if home else default_home()
    home.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="afbench_", dir=home))
    ctx = Context(plan=plan, quick=quick, workdir=workdir, tick=lambda: bar.update(1),
                  describe=lambda name: bar.set_description_str(name[:40]), rows_left=sum(g.rows for g in groups))
    services: BenchServices | None = None
    results: list[CaseResult] = []
    try:
        if any(g.needs_store for g in groups):
            bar.set_description_str("services")
            services = BenchServices(home, say, private=private)
            _open(ctx, services, home, say, native=any(g.needs_native for g in groups))
            bar.set_description_str("warm-up")
            warm_up(ctx)
        ctx.deadline = perf() + TIME_BUDGET_S[quick]
        for group in groups:
            results.extend(_run_group(ctx, group))
    finally:
        bar.close()
        _close(ctx, services)
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def _open(ctx: Context, services: BenchServices, home: Path, say: Callable[[str], None], *, native: bool) -> None:
    """Up the services, open the store and, when a case needs it, the native worker."""
    state = services.up()
    ctx.store = services.services.open_store(state)
    if state.cache_mode == "memcached" and state.memcached_servers:
        ctx.memcached_server = state.memcached_servers[0]
    if not native:
        return
    from .native import NativeWorker

    if state.iowarp is None:
        say("native baselines: no managed IOWarp runtime in this home (AGENTFACTORY_BRIDGE is set?)")
    else:
        ctx.native = NativeWorker(services.services.runtime_env(), home / "bench-native.log")
        ctx.native.start()


def _run_group(ctx: Context, group: CaseGroup) -> list[CaseResult]:
    if group.needs_native and ctx.native is None:
        return [CaseResult(group.name, "time", Sample(), Sample(), skipped="no native IOWarp client")]
    started = time.monotonic()
    rows = group.run(ctx)
    for row in rows:
        row.extra.setdefault("case_wall_s", round(time.monotonic() - started, 2))
    return rows


def _close(ctx: Context, services: BenchServices | None) -> None:
    """Drop the bench's tags, close the store and the worker, stop what the bench started."""
    if ctx.store is not None:
        for tag in ctx.tags:
            try:
                if ctx.store.iowarp.tag_exists(tag):
                    ctx.store.destroy([tag])
            except Exception:
                pass
        ctx.store.close()
    if ctx.native is not None:
        ctx.native.close()
    if services is not None:
        services.down()


def summary(results: list[CaseResult]) -> str:
    met = [r.name for r in results if r.met is True]
    missed = [r.name for r in results if r.met is False]
    lines = [f"targets met: {len(met)} of {len(met) + len(missed)}"]
    for r in results:
        if r.met is False and r.target and r.target.on == "ours_s":
            lines.append(f"  missed: {r.name} (ours {fmt_seconds(r.ours.median)}; "
                         f"fastest round {fmt_seconds(r.ours.min)})")
        elif r.met is False:
            lines.append(f"  missed: {r.name} (ratio {r.ratio:.2f}; from the fastest rounds {r.ratio_of_mins:.2f})")
    for r in results:
        if "record_us_per_step" in r.extra:
            lines.append(f"trajectory: {r.extra['record_us_per_step']:.2f} µs per recorded step, "
                         f"to_frame {r.extra['to_frame_ms']:.1f} ms, CPU time {r.extra['ours_cpu_s']:.3f} s")
        if "commands_per_s" in r.extra:
            lines.append(f"router: {r.extra['commands_per_s']:,.0f} commands/s "
                         f"({r.extra['routed']} of {r.extra['commands']} example commands routable)")
    return "\n".join(lines)


def main(args: Any) -> int:
    started = time.monotonic()
    results = run(quick=args.quick, only=args.only, home=args.home, progress=not args.no_progress)
    if args.json:
        print(json.dumps({r.name: r.to_json() for r in results}, indent=None))
    else:
        print(render_table(results))
        print()
        print(summary(results))
        print(f"({'quick' if args.quick else 'full'} run, {time.monotonic() - started:.0f} s)")
    return 0
