"""The baselines that need the native IOWarp client, in a worker process of their own.

Why a separate process rather than importing `clio_cte_core_ext` into the bench:

* a failed `clio_init` makes every later call segfault, and a missing runtime
  blocks `clio_init` for CLIO_WAIT_SERVER seconds; in a worker that is a
  reported error, not a dead benchmark;
* the client maps a 544 MB segment and its RSS grows by the bytes it moves
  (about 3 GB after a 1 GiB blob), which would otherwise distort our side's
  numbers (page faults, GC pressure) in the same process;
* it is the same shape as production: the bridge is the only process that
  loads the native client, and the worker wraps it with the same
  `NativeIOWarp` the bridge uses, so "bridge vs native" measures exactly the
  bridge hop (ZeroMQ, framing, headers, checksums) and nothing else.

The worker still times its operations in-process (with the shared timers), so
the baseline is the native client called directly, as the issue asks.

Protocol: one JSON request per line on stdin, one JSON reply per line on the
file descriptor that was stdout at start. The native client's own output is
sent to stderr (a log file), so it can never corrupt the replies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core.errors import ServiceError
from .context import raw_memcached
from .timing import perf, time_batch, time_each


class NativeWorkerError(ServiceError):
    """The worker could not start, died, or an operation failed in it."""


class NativeWorker:
    """The bench's handle on the worker process (started on first use)."""

    def __init__(self, env: Mapping[str, str], log_path: Path, *, start_timeout_s: float = 60.0) -> None:
        self.env = dict(env)
        self.env.setdefault("CLIO_WAIT_SERVER", "10")
        self.log_path = log_path
        self.start_timeout_s = start_timeout_s
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        if self.proc is not None:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agentfactory.bench.native"], env=self.env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._log, text=True, bufsize=1,
        )
        self.call("hello")

    def call(self, op: str, **args: Any) -> Any:
        if self.proc is None:
            self.start()
        assert self.proc and self.proc.stdin and self.proc.stdout
        try:
            self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            code = self.proc.poll()
            raise NativeWorkerError(f"native IOWarp worker died (exit {code}); see {self.log_path}\n{self._tail()}")
        reply = json.loads(line)
        if "error" in reply:
            raise NativeWorkerError(f"native IOWarp worker: {reply['error']}")
        return reply["result"]

    def _tail(self, n: int = 5) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def close(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")  # type: ignore[union-attr]
                self.proc.stdin.flush()  # type: ignore[union-attr]
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            self.proc.kill()
            self.proc.wait(5)
        finally:
            self._log.close()
            self.proc = None


# -- the worker side ------------------------------------------------------------------
class _Worker:
    def __init__(self) -> None:
        from ..storage.bridge_server import NativeIOWarp, tune_malloc  # the bridge's own wrapper

        # the allocator settings the bridge runs with, so "bridge vs native" compares
        # the hop and not glibc's page faults on fresh 16 MiB buffers
        tune_malloc()
        self.native = NativeIOWarp(connect_timeout_s=float(os.environ.get("CLIO_WAIT_SERVER", "10")))
        self._payloads: dict[int, bytes] = {}
        self._mc: dict[str, Any] = {}

    def payload(self, size: int) -> bytes:
        if size not in self._payloads:
            self._payloads[size] = os.urandom(size)
        return self._payloads[size]

    def memcached(self, server: str):
        if server not in self._mc:
            self._mc[server] = raw_memcached(server)
        return self._mc[server]

    # ops: each returns seconds per operation of one round (or data for set-up ops)
    def op_hello(self) -> dict[str, Any]:
        return {"pid": os.getpid()}

    def op_get(self, tag: str, blob: str, number: int) -> float:
        n = self.native
        if n.get(tag, blob) is None:
            raise KeyError(f"no blob {blob!r} in tag {tag!r}")
        return time_batch(lambda: n.get(tag, blob), number)

    def op_put(self, tag: str, blob: str, size: int, number: int) -> float:
        """Puts of new blobs (as the bridge's put does them), deleted after the round, untimed."""
        data, n = self.payload(size), self.native
        names = [f"{blob}_{os.urandom(4).hex()}_{k}" for k in range(number)]
        fresh = iter(names)
        out = time_batch(lambda: n.put(tag, next(fresh), data, 0), number)
        n.delete(tag, names)
        return out

    def op_miss(self, tag: str, blob: str, server: str, key: str, number: int) -> float:
        """A raw cache-aside miss: native get, then a plain memcached set of the bytes."""
        n, mc = self.native, self.memcached(server)
        if n.get(tag, blob) is None:
            raise KeyError(f"no blob {blob!r} in tag {tag!r}")

        def once() -> None:
            mc.set(key, n.get(tag, blob), noreply=False)

        return time_each(once, lambda: mc.delete(key, noreply=False), number)

    def op_ingest(self, folder: str, tag: str) -> float:
        """Raw puts: read every file under `folder`, put it as one blob into a fresh tag.

        What a script with the native client would do: no replace check (the
        tag is new), no header, no cache. Same pool as the bridge (563), so
        the runtime does the same indexing work for both sides. Untimed
        clean-up after.
        """
        paths = sorted(p for p in Path(folder).rglob("*") if p.is_file())
        top = self.native.top
        start = perf()
        tid = top.AsyncGetOrCreateTag(tag).result()
        for p in paths:
            with open(p, "rb", buffering=0) as fh:
                rc = top.AsyncPutBlob(tid, p.relative_to(folder).as_posix(), fh.read()).wait()
            if rc != 0:
                raise RuntimeError(f"PutBlob returned {rc}")
        elapsed = perf() - start
        self.native.delete_tag(tag)
        return elapsed

    def op_delete_tag(self, tag: str) -> bool:
        return self.native.delete_tag(tag)


def _serve() -> int:
    # Replies go to a private copy of stdout; fd 1 becomes stderr so nothing the
    # native library prints can interleave with them.
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        worker = _Worker()
    except BaseException as exc:  # SystemExit from a failed clio_init included
        for line in sys.stdin:
            reply.write(json.dumps({"error": f"could not connect to the IOWarp runtime: {exc}"}) + "\n")
            break
        return 1
    for line in sys.stdin:
        req = json.loads(line)
        op = req.pop("op")
        if op == "quit":
            break
        try:
            out = {"result": getattr(worker, f"op_{op}")(**req)}
        except Exception as exc:  # report, keep serving
            out = {"error": f"{op}: {type(exc).__name__}: {exc}"}
        reply.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(_serve())
