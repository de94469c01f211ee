"""Managed services: attach instead of starting twice, leave nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psutil
import pytest

from agentfactory.config import Settings
from agentfactory.core.vocabulary import SERVICE_NAMES
from agentfactory.services import Services, _terminate, runtime_dir

pytestmark = pytest.mark.services


def _pids(state):
    return {name: getattr(state, name).pid for name in SERVICE_NAMES}


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
    assert rows["iowarp"]["pid"] == before["iowarp"] and rows["bridge"]["state"] == "running"
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
    port = state.iowarp.port
    links = [e.name for e in runtime_dir().iterdir() if f"__{port}" in e.name or f"clio_{port}." in e.name]
    assert links, "the runtime should have published its segments while running"
    stopped = svc.down()
    assert sorted(stopped) == ["bridge", "iowarp", "memcached"]
    for pid in pids.values():
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    marks = (f"__{port}", f"clio_{port}.", f"clio_{pids['iowarp']}_", f"clio-{pids['iowarp']}-",
             f"clio_rambdev_{pids['iowarp']}_")
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


def test_a_bridge_speaking_an_older_protocol_is_replaced_not_attached(services, services_state):
    """A long-running bridge from an older install must not serve ops it does not know."""
    old = subprocess.Popen([sys.executable, "-c", OLD_BRIDGE], stdout=subprocess.PIPE, text=True)
    state = services_state.model_copy(deep=True)
    try:
        state.bridge.pid, state.bridge.endpoint = old.pid, old.stdout.readline().strip()
        services._save(state)  # as if `services up` had started the old bridge
        new = services.up().bridge
        assert new.pid != old.pid and services._ping(new.endpoint, protocol=True)
        assert old.wait(10) is not None  # the old one was stopped, by its PID
        _terminate(new.pid, "agentfactory")
    finally:
        if old.poll() is None:
            old.kill()
        services._save(services_state)  # the session's own bridge was never touched


# A stand-in for an old bridge: answers ping without a protocol number. The
# "agentfactory" in its command line is what services check before stopping a PID.
OLD_BRIDGE = """
import sys, zmq  # agentfactory old bridge stand-in
s = zmq.Context().socket(zmq.ROUTER); s.bind("tcp://127.0.0.1:*")
print(s.getsockopt_string(zmq.LAST_ENDPOINT), flush=True)
while True:
    f = s.recv_multipart(); cut = next(i for i, x in enumerate(f) if not x) + 1
    s.send_multipart([*f[:cut], b"ok", b'{"pid": 1}'])
