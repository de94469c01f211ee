"""The facts every layer names: one spelling each, imported everywhere.

Before this module each of these had two to five spellings (an if-chain here,
a tuple there, a YAML list elsewhere) and they drifted. Anything that needs to
know which backends exist, which schemes a source may have, which agent owns
an action or what the services are called reads it from here.
"""

from __future__ import annotations

from typing import Literal, get_args

from .actions import ACTION_NAMES

#: LLM routing backends a user may name (blueprints, `%agent --backend`, the CLI).
#: `rule` is the offline default; the others are built by the router registry.
BackendName = Literal["rule", "claude", "ollama"]
BACKEND_NAMES: tuple[str, ...] = get_args(BackendName)

#: Agent types every install has (a blueprint's `type:`); plug-ins add more. The
#: coordinator routes; the others are specialists that act on the store.
BUILTIN_TYPES: tuple[str, ...] = ("ingestor", "retriever", "coordinator", "iowarp", "llm")

#: Source URI schemes (`file::a.csv`, `folder::docs`, `hdf5::run.h5`, `mem::`).
SourceScheme = Literal["file", "folder", "hdf5", "mem"]
SOURCE_SCHEMES: tuple[str, ...] = get_args(SourceScheme)

#: Which built-in agent declares which action: the ingestor writes and deletes,
#: the retriever reads and evicts. Blueprints default to these lists.
ACTION_OWNERS: dict[str, str] = {
    "assimilate": "ingestor",
    "destroy": "ingestor",
    "query": "retriever",
    "list_blobs": "retriever",
    "retrieve": "retriever",
    "prune": "retriever",
}

#: The order actions are shown in (tables, plots): the data-flow table's order.
ACTION_ORDER: tuple[str, ...] = ACTION_NAMES

#: The reward table's keys: one per action, a retrieve split by outcome, and failure.
RewardKey = Literal["assimilate", "query", "list_blobs", "retrieve_hit", "retrieve_miss", "prune", "destroy", "failure"]
REWARD_KEYS: tuple[str, ...] = get_args(RewardKey)

#: The three services, in the order they start (they stop in reverse). One name
#: each, the same in `services.json`, `agentfactory services status` and `%iowarp`.
ServiceName = Literal["memcached", "iowarp", "bridge"]
SERVICE_NAMES: tuple[str, ...] = get_args(ServiceName)

#: Where a step's data came from, as the trajectory's `tier` column says.
TIERS: tuple[str, ...] = ("cache", "iowarp", "both", "bypass")

assert set(ACTION_OWNERS) == set(ACTION_NAMES)
