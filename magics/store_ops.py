"""The few store operations `%iowarp` needs that Session has no one call for.

`put` stores a Python object (bytes, str, numpy array) as one blob and records
it as a step of agent ``manual``, like `Session.manual` records the other
direct operations; the rest are read-only views turned into DataFrames.
Arrays keep their dtype and shape in the blob metadata, with the keys an
``hdf5::`` dataset uses, so a `get` gives back an array, not bytes.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from agentfactory.core.errors import AgentFactoryError
from agentfactory.rewards import RewardTable
from agentfactory.session import Session, StepRecord
from agentfactory.values import decode_value, value_blob

def put_value(session: Session, tag: str, blob: str, value: Any, *, source: str,
              command: str | None = None) -> StepRecord:
    """Store `value` as `tag/blob` (write-through, like assimilate) and record the step as `manual`.

    `source` names where the value came from (a variable name or ``literal``) for
    the trajectory's params. A store failure is a recorded failed step, not an
    exception; a value that cannot be stored raises TypeError before anything happens.
    """
    src, kind = value_blob(blob, value)
    params = {"src": f"python::{source}", "dst": tag, "blob_name": blob, "format": kind}
    store = session.store  # services up before the clock starts, as Session.run does
    started = time.perf_counter()
    try:
        result = store.assimilate([src], tag)
        ok, error, message, tier, blobs, nbytes = True, None, None, result.tier, len(result.blobs), result.bytes
    except AgentFactoryError as exc:
        ok, error, message, tier, blobs, nbytes = False, exc.code, exc.message, None, 0, 0
    latency_ms = (time.perf_counter() - started) * 1e3
    reward, _parts = RewardTable().score("assimilate", ok)
    session.trajectory.record(
        agent="manual", action="assimilate", params=params, ok=ok, reward=reward, tier=tier, blobs=blobs,
        bytes=nbytes, latency_ms=latency_ms, error=error, command=command,
    )
    return StepRecord(
        step=len(session.trajectory) - 1, command=command, agent="manual", action="assimilate", params=params,
        ok=ok, reward=reward, tier=tier, latency_ms=latency_ms, error=error, message=message,
    )


# -- views ----------------------------------------------------------------------------
def blobs_frame(session: Session, refs: list[Any]) -> pd.DataFrame:
    """tag, blob, cached: what IOWarp holds and whether the cache has it now."""
    by_tag: dict[str, list[str]] = {}
    for ref in refs:
        by_tag.setdefault(ref.tag, []).append(ref.blob)
    rows = []
    for tag, names in sorted(by_tag.items()):  # the runtime lists tags in no fixed order
        cached = set(session.store.cache.cached(tag, names))
        rows += [{"tag": tag, "blob": name, "cached": name in cached} for name in names]
    return pd.DataFrame(rows, columns=["tag", "blob", "cached"])


def tags_frame(session: Session, pattern: str) -> pd.DataFrame:
    rows = sorted(session.snapshot(pattern), key=lambda r: r["tag"])
    return pd.DataFrame(rows, columns=["tag", "iowarp_blobs", "cached_blobs"])


def stats_frame(session: Session) -> pd.DataFrame:
    """Store and cache counters plus the trajectory's totals, one row per counter."""
    stats = session.store.stats()
    rows = [(section, key, value) for section, values in stats.items() for key, value in values.items()]
    summary = session.trajectory.summary()
    rows += [
        ("session", "steps", summary.steps),
        ("session", "episodes", summary.episodes),
        ("session", "hit_rate", summary.hit_rate),
        ("session", "total_reward", round(summary.total_reward, 6)),
        ("session", "errors", summary.errors),
    ]
    frame = pd.DataFrame(rows, columns=["section", "counter", "value"])
    return frame.set_index(["section", "counter"])


def services_frame(session: Session, started_here: set[str]) -> pd.DataFrame:
    rows = [{**r.model_dump(), "started_here": r.name in started_here} for r in session.services.status()]
    return pd.DataFrame(rows, columns=["name", "state", "pid", "endpoint", "detail", "started_here"])
