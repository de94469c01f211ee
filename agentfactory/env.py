"""IOWarpEnv: the two-tier store as a Gymnasium environment.

The env is deliberately thin (Gymnasium's own advice): it validates an
action, runs it on the store, scores the outcome with the reward table and
records the step. Failures are steps too: a typed error in the observation,
the failure reward, and nothing stored is lost.

Observations for RL code are a small numeric dict (ok, hit, counts, running
hit rate); the full pydantic `Observation`, with the bytes a retrieve
returned, travels in `info["observation"]`; the reward's parts in
`info["reward_parts"]`. Timings and the step's index in the trajectory are
not in `info`, which stays the same for the same seed (`check_env` asserts
it): they are `last_latency_ms` and `last_step`.

A step limit is Gymnasium's own `TimeLimit` wrapper around the env, not a
counter inside it: `make_env(store, max_steps=N)` builds one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import TimeLimit

from .core.actions import ACTION_NAMES, Action, parse_action
from .core.errors import AgentFactoryError, InternalError, StorageError
from .core.observation import Observation
from .rewards import RewardTable
from .sources import DataRoots, resolve_source
from .storage.store import StoreResult, TwoTierStore
from .trajectory import Trajectory

_ACTION_INDEX = {name: i for i, name in enumerate(ACTION_NAMES)}
PROGRESS_AFTER_S = 1.0  # an ingest shorter than this shows no bar: most are, and a flash of one is noise
_F32 = np.float32


def _f32(value: float) -> np.ndarray:
    """A fresh shape-(1,) float32 array (what np.array([value], dtype=np.float32) gives, faster)."""
    out = np.empty(1, _F32)
    out[0] = value
    return out


class ActionSpace(spaces.Space):
    """Valid `Action`s (or their dict form). Samples are harmless reads over known tags."""

    def __init__(self, tags: list[str] | None = None, seed: int | None = None) -> None:
        super().__init__(shape=None, dtype=None, seed=seed)
        self.tags = tags or ["*"]

    def sample(self, mask: Any = None, probability: Any = None) -> dict[str, Any]:
        rng = self.np_random
        tag = self.tags[int(rng.integers(len(self.tags)))]
        name = ("query", "list_blobs")[int(rng.integers(2))]
        return {"action": name, "params": {"tag_pattern": tag}}

    def contains(self, x: Any) -> bool:
        try:
            parse_action(x)
            return True
        except AgentFactoryError:
            return False

    @property
    def is_np_flattenable(self) -> bool:
        return False


def _observation_space() -> spaces.Dict:
    return spaces.Dict(
        {
            "ok": spaces.Discrete(2),
            "action": spaces.Discrete(len(ACTION_NAMES) + 1),  # last = none (unparseable)
            "cache_hit": spaces.Discrete(3),  # 0 miss, 1 hit, 2 not a retrieve
            "blobs": spaces.Box(0, 2.0**40, shape=(1,), dtype=np.float32),
            "bytes": spaces.Box(0, 2.0**40, shape=(1,), dtype=np.float32),
            "hit_rate": spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32),
        }
    )


class IOWarpEnv(gym.Env):
    """The store as a Gymnasium env: `step` validates, executes, scores and records one action.

    Args:
        store: the store, or a callable that opens it on first use (so building
            agents to route a command never starts services).
        roots: where `file::`, `folder::` and `hdf5::` sources may resolve.
        rewards: the reward table, or overrides of its defaults.
        trajectory: where steps are recorded; a new one by default.

    `step` never raises for a bad action or a store failure: the step fails,
    with a typed error in `info["observation"]` and the failure reward. It is
    never terminated (a store has no end state); wrap it in `TimeLimit`
    (see `make_env`) to truncate episodes.
    """

    metadata = {"render_modes": []}
    #: a tqdm-like factory (``tqdm.auto.tqdm``: a widget in a notebook) for assimilates, or None (no bar);
    #: it may return None. The env never imports a widget library itself.
    progress_bar: Callable[..., Any] | None = None

    def __init__(
        self,
        store: TwoTierStore | Callable[[], TwoTierStore],
        *,
        roots: DataRoots | None = None,
        rewards: RewardTable | dict[str, float] | None = None,
        trajectory: Trajectory | None = None,
    ) -> None:
        # a callable is resolved on first use, so building agents (e.g. to parse
        # or route a command) never starts the services
        self._store = store if isinstance(store, TwoTierStore) else None
        self._store_factory = None if isinstance(store, TwoTierStore) else store
        self.roots = roots or DataRoots()
        self.rewards = rewards if isinstance(rewards, RewardTable) else RewardTable(**(rewards or {}))
        self.trajectory = trajectory if trajectory is not None else Trajectory()
        self.action_space = ActionSpace()
        self.observation_space = _observation_space()
        self.last_latency_ms = 0.0
        #: the trajectory index of this env's latest step, as `Trajectory.record` returned it
        #: (the trajectory's length may already count steps other envs recorded since)
        self.last_step: int | None = None
        self._steps = 0
        self._hits = 0
        self._retrieves = 0

    @property
    def store(self) -> TwoTierStore:
        if self._store is None:
            self._store = self._store_factory()
        return self._store

    # -- Gymnasium API ------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            # Samples follow the env's seed through its own generator; the
            # global `random` belongs to the user and is never reseeded.
            self.action_space.seed(int(self.np_random.integers(2**31)))
        if self._steps or len(self.trajectory):
            self.trajectory.new_episode()
        self._steps = self._hits = self._retrieves = 0
        obs = self._vector(Observation(ok=True))
        return obs, {"episode": self.trajectory.episode}

    def step(
        self, action: Action | dict[str, Any], *, agent: str = "env", command: str | None = None,
        extra: dict[str, Any] | None = None, sources: list[Any] | None = None,
    ) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """One step. `sources` (assimilate only) are blobs already in hand, e.g. Python values."""
        start = time.perf_counter()
        name: str | None = None
        params: dict[str, Any] | None = None
        try:
            act = parse_action(action)
            name, params = act.action, act.params_dict()
            observation = self._observe(name, self.execute(act, sources))
        except AgentFactoryError as exc:
            if name is None and isinstance(action, dict):
                name = action.get("action") if action.get("action") in _ACTION_INDEX else None
            observation = failure(exc, name)
        except Exception as exc:  # a bug must still be a step (typed, negative reward), not a crashed cell
            observation = failure(InternalError(f"{type(exc).__name__}: {exc}",
                                                hint="a bug in AgentFactory; please report it with this command"), name)
        latency_ms = (time.perf_counter() - start) * 1e3
        return self._finish(observation, params, latency_ms, agent=agent, command=command, extra=extra)

    def record_failure(
        self, exc: AgentFactoryError, *, agent: str, command: str | None, action: str | None = None,
        extra: dict[str, Any] | None = None, latency_ms: float = 0.0,
    ) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """A step that failed before reaching the store (unparseable command, wrong agent)."""
        return self._finish(failure(exc, action), None, latency_ms, agent=agent, command=command, extra=extra)

    def _finish(
        self, observation: Observation, params: dict[str, Any] | None, latency_ms: float, *, agent: str,
        command: str | None, extra: dict[str, Any] | None,
    ) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        reward, parts = self.rewards.score(observation.action, observation.ok, observation.cache_hit)
        self.last_latency_ms = latency_ms
        self._steps += 1
        if observation.cache_hit is not None:
            self._retrieves += 1
            self._hits += observation.cache_hit
        self.last_step = self.trajectory.record(
            agent=agent, action=observation.action or "none", params=params, ok=observation.ok, reward=reward,
            cache_hit=observation.cache_hit, tier=observation.tier, blobs=len(observation.blobs),
            bytes=observation.bytes, latency_ms=latency_ms, error=observation.error, command=command, extra=extra,
            message=observation.explain(),
        )
        info = {"observation": observation, "reward_parts": parts}
        return self._vector(observation), reward, False, False, info

    # -- execution ------------------------------------------------------------------
    def execute(self, action: Action, sources: list[Any] | None = None) -> StoreResult:
        """Run one validated action on the store (no scoring, no recording)."""
        p = action.params
        store = self.store
        match action.action:
            case "retrieve":
                return store.retrieve(p.tag, p.blob_name)
            case "assimilate":
                if sources is None:
                    sources = resolve_source(p.src, self.roots, mem_reader=self._mem_reader)
                if self.progress_bar is not None:
                    sources = _with_progress(sources, self.progress_bar, p.dst)
                return store.assimilate(sources, p.dst)
            case "query":
                return store.query(p.tag_pattern, p.prompt, p.max_results)
            case "list_blobs":
                return store.list_blobs(p.tag_pattern, p.prompt, p.max_results)
            case "prune":
                return store.prune(p.tag, list(p.blob_names))
            case "destroy":
                return store.destroy(list(p.tags))
        raise StorageError(f"no executor for {action.action!r}")  # unreachable: Action validated the name

    def _mem_reader(self, tag: str, blob: str) -> bytes | None:
        _, entry = self.store.cache.get(tag, blob)
        return entry.payload if entry is not None else None

    @staticmethod
    def _observe(name: str, result: StoreResult) -> Observation:
        # blobs go in as dicts: pydantic builds the BlobInfo models in Rust, twice
        # as fast as calling BlobInfo(...) per blob and then revalidating the list
        return Observation(
            # a read of a value too large for the cache missed, and always will: not an ordinary miss
            ok=True, action=name, tier="bypass" if name == "retrieve" and result.bypassed else result.tier,
            cache_hit=result.cache_hit,
            blobs=[{"tag": b.tag, "blob": b.blob, "cached": b.cached, "score": b.score} for b in result.blobs],
            bytes=result.bytes, bypassed=result.bypassed, healed=result.healed, data=result.data,
            metadata=result.metadata,
        )

    def _vector(self, obs: Observation) -> dict[str, Any]:
        hit_rate = self._hits / self._retrieves if self._retrieves else 0.0
        return {
            "ok": int(obs.ok),
            "action": _ACTION_INDEX.get(obs.action or "", len(ACTION_NAMES)),
            "cache_hit": 2 if obs.cache_hit is None else int(obs.cache_hit),
            "blobs": _f32(len(obs.blobs)),
            "bytes": _f32(obs.bytes),
            "hit_rate": _f32(hit_rate),
        }


def make_env(
    store: TwoTierStore | Callable[[], TwoTierStore], *, max_steps: int | None = None, **options: Any
) -> gym.Env:
    """An `IOWarpEnv` (`options` as its constructor takes them), truncated after `max_steps` steps if given.

    The limit is Gymnasium's `TimeLimit`: `truncated` is True on the step that
    reaches it, and `reset()` starts the count again.
    """
    env = IOWarpEnv(store, **options)
    return TimeLimit(env, max_episode_steps=max_steps) if max_steps is not None else env


def _with_progress(sources: Any, factory: Callable[..., Any], dst: str) -> Any:
    """The sources as the store consumes them, counted in bytes on a bar shown after PROGRESS_AFTER_S."""
    bar = factory(desc=f"assimilate -> {dst}", unit="B", unit_scale=True, unit_divisor=1024,
                  delay=PROGRESS_AFTER_S, leave=False)
    if bar is None:
        yield from sources
        return
    try:
        for src in sources:
            yield src
            bar.update(src.size)
    finally:
        bar.close()


def failure(exc: AgentFactoryError, action: str | None) -> Observation:
    return Observation(ok=False, action=action, error=exc.code, message=exc.message, hint=exc.hint)
