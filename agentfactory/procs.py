"""Process and port helpers for the managed services (Linux first, portable where it costs nothing).

Why a module of its own: whether a service "is running" decides between
attaching to it and starting a new one, and getting that wrong leaves a user
attached to a corpse. The rules here are the ones `services.py` relies on:
a PID counts only while it is still the program we started (PIDs get reused),
a zombie is dead, and so is a process that has been sent SIGKILL or has begun
to exit but has not yet become a zombie (see `exiting`).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil

from .core.errors import ServiceError

_SIGKILL_BIT = 1 << (signal.SIGKILL - 1)  # bit of SIGKILL in /proc/PID/status signal masks
_PF_EXITING = 0x4  # task flag set as soon as the kernel starts tearing a process down


def exiting(pid: int) -> bool:
    """A process that will be gone in a moment: SIGKILL pending, or the kernel already tearing it down.

    SIGKILL is delivered asynchronously. For a few milliseconds after
    `kill -9` (longer on a loaded machine, or for a runtime with 50 threads and
    400 MB to unmap) the victim still has its command line and is not yet a
    zombie; a liveness check in that window used to "attach" to a crashed
    runtime. The pending-signal masks and the PF_EXITING flag say the truth
    at once. False where /proc is not there (other systems).
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    pending = 0
    for line in status.splitlines():
        if line.startswith(("SigPnd:", "ShdPnd:")):
            pending |= int(line.split(":", 1)[1].strip(), 16)
    try:
        flags = int(stat.rsplit(")", 1)[1].split()[6])  # field 9 of /proc/PID/stat (after the comm)
    except (IndexError, ValueError):
        flags = 0
    return bool(pending & _SIGKILL_BIT) or bool(flags & _PF_EXITING)


def alive(pid: int | None, name_hint: str) -> bool:
    """Alive, not on its way out, and still the program we started (PIDs get reused)."""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE or exiting(pid):
            return False
        return name_hint in " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_runtime_port() -> int:
    """A base port whose port, port+1 and port+3 are free (the runtime binds all three)."""
    for _ in range(200):
        base = random.randrange(20000, 32000)
        if all(port_free(base + d) for d in (0, 1, 2, 3)):
            return base
    raise ServiceError("no free port block for the IOWarp runtime")


def wait_port(port: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


def gone(proc: psutil.Process, timeout_s: float) -> bool:
    """Wait until `proc` has exited; a zombie counts as exited.

    A service started by another process (a notebook kernel, a script) is that
    process's child, not ours: once it exits it stays a zombie until its parent
    reaps it, and psutil's wait() would time out on it.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                try:  # reap it if it is ours; another parent's zombie is that parent's to reap
                    os.waitpid(proc.pid, os.WNOHANG)
                except ChildProcessError:
                    pass
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def terminate(pid: int | None, name_hint: str, timeout_s: float = 10.0) -> bool:
    """SIGTERM, then SIGKILL after `timeout_s`; only if `pid` is still the program named by `name_hint`."""
    if not alive(pid, name_hint):
        return False
    try:
        proc = psutil.Process(pid)
        proc.terminate()
        if not gone(proc, timeout_s):
            proc.kill()
            gone(proc, 5)
    except psutil.NoSuchProcess:
        pass
    return True


def spawn(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A service in its own session (it outlives this process), output appended to `log`."""
    with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
