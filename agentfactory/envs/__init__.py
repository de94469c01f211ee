"""Gymnasium environments of the policy lab.

Importing this package registers ``agentfactory/Cache-v0`` with Gymnasium, so
``gymnasium.make("agentfactory/Cache-v0", workload="zipf0.8")`` works after
``import agentfactory.envs`` (or, without the import,
``gymnasium.make("agentfactory.envs:agentfactory/Cache-v0")``).
"""

import gymnasium

from .cache_env import FEATURE_NAMES, CacheEnv, sampled_lru_action

CACHE_ENV_ID = "agentfactory/Cache-v0"

# guarded: a module reload (notebooks, %autoreload) must not re-register and warn
if CACHE_ENV_ID not in gymnasium.registry:
    gymnasium.register(id=CACHE_ENV_ID, entry_point="agentfactory.envs.cache_env:CacheEnv")

__all__ = ["CACHE_ENV_ID", "CacheEnv", "FEATURE_NAMES", "sampled_lru_action"]
