"""Record and replay router answers, so an experiment reruns identically offline.

A cassette is a JSON Lines file, one routed command per line, keyed by a SHA-256
of the canonical JSON of (backend, model, command, agent cards): the same
request against the same agents finds the same answer, and changing any of them
(a new agent, another model) is a different request. Card order is part of the
key because it is part of the prompt the model saw.

Modes:
  record  always ask the backend, append its answer
  replay  answer from the file only; an unseen request is a `BackendError` and
          never a live call
  auto    replay when the file has the answer, else ask the backend and record

Entries are appended with one `write` on an `O_APPEND` descriptor and fsynced,
so a crash can at worst leave a cut-off last line: loading skips it (counted in
`skipped`), and the next append starts on a fresh line instead of gluing itself
onto the fragment.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

from ..core.errors import AgentFactoryError, BackendError, ConfigError
from .routing import AgentCard, RouteDecision, validate_choice

CassetteMode = Literal["record", "replay", "auto"]
MODES: tuple[str, ...] = get_args(CassetteMode)


def request_key(backend: str, model: str, command: str, agents: Sequence[AgentCard]) -> str:
    """Stable identity of one routing request (hex SHA-256 of its canonical JSON)."""
    request = {
        "backend": backend,
        "model": model,
        "command": command,
        "agents": [card.model_dump(mode="json") for card in agents],
    }
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class Cassette:
    """A JSON Lines file of routed commands, consulted before any network call."""

    def __init__(self, path: str | os.PathLike[str], mode: CassetteMode = "auto") -> None:
        if mode not in MODES:
            raise ConfigError(f"unknown cassette mode {mode!r}", hint=f"modes are {', '.join(MODES)}")
        self.path = Path(path)
        self.mode: CassetteMode = mode
        self.skipped = 0
        self._entries: dict[str, dict[str, Any]] = {}
        self._load()

    def __repr__(self) -> str:
        return f"Cassette({str(self.path)!r}, mode={self.mode!r}, entries={len(self)})"

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    @property
    def replays_only(self) -> bool:
        """True when this cassette never lets a request through to the backend."""
        return self.mode == "replay"

    def _load(self) -> None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        for line in raw.split(b"\n"):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                key = entry["key"]
            except (ValueError, KeyError, TypeError):
                self.skipped += 1  # a write cut short by a crash; earlier lines are intact
                continue
            self._entries[key] = entry  # a later recording of the same request wins

    def lookup(self, key: str) -> dict[str, Any] | None:
        return self._entries.get(key)

    def record(self, key: str, *, model: str, command: str, decision: RouteDecision) -> dict[str, Any]:
        entry = {
            "key": key,
            "backend": decision.backend,
            "model": model,
            "command": command,
            "agent": decision.agent,
            "action": decision.action.to_dict(),
            "tokens": decision.tokens,
            "attempts": decision.attempts,
        }
        data = (json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size:
                with open(self.path, "rb") as f:
                    f.seek(size - 1)
                    if f.read(1) != b"\n":
                        data = b"\n" + data  # never glue a new entry onto a cut-off line
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        self._entries[key] = entry
        return entry

    def route(
        self,
        *,
        backend: str,
        model: str,
        command: str,
        agents: Sequence[AgentCard],
        live: Callable[[], RouteDecision],
    ) -> RouteDecision:
        """Answer from the cassette when the mode allows, else call `live()` and record it."""
        started = time.perf_counter()
        key = request_key(backend, model, command, agents)
        if self.mode != "record":
            entry = self._entries.get(key)
            if entry is not None:
                return self._replay(entry, backend, agents, started)
            if self.mode == "replay":
                where = f"{self.path} " + (f"holds {len(self)} entries" if self.path.exists() else "does not exist")
                raise BackendError(
                    f"no cassette entry for {backend}/{model} command {command!r}",
                    hint=f"{where}; record it with mode='record' or 'auto'",
                )
        decision = live()
        self.record(key, model=model, command=command, decision=decision)
        return decision

    def _replay(
        self, entry: dict[str, Any], backend: str, agents: Sequence[AgentCard], started: float
    ) -> RouteDecision:
        # Re-validate: a recording made before an action's schema changed must not
        # slip an action past the checks a live answer goes through.
        try:
            card, action = validate_choice(entry.get("agent"), entry.get("action"), agents)
        except AgentFactoryError as exc:
            raise BackendError(
                f"cassette entry for command {entry.get('command')!r} no longer validates: {exc}",
                hint=f"re-record it (mode='record') in {self.path}",
            ) from None
        return RouteDecision(
            agent=card.name,
            action=action,
            backend=backend,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            tokens=entry.get("tokens"),
            attempts=entry.get("attempts", 1),
            replayed=True,
        )
