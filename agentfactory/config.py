"""Settings for the store and its services, from arguments or the environment.

Everything has a default that works on a laptop; tests and CI point `home`
at a private directory so nothing is shared with the user's own services.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import BaseModel, Field


def default_home() -> Path:
    env = os.environ.get("AGENTFACTORY_HOME")
    return Path(env).expanduser() if env else Path(platformdirs.user_state_dir("agentfactory"))


def _env_list(name: str) -> list[str] | None:
    raw = os.environ.get(name, "").strip()
    return [s.strip() for s in raw.split(",") if s.strip()] or None


class Settings(BaseModel):
    home: Path = Field(default_factory=default_home, description="pid files, configs, logs and IOWarp storage")
    cache_mode: Literal["auto", "memcached", "embedded"] = "auto"
    memcached_servers: list[str] | None = Field(default=None, description="attach to these instead of starting one")
    memcached_memory_mb: int = 512
    memcached_item_limit_mb: int = 1
    cache_ttl_s: int = 0
    bridge_endpoint: str | None = Field(default=None, description="attach to this bridge instead of starting one")
    iowarp_timeout_s: float = 10.0
    runtime_start_timeout_s: float = 90.0
    data_roots: list[Path] = Field(default_factory=list)

    @classmethod
    def from_env(cls, **overrides: object) -> "Settings":
        values: dict[str, object] = {}
        if servers := _env_list("AGENTFACTORY_MEMCACHED"):
            values["memcached_servers"] = servers
        if bridge := os.environ.get("AGENTFACTORY_BRIDGE"):
            values["bridge_endpoint"] = bridge
        if mode := os.environ.get("AGENTFACTORY_CACHE"):
            values["cache_mode"] = mode
        if roots := _env_list("AGENTFACTORY_DATA_ROOTS"):
            values["data_roots"] = [Path(r) for r in roots]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
