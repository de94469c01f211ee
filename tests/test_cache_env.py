"""CacheEnv: a cache's misses as Gymnasium decisions, seeded, with an honest hit count.

Each test is what a researcher would do with the env: check it with Gymnasium,
replay a seed, run an episode to the end, compare a heuristic with random play.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from agentfactory.envs import CACHE_ENV_ID, FEATURE_NAMES, CacheEnv, sampled_lru_action
from agentfactory.policies import simulate
from agentfactory.policies.simple import LRU
from agentfactory.workloads import make_workload

Agent = Callable[[np.ndarray, gymnasium.Env], int]


def random_agent(obs: np.ndarray, env: gymnasium.Env) -> int:
    return int(env.action_space.sample())


def lru_agent(obs: np.ndarray, env: gymnasium.Env) -> int:
    return sampled_lru_action(obs)


def play(env: gymnasium.Env, agent: Agent, seed: int) -> tuple[float, int, dict, list[np.ndarray]]:
    """One full episode: (return, decisions, last info, observations)."""
    obs, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    seen, total, steps, done = [obs], 0.0, 0, False
    while not done:
        obs, reward, done, truncated, info = env.step(agent(obs, env))
        assert not truncated
        seen.append(obs)
        total += reward
        steps += 1
    return total, steps, info, seen


def test_no_argument_env_is_a_small_valid_gymnasium_env() -> None:
    env = CacheEnv()
    obs, info = env.reset(seed=0)
    assert len(env.stream) == 20_000 and env.capacity == env.stream.capacity(0.05)
    assert env.action_space == gymnasium.spaces.Discrete(env.k + 1)
    assert obs.shape == (env.k + 1, len(env.feature_names)) and obs.dtype == np.float32
    assert env.feature_names[:len(FEATURE_NAMES)] == FEATURE_NAMES
    assert info == {"hits": 0, "misses": 1, "evictions": 0, "position": 0, "key": int(env.stream.keys[0])}
    check_env(env.unwrapped, skip_render_check=True)


def test_check_env_passes_on_a_tagged_stream_with_varied_sizes() -> None:
    stream = make_workload("lognormal", seed=2, requests=3_000)
    check_env(CacheEnv(stream=stream, cache_fraction=0.1, k=4), skip_render_check=True)
    check_env(CacheEnv("tenants", requests=3_000, k=3), skip_render_check=True)


def test_gymnasium_make_builds_the_registered_env() -> None:
    env = gymnasium.make(CACHE_ENV_ID, workload="tenants", requests=2_000, k=4)
    obs, _ = env.reset(seed=1)
    assert isinstance(env.unwrapped, CacheEnv) and env.unwrapped.k == 4
    assert env.observation_space.contains(obs)
    assert env.unwrapped.feature_names[-4:] == ("tag_hot", "tag_loop", "tag_onehit", "tag_scan")


def test_same_seed_same_observations_and_rewards() -> None:
    env = CacheEnv("tenants", requests=4_000)
    first, other = play(env, random_agent, seed=5), play(CacheEnv("tenants", requests=4_000), random_agent, seed=5)
    assert first[0] == other[0] and first[1] == other[1]
    assert all(np.array_equal(a, b) for a, b in zip(first[3], other[3], strict=True))
    # the candidates are random: another seed samples other ones
    third = play(env, random_agent, seed=6)
    assert first[0] != third[0] or any(not np.array_equal(a, b) for a, b in zip(first[3], third[3]))


def test_episode_ends_at_the_stream_end_and_the_return_counts_every_hit() -> None:
    env = CacheEnv("tenants", requests=5_000)
    total, steps, info, observations = play(env, random_agent, seed=0)
    assert info["position"] == len(env.stream) and info["key"] == -1
    assert info["hits"] + info["misses"] == len(env.stream)
    assert total == info["hits"] and steps == info["misses"]  # one decision per miss
    assert all(env.observation_space.contains(o) for o in observations)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_hits_agree_with_the_simulator_when_the_agent_plays_exact_lru() -> None:
    # k >= capacity: every resident is a candidate, so sampled LRU is exact LRU
    stream = make_workload("tenants", seed=3, requests=5_000)
    for capacity in (1, 5, 8):
        total, _, _, _ = play(CacheEnv(stream=stream, capacity=capacity, k=8), lru_agent, seed=0)
        result = simulate(LRU(capacity), stream)
        assert total == result.requests - result.misses


def test_bypass_and_a_cache_that_holds_everything_bound_the_return() -> None:
    stream = make_workload("zipf0.8", seed=1, requests=3_000)
    never_admit = play(CacheEnv(stream=stream), lambda obs, env: 0, seed=0)
    assert never_admit[0] == 0.0
    always_admit = play(CacheEnv(stream=stream, capacity=stream.n_objects), lambda obs, env: 1, seed=0)
    assert always_admit[0] == len(stream) - stream.n_objects  # only first accesses miss


def test_sampled_lru_beats_random_play_on_the_default_env() -> None:
    env = CacheEnv()
    for seed in (0, 1):
        random_return = play(env, random_agent, seed)[0]
        lru_return = play(env, lru_agent, seed)[0]
        assert lru_return > 1.05 * random_return, (seed, lru_return, random_return)


def test_candidate_features_describe_the_residents() -> None:
    env = CacheEnv("zipf0.8", requests=3_000)
    obs, _ = env.reset(seed=0)
    assert not obs[1:, :].any()  # empty cache: nothing to evict, blank candidate rows
    while obs[1, FEATURE_NAMES.index("candidate")] == 0.0:
        obs, *_ = env.step(1)
    column = {name: i for i, name in enumerate(env.feature_names)}
    assert obs[0, column["age"]] == 0.0 and obs[0, column["candidate"]] == 0.0
    assert (obs[1:, column["candidate"]] == 1.0).all() and (obs[:, column["fullness"]] == 1.0).all()
    assert (obs[1:, column["frequency"]] > 0).all()  # residents were requested at least once
    assert len(set(env._cand)) == env.k  # sampled without replacement
    assert all(key in env._index for key in env._cand)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="k"):
        CacheEnv(k=0)
    with pytest.raises(KeyError, match="known"):
        CacheEnv("nope")
    env = CacheEnv(requests=1_000)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(env.k + 1)
