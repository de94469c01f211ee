"""Read-only views `%iowarp` shows as DataFrames (ls, tags, stats, services)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from agentfactory.session import Session
from agentfactory.trajectory import run_summary

from .results import Message


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


def tags_frame(session: Session, refs: list[Any]) -> pd.DataFrame:
    """tag, iowarp_blobs, cached_blobs: per tag, what IOWarp holds and how much of it is cached now."""
    blobs = blobs_frame(session, refs)
    counts = blobs.groupby("tag", sort=True)["cached"].agg(iowarp_blobs="size", cached_blobs="sum").reset_index()
    return counts.astype({"iowarp_blobs": "int64", "cached_blobs": "int64"})


def nothing_matches(pattern: str) -> Message:
    """An empty view says why it is empty (an empty table looks like a broken one)."""
    return Message(f"no tag matches {pattern!r}: `%iowarp tags` lists every tag")


def stats_frame(session: Session) -> pd.DataFrame:
    """Store and cache counters plus the trajectory's totals, one row per counter."""
    stats = session.store.stats()
    rows = [(section, key, value) for section, values in stats.items() for key, value in values.items()]
    steps = session.trajectory.to_frame()
    summary = run_summary(steps)  # the agents' hit rate: manual steps (a person looking) left out
    rows += [
        ("session", "steps", summary["steps"]),
        ("session", "episodes", int(steps["episode"].nunique())),
        ("session", "hit_rate", None if pd.isna(summary["hit_rate"]) else summary["hit_rate"]),
        ("session", "total_reward", round(summary["reward_total"], 6)),
        ("session", "errors", summary["errors"]),
    ]
    frame = pd.DataFrame(rows, columns=["section", "counter", "value"])
    return frame.set_index(["section", "counter"])


def services_frame(session: Session, started_here: set[str]) -> pd.DataFrame:
    rows = [{**r.model_dump(), "started_here": r.name in started_here} for r in session.services.status()]
    return pd.DataFrame(rows, columns=["name", "state", "pid", "endpoint", "detail", "started_here"])