"""


def test_up_after_a_runtime_crash_restarts_runtime_and_bridge(tmp_path):
    svc = Services(Settings(home=tmp_path / "crash", cache_mode="memcached"))
    try:
        before = svc.up()
        assert set(svc.running()) == set(SERVICE_NAMES)
        psutil.Process(before.iowarp.pid).kill()
        after = svc.up()
        assert after.iowarp.pid != before.iowarp.pid and after.bridge.pid != before.bridge.pid
        assert after.memcached.pid == before.memcached.pid  # what still ran is kept
        assert not psutil.pid_exists(before.bridge.pid) or psutil.Process(before.bridge.pid).status() == "zombie"
        store = svc.open_store()
        store.assimilate([type("B", (), {"name": "x", "size": 1, "metadata": {}, "chunks": lambda self: iter([b"x"])})()],
                         "after_crash")
        assert store.retrieve("after_crash", "x").data == b"x"
        # stopping a subset leaves the rest running and recorded
        assert svc.down(only=["memcached"]) == ["memcached"]
        assert set(svc.running()) == {"bridge", "iowarp"}
    finally:
        svc.down()
    assert svc.running() == {}


# -- issue 9, item 9: services a kernel or script started are stopped too, and overrides forget nothing ---
OWNER = """
import sys, time
from agentfactory.config import Settings
from agentfactory.core.vocabulary import SERVICE_NAMES
from agentfactory.services import Services
Services(Settings(home=sys.argv[1], cache_mode="memcached")).up()
print("up", flush=True)
time.sleep(300)  # alive, never reaping: its exited children stay zombies, as a notebook kernel's do
"""


@pytest.mark.faults
def test_down_stops_what_another_process_started_even_after_an_override(tmp_path, private_memcached):
    import time

    home = tmp_path / "owned"
    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(home)], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout.readline().strip() == "up"
        svc = Services(Settings(home=home, cache_mode="memcached"))
        pids = svc.running()
        assert set(pids) == set(SERVICE_NAMES)
        # AGENTFACTORY_MEMCACHED set for one `up`: the managed memcached is displaced, not forgotten
        _, server = private_memcached
        Services(Settings(home=home, memcached_servers=[server])).up()
        start = time.monotonic()
        stopped = svc.down()
        took = time.monotonic() - start
        assert sorted(stopped) == ["bridge", "iowarp", "memcached"]
        left = [n for n, pid in pids.items() if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
        assert left == []
        assert took < 12, took  # was ~16 s, then a psutil.TimeoutExpired traceback
        assert not (home / "services.json").exists()
    finally:
        owner.kill()
        owner.wait()
        Services(Settings(home=home)).down()


def test_a_process_just_sent_sigkill_is_not_alive():
    """`up` right after a crash must not attach to the corpse (the runtime-crash test failed ~1 run in 9).

    SIGKILL is asynchronous: the victim keeps its command line and is not a
    zombie until it is scheduled again. The victim here shares our CPU at idle
    priority, so it cannot run between the kill and the check: deterministic.
    """
    import signal

    from agentfactory.procs import alive

    here = os.sched_getaffinity(0)
    cpu = min(here)
    victim = subprocess.Popen([sys.executable, "-c", "import time  # agentfactory victim\nwhile True: time.sleep(0.01)"])
    try:
        os.sched_setaffinity(0, {cpu})
        os.sched_setaffinity(victim.pid, {cpu})
        os.sched_setscheduler(victim.pid, os.SCHED_IDLE, os.sched_param(0))
        assert alive(victim.pid, "agentfactory victim")
        os.kill(victim.pid, signal.SIGKILL)
        assert not alive(victim.pid, "agentfactory victim")
    finally:
        os.sched_setaffinity(0, here)
        victim.kill()
        victim.wait()


# -- issue 9, item 8: loopback by default; beyond it, CURVE -----------------------------
def _listening(pid: int) -> set[str]:
    return {c.laddr.ip for c in psutil.Process(pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}


def test_runtime_and_bridge_listen_on_loopback_only(services, services_state):
    """Was: clio_run's port and port+3, and the native client inside the bridge, on 0.0.0.0."""
    for name in ("iowarp", "bridge", "memcached"):
        pid = getattr(services_state, name).pid
        assert _listening(pid) == {"127.0.0.1"}, (name, _listening(pid))


# Run as a script: this pytest process imported pyzmq (through nbval) before agentfactory could
# load it against its own libzmq, so it has no CURVE (see agentfactory/storage/__init__.py).
CURVE_SCENARIO = """
import json, sys
from agentfactory.config import Settings
from agentfactory.core.vocabulary import SERVICE_NAMES
from agentfactory.services import Services
from agentfactory.core.errors import StorageUnavailable
from agentfactory.storage.curve import CurveKeys, client_keys
from agentfactory.storage.iowarp_tier import IOWarpTier
from agentfactory.storage.store import TwoTierStore
import zmq

svc = Services(Settings(home=sys.argv[1], cache_mode="embedded"), bind_host="127.0.0.2")
state = svc.up()
local = svc.open_store()  # this host: the Unix socket (file permissions guard it)
# as a kernel elsewhere would: the TCP endpoint with the home's keys, also through a reader's own connection
store = TwoTierStore(local.cache, IOWarpTier(state.bridge.tcp, timeout_s=5, curve=svc.client_keys(state.bridge)))
blob = type("B", (), {"name": "x", "size": 2, "metadata": {}, "chunks": lambda self: iter([b"ok"])})()
store.assimilate([blob], "curve_tag")
reader = store.reader()
out = {"state": state.model_dump(), "read": reader.retrieve("curve_tag", "x").data.decode(),
       "local": local.retrieve("curve_tag", "x").data.decode(),
       "status": [r.state for r in svc.status() if r.name == "bridge"]}
reader.close()
store.close()
plain = IOWarpTier(state.bridge.tcp, timeout_s=1.0)  # no keys at all
stranger = IOWarpTier(state.bridge.tcp, timeout_s=1.0,  # the right server key, someone else's pair
                      curve=CurveKeys(client_keys(svc.home).server_public, *zmq.curve_keypair()))
for name, client in (("plain", plain), ("stranger", stranger)):
    try:
        client.ping()
        out[name] = "served"
    except StorageUnavailable:
        out[name] = "refused"
    client.close()
print(json.dumps(out))
"""


