"""IOWarp cases: the bridge's put and get, and a folder ingest, against the native client in-process.

| case   | ours                                            | baseline                                        |
|--------|-------------------------------------------------|-------------------------------------------------|
| bridge | IOWarpTier put_blob (new blob) / get_blob       | the bridge's own NativeIOWarp, in-process       |
| ingest | `assimilate folder::` via IOWarpEnv.step        | read each file + raw native put into a new tag  |

The native side runs in a worker process (see `native`).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from .context import Context, KiB, MiB, size_label
from .timing import CaseResult, Plan, Target, time_batch, time_once


# -- bridge --------------------------------------------------------------------------------
def bridge(ctx: Context) -> list[CaseResult]:
    tier = ctx.store.iowarp
    ours_tag, native_tag = ctx.tag("bridge"), ctx.tag("native")
    results = []
    counts = {KiB: 300, MiB: 20, 16 * MiB: 4}
    for size, number in counts.items():
        number = ctx.plan.n(number) if size < 16 * MiB else max(2, ctx.plan.n(number))
        data = os.urandom(size)
        blob = f"p{size}"
        # issue 10's targets: 16 MiB >= 0.6 both ways, 1 MiB put >= 0.6 and get >= 0.5
        target = Target(">=", 0.6) if size >= MiB else None
        get_target = Target(">=", 0.5) if size == MiB else target
        name = f"bridge put {size_label(size)} (MB/s ratio)"

        def ours_put() -> float:
            # new blobs, dropped after the round (untimed): a replace would time the
            # runtime's DelBlob, whose latency after a big put swings from 1 ms to 1 s
            names = [f"{blob}_{uuid.uuid4().hex[:8]}_{k}" for k in range(number)]
            fresh = iter(names)
            out = time_batch(lambda: tier.put_blob(ours_tag, next(fresh), [data]), number)
            tier.delete_blobs(ours_tag, names)
            return out

        a, b = ctx.compare(name, ours_put,
                           lambda: ctx.native.call("put", tag=native_tag, blob=blob, size=size, number=number))
        results.append(CaseResult(name, "throughput", a, b, target=target, nbytes=size,
                                  ours_label="IOWarpTier.put_blob of a new blob through the bridge",
                                  baseline_label="native client put of a new blob, in-process"))
        tier.put_blob(ours_tag, blob, [data])  # what both sides read next
        name = f"bridge get {size_label(size)} (MB/s ratio)"
        a, b = ctx.compare(
            name,
            lambda: time_batch(lambda: tier.get_blob(ours_tag, blob), number),
            lambda: ctx.native.call("get", tag=ours_tag, blob=blob, number=number),
        )
        results.append(CaseResult(name, "throughput", a, b, target=get_target, nbytes=size,
                                  ours_label="IOWarpTier.get_blob through the bridge (verified)",
                                  baseline_label="native client get of the same blob, in-process"))
    return results


# -- ingest --------------------------------------------------------------------------------
SMALL_FILES, SMALL_BYTES = 1000, 4 * KiB
BIG_FILES, BIG_BYTES = 8, 16 * MiB


def make_ingest_folder(root: Path) -> tuple[Path, int, int]:
    """1,000 x 4 KiB + 8 x 16 MiB random files (reused when already there)."""
    folder = root / "ingest_src"
    total = SMALL_FILES * SMALL_BYTES + BIG_FILES * BIG_BYTES
    files = SMALL_FILES + BIG_FILES
    existing = [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
    if len(existing) == files and sum(p.stat().st_size for p in existing) == total:
        return folder, files, total
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "small").mkdir(parents=True)
    (folder / "big").mkdir()
    for i in range(SMALL_FILES):
        (folder / "small" / f"{i:04d}.bin").write_bytes(os.urandom(SMALL_BYTES))
    for i in range(BIG_FILES):
        (folder / "big" / f"{i}.bin").write_bytes(os.urandom(BIG_BYTES))
    return folder, files, total


def ingest(ctx: Context) -> list[CaseResult]:
    from ..env import IOWarpEnv
    from ..trajectory import Trajectory
    from ..sources import DataRoots

    folder, files, total = make_ingest_folder(ctx.workdir)
    store = ctx.store
    env = IOWarpEnv(store, roots=DataRoots([folder]), trajectory=Trajectory())

    def ours() -> float:
        tag = f"afbench_ingest_{uuid.uuid4().hex[:8]}"
        action = {"action": "assimilate", "params": {"src": f"folder::{folder}", "dst": tag}}
        try:
            obs: dict[str, Any] = {}
            elapsed = time_once(lambda: obs.update(info=env.step(action)[4]))
            observation = obs["info"]["observation"]
            if not observation.ok or len(observation.blobs) != files:
                raise RuntimeError(f"assimilate folder:: failed: {observation.error}: {observation.message}")
            return elapsed
        finally:
            try:
                store.destroy([tag])
            except Exception:
                pass

    def base() -> float:
        return ctx.native.call("ingest", folder=str(folder), tag=f"afbench_ingest_native_{uuid.uuid4().hex[:8]}")

    plan = Plan(rounds=3 if ctx.quick else 7, min_rounds=2, warmup=0 if ctx.quick else 1, budget_s=ctx.plan.budget_s * 2)
    name = f"ingest {SMALL_FILES}x{size_label(SMALL_BYTES)} + {BIG_FILES}x{size_label(BIG_BYTES)} (MB/s ratio)"
    a, b = ctx.compare(name, ours, base, plan)
    return [CaseResult(name, "throughput", a, b, target=Target(">=", 0.7), nbytes=total,
                       ours_label="IOWarpEnv.step(assimilate folder::) write-through (IOWarp, then memcached)",
                       baseline_label="read each file + native put, in-process", extra={"files": files})]
