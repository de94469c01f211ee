"""`agentfactory run`: a prompt whose own words never reach the agent.

help, status, history, list and quit belong to the prompt; every other line
is a command for the agent, so "delete old_runs" is never mistaken for
deleting a blueprint. With stdin not a terminal it reads one command a line.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import TextIO

from .session import Session, StepRecord

PROMPT_WORDS = {
    "help": "show this help",
    "status": "services and store counters",
    "history": "the steps so far",
    "list": "the agents this prompt routes to",
    "quit": "leave (also: exit, Ctrl-D)",
}


def step_json(session: Session, record: StepRecord) -> dict:
    row = session.trajectory.to_frame().iloc[record.step].to_dict() if record.step is not None else {}
    out = {k: (None if _na(v) else v) for k, v in row.items()}
    out["time"] = str(out.get("time"))
    obs = record.observation
    if record.action == "retrieve" and obs is not None and obs.data is not None:
        out["retrieved_bytes"] = len(obs.data)
        out["sha256"] = hashlib.sha256(obs.data).hexdigest()
    if record.message:
        out["message"] = record.message
    return out


def _na(value) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value)) if not isinstance(value, (list, dict)) else False
    except (TypeError, ValueError):
        return False


def format_step(record: StepRecord) -> str:
    hit = "" if record.cache_hit is None else (" hit" if record.cache_hit else
                                               " bypass" if record.tier == "bypass" else " miss")
    head = f"[{record.step}] {record.agent}.{record.action} {'ok' if record.ok else 'FAILED'}{hit} reward {record.reward:+.2f}"
    if not record.ok:
        return f"{head}\n    {record.error}: {record.message}"  # the message carries the hint: what to do
    if record.message:  # it worked, but not as one would assume (a value bypassed the cache)
        head = f"{head}\n    note: {record.message}"
    obs = record.observation
    if obs and obs.blobs and record.action != "retrieve":
        names = ", ".join(f"{b.tag}/{b.blob}" + (f" ({b.score:.2f})" if b.score is not None else "")
                          for b in obs.blobs[:10])
        more = f" (+{len(obs.blobs) - 10} more)" if len(obs.blobs) > 10 else ""
        return f"{head}\n    {len(obs.blobs)} blob(s): {names}{more}"
    if obs and obs.data is not None:
        return f"{head}\n    {len(obs.data)} bytes, sha256 {hashlib.sha256(obs.data).hexdigest()[:16]}…"
    return head


def run_prompt(session: Session, *, json_lines: bool = False, stdin: TextIO | None = None,
               stdout: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin
    out = stdout or sys.stdout
    interactive = stdin.isatty() and not json_lines
    if interactive:
        backend = session.backend or session.registry.get(session.agent_blueprint).backend
        print(f"agentfactory: {session.agent_blueprint} ({backend} backend). "
              "Type help for commands, quit to leave.", file=out)
    while True:
        if interactive:
            print("agentfactory> ", end="", file=out, flush=True)
        line = stdin.readline()
        if not line:
            break
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word = line.lower()
        if word in ("quit", "exit"):
            break
        if word == "help":
            for name, text in PROMPT_WORDS.items():
                print(f"  {name:<8} {text}", file=out)
            print("  anything else is a command for the agent, e.g. 'load file::data/a.csv into docs'", file=out)
        elif word == "status":
            from .services import describe

            print(describe(session.services.status()), file=out)
            print(json.dumps(session.store.stats()["store"]), file=out)
        elif word == "history":
            print(session.trajectory.to_frame().drop(columns=["params"]).to_string(), file=out)
        elif word == "list":
            for card in session.coordinator().cards:
                print(f"  {card.name:<12} {', '.join(card.actions)}", file=out)
        else:
            record = session.run(line)
            print(json.dumps(step_json(session, record), default=str) if json_lines else format_step(record),
                  file=out, flush=True)
    session.close()
    if interactive:
        print("services keep running for the next session; `agentfactory services down` stops them", file=out)
    return 0