def test_a_bridge_bound_beyond_loopback_requires_the_curve_keys(tmp_path):
    """Binding the bridge elsewhere is explicit (bind_host), and then a client without the home's key is refused.

    127.0.0.2 is "elsewhere" for the option (not the default 127.0.0.1) while every packet stays on this host.
    """
    home = tmp_path / "curve"
    try:
        run = subprocess.run([sys.executable, "-c", CURVE_SCENARIO, str(home)], capture_output=True, text=True,
                             timeout=180)
        assert run.returncode == 0, run.stderr[-3000:]
        out = json.loads(run.stdout.strip().splitlines()[-1])
        bridge, runtime = out["state"]["bridge"], out["state"]["iowarp"]
        assert bridge["tcp"].startswith("tcp://127.0.0.2:") and bridge["curve"]
        assert _listening(bridge["pid"]) == {"127.0.0.1", "127.0.0.2"}  # the native client's listener stays local
        assert _listening(runtime["pid"]) == {"127.0.0.1"}
        assert out["read"] == out["local"] == "ok" and out["status"] == ["running"]
        assert (out["plain"], out["stranger"]) == ("refused", "refused")
        for key in (home / "curve").iterdir():
            assert key.stat().st_mode & 0o777 == 0o600, key
        assert (home / "curve").stat().st_mode & 0o777 == 0o700
    finally:
        Services(Settings(home=home, cache_mode="embedded")).down()


_KERNEL_LIKE = """
import zmq  # first, as a Jupyter kernel does: bound to the libzmq iowarp-core's .pth preloads
assert not zmq.has("curve"), "this venv's first-imported pyzmq has CURVE: the scenario no longer exists"
from agentfactory.core.errors import ServiceError
from agentfactory.storage.curve import CurveKeys
from agentfactory.storage.iowarp_tier import IOWarpTier

tier = IOWarpTier("tcp://127.0.0.1:9", timeout_s=0.2, curve=CurveKeys(b"x" * 40, b"y" * 40, b"z" * 40))
try:
    tier.ping()
except ServiceError as exc:
    print("ServiceError:", exc)
"""


def test_a_curve_client_without_curve_support_gets_a_typed_error():
    """A process whose pyzmq was imported before agentfactory (a Jupyter kernel) cannot speak CURVE:
    it gets a typed error that says why, not a hang or a ZMQError from deep inside pyzmq."""
    run = subprocess.run([sys.executable, "-c", _KERNEL_LIKE], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("ServiceError:") and "no CURVE" in run.stdout


def test_a_state_file_from_before_the_rename_still_names_the_runtime():
    """services.json once called the IOWarp runtime "runtime": a running home must not be orphaned."""
    from agentfactory.services import ServicesState

    old = ServicesState.model_validate_json('{"cache_mode": "memcached", "runtime": {"pid": 4242, "port": 9000}}')
    assert old.iowarp is not None and old.iowarp.pid == 4242
    assert '"iowarp"' in old.model_dump_json() and '"runtime"' not in old.model_dump_json()
