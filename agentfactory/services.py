"""Start, attach to and stop the three services on loopback.

memcached (the Debian binary), the IOWarp runtime (`clio_run start` with a
config tuned for small machines and a private storage root) and our bridge.
State lives in `<home>/services.json`; a second `up` finds the processes
alive and attaches instead of starting twice. Only processes we started are
ever stopped, by PID, and the runtime's leftovers (socket and memfd links
under /tmp/clio_$USER) are swept afterwards.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from .config import Settings
from .core.errors import ServiceError, StorageUnavailable
from .core.endpoints import parse_host_port
from .core.files import atomic_write, write_private_once
from .core.vocabulary import SERVICE_NAMES
from .procs import alive as _alive
from .procs import free_port, free_runtime_port
from .procs import gone as _gone
from .procs import spawn as _spawn
from .procs import terminate as _terminate
from .procs import wait_port as _wait_port
from .service_state import (  # noqa: F401  (re-exported: callers import them from here)
    PROCESS_HINTS,
    ProcInfo,
    ServicesState,
    ServiceStatus,
    _retire,
    _unretire,
    clio_run_path,
    describe,
    runtime_dir,
    sweep_runtime_leftovers,
    write_runtime_config,
)
from .storage.bridge_protocol import PROTOCOL
from .storage.bridge_server import CURVE_ENV, UNIX_ENV
from .storage.curve import CurveKeys, client_keys, ensure_keys
from .storage.cache_backends import EmbeddedBackend, MemcachedBackend
from .storage.cache_tier import CacheTier
from .storage.iowarp_tier import IOWarpTier
from .storage.store import TwoTierStore
from .storage.unix_transport import SCHEME, usable_path

Progress = Callable[[str], None]
LOOPBACK = "127.0.0.1"


class Services:
    """The managed services of one `home` directory."""

    def __init__(self, settings: Settings | None = None, *, bind_host: str | None = None) -> None:
        """`bind_host` (or AGENTFACTORY_BIND_HOST): where the bridge listens; anything but 127.0.0.1 means CURVE.

        The runtime and memcached stay on loopback whatever it says: neither
        authenticates its clients, and only the bridge (on this host) needs
        the runtime. Binding the bridge elsewhere is an explicit choice, and
        then a client without the home's keys is refused (storage/curve.py).
        """
        self.settings = settings or Settings.from_env()
        self.home = self.settings.home
        self.bind_host = bind_host or os.environ.get("AGENTFACTORY_BIND_HOST") or LOOPBACK
        self.curve = self.bind_host != LOOPBACK
        self.state_file = self.home / "services.json"
        self.iowarp_dir = self.home / "iowarp"

    # -- state ------------------------------------------------------------------
    def load_state(self) -> ServicesState | None:
        try:
            return ServicesState.model_validate_json(self.state_file.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def _save(self, state: ServicesState) -> None:
        with atomic_write(self.state_file) as out:
            out.write(state.model_dump_json(indent=2).encode())

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / "services.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def runtime_env(self, port: int | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env["CLIO_SERVER_CONF"] = str(self.iowarp_dir / "clio.yaml")
        env["CLIO_STORAGE_ROOT"] = str(self.iowarp_dir / "storage")
        # The runtime binds 0.0.0.0 by default (its port and port+3; so does the native client's
        # response listener in the bridge). This env var is its only bind setting: no YAML key.
        env["CLIO_BIND_ADDR"] = LOOPBACK
        return env

    def client_keys(self, bridge: ProcInfo | None) -> CurveKeys | None:
        """The CURVE keys a client of `bridge` needs (None for a plain loopback bridge)."""
        return client_keys(self.home) if bridge is not None and bridge.curve else None

    # -- up -----------------------------------------------------------------------
    def up(self, progress: Progress | None = None) -> ServicesState:
        """Start what is not running; attach to what is. Idempotent."""
        say = progress or (lambda _msg: None)
        with self._locked():
            state = self.load_state() or ServicesState(cache_mode="embedded")
            self._up_cache(state, say)
            self._save(state)
            self._up_runtime(state, say)
            self._save(state)
            self._up_bridge(state, say)
            self._save(state)
            return state

    def _up_cache(self, state: ServicesState, say: Progress) -> None:
        s = self.settings
        if s.memcached_servers:
            _retire(state, "memcached")
            state.cache_mode, state.memcached_servers, state.memcached = "memcached", s.memcached_servers, None
            return
        binary = shutil.which("memcached") or ("/usr/bin/memcached" if Path("/usr/bin/memcached").exists() else None)
        if s.cache_mode == "embedded" or (binary is None and s.cache_mode == "auto"):
            _retire(state, "memcached")
            state.cache_mode, state.memcached_servers, state.memcached = "embedded", [], None
            say("cache: embedded in-process LRU (no memcached binary found)" if binary is None else "cache: embedded")
            return
        if binary is None:
            raise ServiceError("memcached is not installed", hint="apt-get install memcached, or AGENTFACTORY_CACHE=embedded")
        if state.memcached is None and _unretire(state, "memcached"):
            state.memcached_servers = [state.memcached.endpoint]
        if state.memcached and _alive(state.memcached.pid, "memcached"):
            say(f"memcached: attached (pid {state.memcached.pid}, port {state.memcached.port})")
            return
        port = free_port()
        cmd = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", str(s.memcached_memory_mb),
               "-I", f"{s.memcached_item_limit_mb}m", "-c", "1024", "-t", "2"]
        if os.geteuid() == 0:
            cmd += ["-u", "root"]  # memcached refuses to run as root without -u
        proc = _spawn(cmd, self.home / "memcached.log")
        if not _wait_port(port, time.monotonic() + 10):
            proc.kill()
            raise ServiceError(f"memcached did not listen on 127.0.0.1:{port}", hint=f"see {self.home / 'memcached.log'}")
        state.cache_mode = "memcached"
        state.memcached = ProcInfo(pid=proc.pid, port=port, endpoint=f"127.0.0.1:{port}")
        state.memcached_servers = [f"127.0.0.1:{port}"]
        say(f"memcached: started (pid {proc.pid}, port {port})")

    def write_runtime_config(self, port: int) -> Path:
        """The bundled config, tuned for a small machine and made private."""
        return write_runtime_config(self.iowarp_dir, port)

    def _up_runtime(self, state: ServicesState, say: Progress) -> None:
        if self.settings.bridge_endpoint:
            return  # the user's own bridge (and runtime)
        if state.iowarp and _alive(state.iowarp.pid, "clio_run"):
            say(f"iowarp: attached (pid {state.iowarp.pid}, port {state.iowarp.port})")
            return
        if state.iowarp and state.iowarp.port:
            sweep_runtime_leftovers(state.iowarp)
        port = free_runtime_port()
        self.write_runtime_config(port)
        # clio_run execs the native binary, so this PID is the runtime's
        proc = _spawn([clio_run_path(), "start"], self.home / "iowarp.log", env=self.runtime_env())
        state.iowarp = ProcInfo(pid=proc.pid, port=port)
        if state.bridge and state.bridge.started_by_us:  # a bridge of the old runtime is useless
            _terminate(state.bridge.pid, "agentfactory")
        state.bridge = None
        say(f"iowarp: started clio_run (pid {proc.pid}, port {port})")

    def _up_bridge(self, state: ServicesState, say: Progress) -> None:
        if self.settings.bridge_endpoint:
            _retire(state, "bridge")
            state.bridge = ProcInfo(endpoint=self.settings.bridge_endpoint, started_by_us=False)
            return
        if state.bridge is None or not state.bridge.started_by_us:
            _unretire(state, "bridge")
        if state.bridge and _alive(state.bridge.pid, "agentfactory"):
            tcp = state.bridge.tcp or state.bridge.endpoint or ""
            host = parse_host_port(tcp.removeprefix("tcp://"))[0] if tcp.startswith("tcp://") else tcp
            if (host, state.bridge.curve) != (self.bind_host, self.curve):
                say(f"bridge: pid {state.bridge.pid} listens on {host}; replacing it")
            elif self._ping(state.bridge.endpoint, protocol=True, curve=self.client_keys(state.bridge)):
                say(f"bridge: attached (pid {state.bridge.pid}, {state.bridge.endpoint})")
                return
            else:
                say(f"bridge: pid {state.bridge.pid} is unresponsive or speaks an older protocol; replacing it")
        if state.bridge:
            _terminate(state.bridge.pid, "agentfactory")
            if state.bridge.started_by_us:
                _unlink_socket(state.bridge.endpoint)  # a killed bridge leaves its socket behind
        port = free_port()
        endpoint = f"tcp://{self.bind_host}:{port}"
        unix = self._unix_socket(port)
        if self.curve:
            ensure_keys(self.home)
        keys = self.client_keys(ProcInfo(curve=self.curve))
        deadline = time.monotonic() + self.settings.runtime_start_timeout_s
        log_path = self.home / "bridge.log"
        while True:
            env = self.runtime_env()
            env["CLIO_WAIT_SERVER"] = "5"
            if self.curve:
                env[CURVE_ENV] = str(ensure_keys(self.home))
            if unix:
                env[UNIX_ENV] = str(unix)
            proc = _spawn([sys.executable, "-m", "agentfactory.cli", "bridge", "--endpoint", endpoint], log_path, env=env)
            local = f"{SCHEME}{unix}" if unix else endpoint
            while proc.poll() is None and time.monotonic() < deadline:
                # ready when the endpoint clients of this host will use answers (and the TCP one with CURVE)
                if self._ping(local, timeout_s=0.5, curve=keys) and (
                        not self.curve or self._ping(endpoint, timeout_s=0.5, curve=keys)):
                    state.bridge = ProcInfo(pid=proc.pid, port=port, endpoint=local, tcp=endpoint, curve=self.curve)
                    say(f"bridge: ready (pid {proc.pid}, {local})")
                    return
                time.sleep(0.05)  # a missing socket fails at once: do not spin while the bridge connects
            if time.monotonic() >= deadline:
                proc.kill()
                raise ServiceError(
                    "the IOWarp runtime did not become ready in time",
                    hint=f"see {self.home / 'iowarp.log'} and {log_path}",
                )
            if state.iowarp and not _alive(state.iowarp.pid, "clio_run"):
                raise ServiceError("the IOWarp runtime exited during start-up", hint=f"see {self.home / 'iowarp.log'}")
            time.sleep(0.5)  # clio_init failed (runtime still starting): a fresh bridge retries

    def _unix_socket(self, port: int) -> Path | None:
        """Where the bridge's same-host socket goes: a 0700 directory of the home (None if the path is too long).

        One name per bridge (its TCP port): a bridge that exits removes its own
        socket and can never remove its successor's.
        """
        run = self.home / "run"
        path = run / f"bridge-{port}.sock"
        if not usable_path(path):
            return None
        run.mkdir(mode=0o700, exist_ok=True)
        os.chmod(run, 0o700)
        return path

    @staticmethod
    def _ping(endpoint: str | None, timeout_s: float = 2.0, *, protocol: bool = False,
              curve: CurveKeys | None = None) -> bool:
        """Is a bridge answering there (and, with `protocol`, speaking ours)?"""
        if not endpoint:
            return False
        tier = IOWarpTier(endpoint, timeout_s=timeout_s, curve=curve)
        try:
            reply = tier.ping()
            return not protocol or reply.get("protocol") == PROTOCOL
        except StorageUnavailable:
            return False
        finally:
            tier.close()

    # -- down ---------------------------------------------------------------------
    def down(self, progress: Progress | None = None, *, only: Iterable[str] | None = None) -> list[str]:
        """Stop what we started, by PID, and sweep the runtime's leftovers.

        `only` names a subset (memcached, iowarp, bridge), e.g. the services one
        kernel or benchmark started while others were already running.
        """
        say = progress or (lambda _msg: None)
        wanted = set(only) if only is not None else set(SERVICE_NAMES)
        unknown = wanted - set(SERVICE_NAMES)
        if unknown:
            raise ServiceError(f"unknown service {', '.join(sorted(unknown))}", hint=f"use {', '.join(SERVICE_NAMES)}")
        stopped: list[str] = []
        with self._locked():
            state = self.load_state()
            if state is None:
                return stopped
            memcached, runtime, bridge = (getattr(state, n) if n in wanted else None for n in SERVICE_NAMES)
            if bridge and bridge.started_by_us and _terminate(bridge.pid, "agentfactory"):
                stopped.append("bridge")
                say(f"bridge: stopped (pid {bridge.pid})")
            if bridge and bridge.started_by_us:  # a killed bridge cannot remove its own socket
                _unlink_socket(bridge.endpoint)
            if runtime and runtime.started_by_us:
                if self._stop_runtime(runtime):
                    stopped.append("iowarp")
                    say(f"iowarp: stopped (pid {runtime.pid})")
                sweep_runtime_leftovers(runtime)
            if memcached and memcached.started_by_us and _terminate(memcached.pid, "memcached"):
                stopped.append("memcached")
                say(f"memcached: stopped (pid {memcached.pid})")
            for name in sorted(wanted & set(state.retired)):
                info = state.retired.pop(name)
                if _terminate(info.pid, PROCESS_HINTS[name]):
                    stopped.append(name)
                    say(f"{name}: stopped (pid {info.pid}, displaced by an override)")
            for name in wanted:
                setattr(state, name, None)
            if state.bridge or state.iowarp or state.memcached or state.retired:
                self._save(state)
            else:
                self.state_file.unlink(missing_ok=True)
        return stopped

    def running(self) -> dict[str, int]:
        """PIDs of the services of this home that are alive now (for "who started what")."""
        state = self.load_state()
        return {
            name: info.pid for name in SERVICE_NAMES
            if state and (info := getattr(state, name)) and _alive(info.pid, PROCESS_HINTS[name])
        }

    def _stop_runtime(self, info: ProcInfo) -> bool:
        if not _alive(info.pid, "clio_run"):
            return False
        try:  # graceful: flushes RAM-tier data to disk before exiting
            subprocess.run([clio_run_path(), "stop"], env=self.runtime_env(), timeout=20,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            pass
        try:
            if not _gone(psutil.Process(info.pid), 15):
                _terminate(info.pid, "clio_run")
        except psutil.NoSuchProcess:
            pass
        return True

    # -- status ---------------------------------------------------------------------
    def status(self) -> list[ServiceStatus]:
        state = self.load_state()
        if state is None:
            return [ServiceStatus(name=n, state="stopped") for n in SERVICE_NAMES]
        rows = []
        if state.cache_mode == "embedded":
            rows.append(ServiceStatus(name="memcached", state="embedded", detail="in-process LRU fallback (no memcached)"))
        elif state.memcached:
            alive = _alive(state.memcached.pid, "memcached")
            rows.append(ServiceStatus(name="memcached", state="running" if alive else "stopped",
                                      pid=state.memcached.pid, endpoint=state.memcached.endpoint))
        else:
            rows.append(ServiceStatus(name="memcached", state="attached", endpoint=",".join(state.memcached_servers)))
        if state.iowarp:
            alive = _alive(state.iowarp.pid, "clio_run")
            rows.append(ServiceStatus(name="iowarp", state="running" if alive else "stopped", pid=state.iowarp.pid,
                                      endpoint=f"127.0.0.1:{state.iowarp.port}", detail=str(self.iowarp_dir)))
        if state.bridge:
            up = self._ping(state.bridge.endpoint, timeout_s=1.0, curve=self.client_keys(state.bridge))
            rows.append(ServiceStatus(name="bridge", state=("running" if up else "stopped") if state.bridge.started_by_us
                                      else ("attached" if up else "unreachable"), pid=state.bridge.pid,
                                      endpoint=state.bridge.endpoint))
        return rows

    def cache_secret(self) -> bytes:
        """The key of the cache entries' MAC, shared by every kernel of this home (created once, mode 0600).

        memcached has no authentication: whoever reaches it can write any value.
        Entries that do not verify under this key are misses, never served.
        """
        path = self.home / "cache.key"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            write_private_once(path, os.urandom(32))  # a kernel that got there first keeps its key
        secret = path.read_bytes()
        if len(secret) < 32:
            raise ServiceError(f"{path} is damaged (shorter than 32 bytes)", hint="delete it; a new one is made")
        return secret

    # -- store --------------------------------------------------------------------
    def open_store(self, state: ServicesState | None = None) -> TwoTierStore:
        """A store wired to the running services (call `up` first)."""
        state = state or self.load_state()
        if state is None or state.bridge is None or not state.bridge.endpoint:
            raise ServiceError("services are not running", hint="run `agentfactory services up`")
        s = self.settings
        if state.cache_mode == "memcached":
            backend: Any = MemcachedBackend(state.memcached_servers, item_limit=s.memcached_item_limit_mb << 20)
        else:
            backend = EmbeddedBackend(capacity_bytes=s.memcached_memory_mb << 20, item_limit=s.memcached_item_limit_mb << 20)
        cache = CacheTier(backend, ttl_s=s.cache_ttl_s, secret=self.cache_secret())
        # opt-in for now: values above one item cached as chunks (issue 10); 0 = bypass them
        cache.max_chunked = int(os.environ.get("AGENTFACTORY_CACHE_CHUNKED_MB", "0") or 0) << 20
        iowarp = IOWarpTier(state.bridge.endpoint, timeout_s=s.iowarp_timeout_s, curve=self.client_keys(state.bridge))
        return TwoTierStore(cache, iowarp)


def _unlink_socket(endpoint: str | None) -> None:
    if endpoint and endpoint.startswith(SCHEME):
        Path(endpoint[len(SCHEME):]).unlink(missing_ok=True)
