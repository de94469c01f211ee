"""The reward table: defaults from ARCHITECTURE.md, overridable per blueprint.

Rewards follow the outcome, never the attempt: a retrieve of a blob that does
not exist is a failure, not a miss. The parts of each reward go to the step's
`info` so reward shaping can be studied without changing the env.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RewardTable(BaseModel):
    """One field per key of `core.vocabulary.REWARD_KEYS` (a test holds them equal)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    assimilate: float = 0.10
    query: float = 0.10
    list_blobs: float = 0.10
    retrieve_hit: float = 0.30
    retrieve_miss: float = 0.20
    prune: float = 0.05
    destroy: float = 0.05
    failure: float = -0.50

    def score(self, action: str | None, ok: bool, cache_hit: bool | None = None) -> tuple[float, dict[str, float | str]]:
        """The reward of one step and its parts (`outcome`, `base`)."""
        if not ok or action is None:
            return self.failure, {"outcome": "failure", "base": self.failure}
        if action == "retrieve":
            key = "retrieve_hit" if cache_hit else "retrieve_miss"
            value = getattr(self, key)
            return value, {"outcome": "hit" if cache_hit else "miss", "base": value}
        value = getattr(self, action)
        return value, {"outcome": "ok", "base": value}

