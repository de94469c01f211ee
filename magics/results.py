"""What the magics return: small objects with an HTML table and a text table.

They land in ``Out[n]``, can be assigned, and their text form is what nbval
compares, so the text keeps to what is stable between runs (actions, outcomes,
rewards) and puts the one unstable column, latency, last and with its unit
(``1.2 ms``), where the sanitizer of ``notebooks/sanitize.cfg`` replaces it.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from agentfactory.core.text import text_table
from agentfactory.session import StepRecord
from agentfactory.sources import decode_value

_TARGET_WIDTH = 44


def _short(text: str, width: int = _TARGET_WIDTH) -> str:
    text = " ".join(str(text).split())  # one line, whatever the command held
    return text if len(text) <= width else text[: width - 1] + "…"


def _short_target(text: str, width: int = _TARGET_WIDTH) -> str:
    """Cut in the middle: the end of a path (the file name) says most, then its start (the tag)."""
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    tail = (width - 1) * 3 // 5
    return text[: width - 1 - tail] + "…" + text[-tail:]


def target_of(action: str, params: dict[str, Any], command: str | None) -> str:
    """What a step acted on, in a few words: `docs/a.md`, `docs <- file::x`, `sim_*`."""
    p = params or {}
    if action == "assimilate" and "dst" in p:
        return f"{p['dst']} <- {p.get('src', '?')}"
    if action == "retrieve" and "tag" in p:
        return f"{p['tag']}/{p.get('blob_name', '?')}"
    if action == "prune" and "tag" in p:
        return f"{p['tag']}/{', '.join(p.get('blob_names') or [])}"
    if action == "destroy" and "tags" in p:
        return ", ".join(p["tags"])
    if action in ("query", "list_blobs") and "tag_pattern" in p:
        prompt = f" ~ {p['prompt']!r}" if p.get("prompt") else ""
        return f"{p['tag_pattern']}{prompt}"
    return command or ""


def _reward(value: float | None) -> str:
    return "" if value is None else f"{value:+.2f}"


def _cache(hit: bool | None, tier: str | None = None) -> str:
    if hit is None:
        return ""
    # too large for the cache: it missed and always will, which is not what "miss" says
    return "hit" if hit else ("bypass" if tier == "bypass" else "miss")


def _latency(ms: float) -> str:
    return f"{ms:.1f} ms"


def _window(n: int, limit: int) -> tuple[list[int], int]:
    """Indices to show (head and tail) and how many are left out between them."""
    if limit <= 0 or n <= limit:
        return list(range(n)), 0
    head = (limit + 1) // 2
    tail = limit - head
    return list(range(head)) + list(range(n - tail, n)), n - limit


def _text_table(header: Sequence[str], rows: list[list[str]], gap_after: int | None, gap_text: str) -> list[str]:
    """`core.text.text_table` with a "… N more …" line after row `gap_after` (head and tail shown)."""
    numeric = {i for i, h in enumerate(header) if h in ("step", "reward")}
    lines = text_table(header, rows, numeric=numeric)
    if gap_after is not None:
        lines.insert(gap_after + 2, f"  {gap_text}")  # after the header and rows 0..gap_after
    return lines


def _html_table(header: Sequence[str], rows: list[list[str]], bad: list[bool], gap_after: int | None,
                gap_text: str, caption: str) -> str:
    th = "".join(f"<th style='text-align:left;padding:1px 8px'>{html.escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        style = " style='color:#b00020'" if bad[i] else ""
        cells = "".join(f"<td style='text-align:left;padding:1px 8px'>{html.escape(c)}</td>" for c in row)
        body.append(f"<tr{style}>{cells}</tr>")
        if gap_after is not None and i == gap_after:
            body.append(f"<tr><td colspan='{len(header)}' style='text-align:center'>{html.escape(gap_text)}</td></tr>")
    return (
        "<table class='agentfactory-steps' style='font-family:monospace;font-size:90%'>"
        f"<caption style='text-align:left'>{html.escape(caption)}</caption>"
        f"<thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


class AgentResult:
    """The steps one `%%agent` cell (or `%agent`, `%iowarp put/prune/destroy`) ran.

    ``.frame`` (or ``.to_frame()``) is the steps' rows of the session trajectory;
    ``.steps`` the `StepRecord`s; ``.value()`` what the last step retrieved
    (bytes, or an array for array/HDF5 blobs).
    """

    HEADER = ("step", "agent", "action", "target", "outcome", "cache", "reward", "latency")

    def __init__(self, steps: Sequence[StepRecord], *, frame_source: Callable[[], pd.DataFrame] | None = None,
                 display_limit: int = 20, running: int | None = None) -> None:
        self.steps: list[StepRecord] = list(steps)
        self.display_limit = display_limit
        self._frame_source = frame_source
        self._frame: pd.DataFrame | None = None
        self._running = running  # commands in the cell while it still runs (live view)

    # -- data ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[StepRecord]:
        return iter(self.steps)

    def __getitem__(self, index: int) -> StepRecord:
        return self.steps[index]

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    @property
    def total_reward(self) -> float:
        return float(sum(s.reward or 0.0 for s in self.steps))

    @property
    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            if self._frame_source is None:
                raise ValueError("this result is not bound to a trajectory")
            full = self._frame_source()
            self._frame = full.iloc[[s.step for s in self.steps if s.step is not None]]
        return self._frame

    def to_frame(self) -> pd.DataFrame:
        return self.frame

    def value(self, index: int = -1) -> Any:
        """What step `index` (default: the last) retrieved, decoded; None if it read nothing."""
        obs = self.steps[index].observation
        if obs is None or obs.data is None:
            return None
        return decode_value(obs.data, obs.metadata)

    # -- display ---------------------------------------------------------------------
    def summary(self) -> str:
        n = len(self.steps)
        errors = sum(not s.ok for s in self.steps)
        looked = [s.cache_hit for s in self.steps if s.cache_hit is not None]
        parts = [f"{n} step{'s' if n != 1 else ''}"]
        if self._running is not None and self._running > n:
            parts[0] = f"running: {n} of {self._running} steps"
        parts.append(f"{n - errors} ok")
        if errors:
            parts.append(f"{errors} error{'s' if errors != 1 else ''}")
        if looked:
            parts.append(f"hits {sum(looked)}/{len(looked)}")
        bypassed = sum(s.tier == "bypass" for s in self.steps)
        if bypassed:
            parts.append(f"{bypassed} bypassed the cache")
        parts.append(f"reward {self.total_reward:+.2f}")
        return " · ".join(parts)

    def _rows(self) -> tuple[list[list[str]], list[bool], int | None, str, list[tuple[bool, str]]]:
        shown, left_out = _window(len(self.steps), self.display_limit)
        head = (self.display_limit + 1) // 2 if left_out else None
        rows, bad, notes = [], [], []
        for i in shown:
            s = self.steps[i]
            rows.append([
                "" if s.step is None else str(s.step), s.agent, s.action,
                _short_target(target_of(s.action, s.params, s.command)), "ok" if s.ok else "error",
                _cache(s.cache_hit, s.tier), _reward(s.reward), _latency(s.latency_ms),
            ])
            bad.append(not s.ok)
        for s in self.steps:
            # a failure says why and what to do (the hint); a step that worked may carry a note
            if not s.ok:
                notes.append((True, f"step {s.step}: {s.error}: {s.message}" if s.message else f"step {s.step}: {s.error}"))
            elif s.message:
                notes.append((False, f"step {s.step}: note: {s.message}"))
        gap_after = head - 1 if head else None
        return rows, bad, gap_after, f"… {left_out} more step{'s' if left_out != 1 else ''} …", notes

    def __repr__(self) -> str:
        rows, _bad, gap_after, gap, notes = self._rows()
        lines = [self.summary(), *_text_table(self.HEADER, rows, gap_after, gap)]
        lines += [f"  {n}" for _bad, n in notes[: max(self.display_limit, 1)]]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows, bad, gap_after, gap, notes = self._rows()
        out = _html_table(self.HEADER, rows, bad, gap_after, gap, self.summary())
        if notes:
            items = "".join(f"<li style='color:{'#b00020' if bad_ else '#555'}'>{html.escape(n)}</li>"
                            for bad_, n in notes[: max(self.display_limit, 1)])
            out += f"<ul style='font-size:90%;margin-top:2px'>{items}</ul>"
        return out


@dataclass
class Route:
    """One dry-run line: where a command would go, or why it cannot go anywhere."""

    command: str
    agent: str | None
    action: str | None
    params: dict[str, Any]
    backend: str | None
    error: str | None = None
    message: str | None = None


class RouteResult:
    """What `%%agent --dry-run` shows: agent, action and params per command, nothing executed."""

    HEADER = ("command", "agent", "action", "params")

    def __init__(self, routes: Sequence[Route], *, display_limit: int = 20) -> None:
        self.routes = list(routes)
        self.display_limit = display_limit

    def __len__(self) -> int:
        return len(self.routes)

    def __getitem__(self, index: int) -> Route:
        return self.routes[index]

    @property
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [{"command": r.command, "agent": r.agent, "action": r.action, "params": r.params, "backend": r.backend,
              "error": r.error} for r in self.routes],
            columns=["command", "agent", "action", "params", "backend", "error"],
        )

    def to_frame(self) -> pd.DataFrame:
        return self.frame

    def _rows(self) -> tuple[list[list[str]], list[bool], int | None, str]:
        shown, left_out = _window(len(self.routes), self.display_limit)
        rows, bad = [], []
        for i in shown:
            r = self.routes[i]
            if r.error:
                rows.append([_short(r.command, 36), "", "", f"{r.error}: {r.message}"])
            else:
                rows.append([_short(r.command, 36), r.agent or "", r.action or "",
                             json.dumps(r.params, ensure_ascii=False, sort_keys=True)])
            bad.append(r.error is not None)
        head = (self.display_limit + 1) // 2 if left_out else None
        return rows, bad, (head - 1 if head else None), f"… {left_out} more …"

    def _caption(self) -> str:
        bad = sum(r.error is not None for r in self.routes)
        text = f"dry run: {len(self.routes)} command{'s' if len(self.routes) != 1 else ''} routed, nothing executed"
        return text + (f" · {bad} not routable" if bad else "")

    def __repr__(self) -> str:
        rows, _bad, gap_after, gap = self._rows()
        return "\n".join([self._caption(), *_text_table(self.HEADER, rows, gap_after, gap)])

    def _repr_html_(self) -> str:
        rows, bad, gap_after, gap = self._rows()
        return _html_table(self.HEADER, rows, bad, gap_after, gap, self._caption())


class Message(str):
    """A one-line answer (`%iowarp reset`, ...) that shows without quotes."""

    def __repr__(self) -> str:
        return str(self)
