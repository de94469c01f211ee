"""The `agentfactory` command: services, the bridge, and (later) agents and benchmarks."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .core.errors import AgentFactoryError


def _services(args: argparse.Namespace) -> int:
    from .services import Services, describe

    services = Services()
    say = (lambda msg: print(msg, file=sys.stderr)) if not args.json else None
    if args.op == "up":
        services.up(progress=say)
    elif args.op == "down":
        stopped = services.down(progress=say)
        if not stopped and not args.json:
            print("nothing to stop", file=sys.stderr)
    rows = services.status()
    if args.json:
        print(json.dumps([r.model_dump() for r in rows]))
    else:
        print(describe(rows))
    return 0


def _bridge(args: argparse.Namespace) -> int:
    from .storage.bridge_server import serve

    serve(args.endpoint, connect_timeout_s=args.connect_timeout)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentfactory", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("services", help="start, stop or show memcached, the IOWarp runtime and the bridge")
    p.add_argument("op", choices=["up", "down", "status"], nargs="?", default="status")
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    p.set_defaults(func=_services)

    p = sub.add_parser("bridge", help="serve the IOWarp runtime over ZeroMQ (started by `services up`)")
    p.add_argument("--endpoint", default="tcp://127.0.0.1:5555", help="ZeroMQ endpoint to bind (loopback by default)")
    p.add_argument("--connect-timeout", type=float, default=20.0, help="seconds to wait for the runtime")
    p.set_defaults(func=_bridge)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AgentFactoryError as exc:
        print(f"agentfactory: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
