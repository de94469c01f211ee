"""What `services.json` records about the managed services, and the runtime's config file and leftovers.

Kept apart from services.py (which starts and stops things) so that module
stays readable; services.py re-exports every name here.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import yaml
from pydantic import AliasChoices, BaseModel, Field

from .core.errors import ServiceError
from .core.text import text_table
from .procs import alive as _alive

#: what each service's command line contains (a PID alone may have been reused)
PROCESS_HINTS = {"bridge": "agentfactory", "iowarp": "clio_run", "memcached": "memcached"}


class ProcInfo(BaseModel):
    pid: int | None = None
    port: int | None = None
    endpoint: str | None = None
    started_by_us: bool = True
    curve: bool = False  # a bridge bound beyond loopback: clients need the home's CURVE keys
    # the bridge's TCP endpoint when `endpoint` is its same-host Unix socket (what local clients use)
    tcp: str | None = None


class ServicesState(BaseModel):
    cache_mode: str  # "memcached" or "embedded"
    memcached: ProcInfo | None = None
    memcached_servers: list[str] = []
    # the IOWarp runtime; files written before it was called "iowarp" said "runtime"
    iowarp: ProcInfo | None = Field(default=None, validation_alias=AliasChoices("iowarp", "runtime"))
    bridge: ProcInfo | None = None
    # processes we started that an override (AGENTFACTORY_MEMCACHED/_BRIDGE) displaced:
    # still ours to stop, and re-attached when the override goes away
    retired: dict[str, ProcInfo] = {}


class ServiceStatus(BaseModel):
    name: str
    state: str  # running | stopped | attached | embedded
    pid: int | None = None
    endpoint: str | None = None
    detail: str = ""


# -- small helpers ----------------------------------------------------------------
def _retire(state: ServicesState, name: str) -> None:
    """Keep a process we started, displaced by an override, on record so `down` still stops it."""
    info = getattr(state, name)
    if info is not None and info.started_by_us and _alive(info.pid, PROCESS_HINTS[name]):
        state.retired[name] = info


def _unretire(state: ServicesState, name: str) -> bool:
    """Put a displaced process back in place when the override is gone and it still runs."""
    info = state.retired.pop(name, None)
    if info is not None and _alive(info.pid, PROCESS_HINTS[name]):
        setattr(state, name, info)
        return True
    return False


def clio_run_path() -> str:
    found = shutil.which("clio_run") or str(Path(sys.executable).with_name("clio_run"))
    if not Path(found).exists():
        raise ServiceError("clio_run not found", hint="pip install iowarp-core (it ships clio_run)")
    return found


def runtime_dir() -> Path:
    """Where the runtime publishes its sockets and memfd links (per $USER)."""
    return Path("/tmp") / f"clio_{os.environ.get('USER') or 'unknown'}"


def write_runtime_config(iowarp_dir: Path, port: int) -> Path:
    """The bundled config, tuned for a small machine and made private."""
    import iowarp_core._config as iowarp_config

    cfg = yaml.safe_load(Path(iowarp_config.get_default_config()).read_text())
    cfg["networking"]["port"] = port
    cfg["networking"]["wait_for_restart"] = 2
    cfg["runtime"].update(num_threads=1, first_busy_wait=0, conf_dir=str(iowarp_dir / "conf"))
    cfg["viz"] = {"enabled": False}
    for mod in cfg["compose"]:
        if mod["mod_name"] == "clio_bdev":
            mod["capacity"] = "256MB"
        if mod["mod_name"] == "clio_cte_core":
            for tier in mod["storage"]:
                if tier["bdev_type"] == "ram":
                    tier["capacity_limit"] = "2GB"
                else:
                    tier["growth_unit"] = "64MB"  # the default 1GB reserves 1.1 GB on disk at once
    (iowarp_dir / "conf").mkdir(parents=True, exist_ok=True)
    (iowarp_dir / "storage").mkdir(parents=True, exist_ok=True)
    path = iowarp_dir / "clio.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def sweep_runtime_leftovers(info: ProcInfo) -> None:
    """Remove the links a killed runtime leaves: only names carrying our port or PID."""
    base = runtime_dir()
    if not base.is_dir() or not info.port:
        return
    marks = (f"__{info.port}", f"clio_{info.port}.", f"clio_{info.pid}_", f"clio-{info.pid}-", f"clio_rambdev_{info.pid}_")
    for entry in base.iterdir():
        if any(m in entry.name for m in marks):
            entry.unlink(missing_ok=True)


def describe(rows: list[ServiceStatus]) -> str:
    """`agentfactory services status` as a table."""
    table = [[r.name, r.state, r.pid or "", r.endpoint or "", r.detail] for r in rows]
    return "\n".join(text_table(["service", "state", "pid", "endpoint", "detail"], table, numeric={2}))
