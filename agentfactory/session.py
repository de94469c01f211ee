"""A working session: services, store, agents, coordinator and one trajectory.

The CLI's `run` and `demo`, the notebook magics and scripts all use this one
object, so whatever works in one works in the others. Services are started
(or attached) on first use, not at construction.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .agents.coordinator import Coordinator
from .agents.routers import make_router
from .agents.routing import RouteDecision, Router
from .agents.specialists import SpecialistAgent
from .config import Settings
from .core.actions import parse_action
from .core.errors import AgentFactoryError
from .core.observation import Observation
from .env import IOWarpEnv
from .factory import Blueprint, BlueprintRegistry, buildable
from .services import Services
from .sources import DataRoots, value_blob
from .storage.cache_backends import MemcachedBackend
from .storage.cache_tier import CacheTier
from .storage.iowarp_tier import IOWarpTier
from .storage.store import TwoTierStore
from .trajectory import Trajectory

COORDINATOR_TYPES = ("coordinator",)
_log = logging.getLogger("agentfactory")


@dataclass
class StepRecord:
    """One executed (or routed, in a dry run) command, as a user reads it."""

    step: int | None
    command: str | None
    agent: str
    action: str
    params: dict[str, Any]
    ok: bool
    reward: float | None
    cache_hit: bool | None = None
    tier: str | None = None
    latency_ms: float = 0.0
    error: str | None = None
    message: str | None = None
    observation: Observation | None = field(default=None, repr=False)

    def value(self) -> Any:
        return self.observation.value() if self.observation else None


def _params_of(action: dict[str, Any]) -> dict[str, Any]:
    try:
        return parse_action(action).params_dict()
    except AgentFactoryError:  # the failed step is recorded by the env; show what was given
        return {k: v for k, v in action.items() if k != "action"} if isinstance(action, dict) else {}


class Session:
    #: a tqdm-like factory for long assimilates (the magics use tqdm.auto's, `run` tqdm's); None: no bar
    progress_bar: Callable[..., Any] | None = None

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        registry: BlueprintRegistry | None = None,
        agent: str = "coordinator_agent",
        backend: str | None = None,
        cassette: str | Path | None = None,
        roots: DataRoots | None = None,
        services: Services | None = None,
        router: Router | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.registry = registry or BlueprintRegistry()
        self.services = services or Services(self.settings)
        self.roots = roots or DataRoots([Path.cwd(), *self.settings.data_roots])
        self.agent_blueprint = agent
        self.backend = backend
        self.cassette = cassette
        self.progress = progress
        self.router = router  # an injected router (tests, custom backends) wins over `backend`
        self.trajectory = Trajectory()
        self._store: TwoTierStore | None = None
        self._state_stamp: tuple[int, int] | None = None
        self._stores: dict[tuple, TwoTierStore] = {}
        self._coordinators: dict[tuple, Coordinator] = {}
        self._manual_env: IOWarpEnv | None = None

    # -- wiring ----------------------------------------------------------------------
    @property
    def store(self) -> TwoTierStore:
        """The session's store: agents and envs hold it, so while it is open it is moved, not replaced.

        Before each step the service state is re-read when its file changed (a
        stat, a few microseconds): after `services up` restarted memcached or
        the bridge on new ports, the store follows and says so once, instead of
        missing forever or timing out on a dead port.
        """
        if self._store is None:
            self._store = self.services.open_store(self.services.up(progress=self.progress))
            self._state_stamp = self._stamp()
        elif self._stamp() != self._state_stamp:
            self._follow(self.services.load_state())
        return self._store

    def services_up(self) -> TwoTierStore:
        """Start whatever is down (like `agentfactory services up`) and follow it: what `%iowarp services up` needs."""
        if self._store is None:
            return self.store
        self._follow(self.services.up(progress=self.progress))
        return self._store

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.services.state_file)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns)

    def _follow(self, state: Any) -> None:
        self._state_stamp = self._stamp()
        if state is None or state.bridge is None or not state.bridge.endpoint:
            return  # services down: steps fail loudly (StorageUnavailable) until they are back
        servers = state.memcached_servers if state.cache_mode == "memcached" else None
        moved = self._store.retarget(memcached=servers, bridge=state.bridge.endpoint)
        if moved:
            (self.progress or _log.warning)(f"services moved: this session now uses {'; '.join(moved)}")

    def _store_for(self, bp: Blueprint) -> TwoTierStore:
        """An agent keeps its own endpoints and cache TTL when its blueprint names them."""
        mc, bridge, ttl = bp.store.memcached, bp.store.bridge, bp.cache.ttl_s
        if not mc and not bridge and ttl == self.settings.cache_ttl_s:
            return self.store
        key = (tuple(mc or ()), bridge, ttl)
        if key not in self._stores:
            default = self.store
            backend = MemcachedBackend(list(mc)) if mc else default.cache.backend
            iowarp = IOWarpTier(bridge, timeout_s=self.settings.iowarp_timeout_s) if bridge else default.iowarp
            self._stores[key] = TwoTierStore(CacheTier(backend, ttl_s=ttl, secret=default.cache.secret), iowarp)
        return self._stores[key]

    def _env_for(self, bp: Blueprint) -> IOWarpEnv:
        env = IOWarpEnv(lambda: self._store_for(bp), roots=self.roots, rewards=dict(bp.rewards or {}),
                        trajectory=self.trajectory)
        env.progress_bar = self._bar  # read when an ingest starts: setting the session's later still counts
        return env

    def _bar(self, **options: Any) -> Any:
        return self.progress_bar(**options) if self.progress_bar is not None else None

    def specialists(self, names: Iterable[str] | None = None) -> list[SpecialistAgent]:
        """Every discovered (non-coordinator) blueprint becomes an agent."""
        bps = [self.registry.get(n) for n in names] if names else [
            bp for bp in self.registry.list() if bp.type not in COORDINATOR_TYPES
        ]
        # a blueprint whose type is unknown is warned about and skipped, not fatal to routing
        return [factory(bp, self._env_for(bp)) for bp, factory in buildable(bps)]

    def coordinator(self, *, agent: str | None = None, backend: str | None = None) -> Coordinator:
        name = agent or self.agent_blueprint
        key = (name, backend or self.backend)  # built once: the registry re-reads YAML on each get
        if key not in self._coordinators:
            bp = self.registry.get(name)
            backend = backend or self.backend or bp.backend
            if bp.type in COORDINATOR_TYPES:
                agents = self.specialists(bp.routes_to or None)
            else:  # running one specialist on its own: it is the only agent
                agents = self.specialists([name])
            router = self.router or make_router(backend, model=bp.model, cassette=self.cassette)
            # the coordinator's own env records what no specialist took, with this blueprint's rewards
            self._coordinators[key] = Coordinator(agents, router, env=self._env_for(bp))
        return self._coordinators[key]

    def use_cassette(self, path: str | Path | None) -> None:
        """Record/replay LLM answers in `path` from the next command on (None: live)."""
        self.cassette = path
        self._coordinators.clear()  # routers are built once per (agent, backend) and hold their cassette

    # -- doing things ------------------------------------------------------------------
    def route(self, command: str, *, agent: str | None = None, backend: str | None = None) -> RouteDecision:
        """Routing only (dry run): which agent and action, nothing executed."""
        return self.coordinator(agent=agent, backend=backend).route(command)

    def run(self, command: str, *, agent: str | None = None, backend: str | None = None) -> StepRecord:
        coord = self.coordinator(agent=agent, backend=backend)
        _ = self.store  # services up before routing, so a slow start is not billed to the step
        decision, (_obs, reward, _term, _trunc, info) = coord.run(command)
        return self._record(coord.env_for(decision), command, decision, reward, info["observation"])

    def manual(self, action: dict[str, Any], *, command: str | None = None, sources: list[Any] | None = None
               ) -> StepRecord:
        """A direct store operation (%iowarp put/get/...), recorded as agent `manual`."""
        if self._manual_env is None:
            self._manual_env = IOWarpEnv(lambda: self.store, roots=self.roots, trajectory=self.trajectory)
            self._manual_env.progress_bar = self._bar
        _ = self.store  # services up before the clock starts
        _obs, reward, _t, _tr, info = self._manual_env.step(action, agent="manual", command=command, sources=sources)
        return self._record(self._manual_env, command, None, reward, info["observation"], agent="manual",
                            params=_params_of(action))

    def put(self, tag: str, blob: str, value: Any, *, source: str = "value", command: str | None = None
            ) -> StepRecord:
        """Store a Python value (bytes, str, numpy array) as `tag/blob`, recorded as a manual assimilate.

        Raises TypeError before anything happens for values with no faithful byte form.
        """
        src, kind = value_blob(blob, value)
        action = {"action": "assimilate", "src": f"python::{source}", "dst": tag, "format": kind}
        return self.manual(action, command=command, sources=[src])

    def _record(self, env: IOWarpEnv, command: str | None, decision: RouteDecision | None, reward: float,
                obs: Observation, agent: str | None = None, params: dict[str, Any] | None = None) -> StepRecord:
        """What a user reads of the step `env` just recorded: at the index its `record` returned."""
        frame_agent = agent or (decision.agent if decision else "coordinator")
        params = decision.action.params_dict() if decision else (params or {})
        return StepRecord(
            step=env.last_step, command=command, agent=frame_agent, action=obs.action or "none", params=params,
            ok=obs.ok, reward=reward, cache_hit=obs.cache_hit, tier=obs.tier, latency_ms=env.last_latency_ms,
            error=obs.error, message=obs.explain(), observation=obs,
        )

    def reset(self) -> int:
        return self.trajectory.new_episode()

    def snapshot(self, tag_pattern: str = "*") -> list[dict[str, Any]]:
        return self.store.snapshot(tag_pattern)

    def reader(self) -> TwoTierStore:
        """A store with connections of its own for another thread (a live dashboard); the caller closes it.

        The session's own store belongs to the thread running commands: sharing
        its memcached socket corrupts that thread's reads (issue 9, item 16).
        """
        return self.store.reader()

    def close(self, *, stop_services: bool = False) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
            # agents and envs hold the closed store: rebuilt on next use, on whatever runs then
            self._stores.clear()
            self._coordinators.clear()
            self._manual_env = None
        if stop_services:
            self.services.down(progress=self.progress)

