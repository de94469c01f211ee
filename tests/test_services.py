"""Managed services: attach instead of starting twice, leave nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psutil
import pytest

from agentfactory.config import Settings
from agentfactory.services import Services, runtime_dir

pytestmark = pytest.mark.services


def _pids(state):
    return {name: getattr(state, name).pid for name in ("memcached", "runtime", "bridge")}


def test_second_up_attaches_and_starts_nothing(services, services_state):
    before = _pids(services_state)
    children_before = {p.pid for p in psutil.process_iter()}
    again = services.up()
    assert _pids(again) == before
    # and through the CLI, as a user would type it
    env = {**os.environ, "AGENTFACTORY_HOME": str(services.home), "AGENTFACTORY_CACHE": "memcached"}
    out = subprocess.run([sys.executable, "-m", "agentfactory.cli", "services", "up", "--json"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["iowarp"]["pid"] == before["runtime"] and rows["bridge"]["state"] == "running"
    new = {p.pid for p in psutil.process_iter()} - children_before
    assert not any("memcached" in _cmd(p) or "clio_run" in _cmd(p) for p in new)


def _cmd(pid: int) -> str:
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return ""


def test_down_leaves_no_process_or_segment_behind(tmp_path):
    svc = Services(Settings(home=tmp_path / "home", cache_mode="memcached"))
    state = svc.up()
    pids = _pids(state)
    assert all(psutil.pid_exists(p) for p in pids.values())
    port = state.runtime.port
    links = [e.name for e in runtime_dir().iterdir() if f"__{port}" in e.name or f"clio_{port}." in e.name]
    assert links, "the runtime should have published its segments while running"
    stopped = svc.down()
    assert sorted(stopped) == ["bridge", "iowarp", "memcached"]
    for pid in pids.values():
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    marks = (f"__{port}", f"clio_{port}.", f"clio_{pids['runtime']}_", f"clio-{pids['runtime']}-",
             f"clio_rambdev_{pids['runtime']}_")
    left = [e.name for e in runtime_dir().iterdir() if any(m in e.name for m in marks)] if runtime_dir().exists() else []
    assert left == []
    assert not (svc.home / "services.json").exists()
    assert [r.state for r in svc.status()] == ["stopped"] * 3


def test_embedded_fallback_says_so_in_status(tmp_path):
    svc = Services(Settings(home=tmp_path / "emb", cache_mode="embedded"))
    try:
        svc.up()
        rows = {r.name: r for r in svc.status()}
        assert rows["memcached"].state == "embedded" and "fallback" in rows["memcached"].detail
        store = svc.open_store()
        assert store.cache.kind == "embedded"
    finally:
        svc.down()
