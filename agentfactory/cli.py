"""The `agentfactory` command: services, the bridge, agents, blueprints, benchmarks and the policy lab."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .core.errors import AgentFactoryError
from .core.observation import shorten_names
from .core.text import text_row, text_table
from .core.vocabulary import BACKEND_NAMES


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


def _session(args: argparse.Namespace, **kwargs):
    from .session import Session

    return Session(backend=getattr(args, "backend", None), cassette=getattr(args, "cassette", None), **kwargs)


def _parse(args: argparse.Namespace) -> int:
    session = _session(args)
    failed = 0
    for command in args.commands:
        try:
            decision = session.route(command, agent=args.agent)
            row = {"command": command, "agent": decision.agent, "action": decision.action.action,
                   "params": decision.action.params_dict()}
        except AgentFactoryError as exc:
            failed += 1
            row = {"command": command, "error": shorten_names(str(exc))}
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        elif "error" in row:
            print(shorten_names(f"{command!r}: error: {row['error']}"))
        else:
            print(f"{command!r} -> {row['agent']}.{row['action']} {json.dumps(row['params'], ensure_ascii=False)}")
    return 1 if failed else 0  # JSON or text: a script must be able to tell that a command did not parse


def _run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .interactive import run_prompt

    session = _session(args, agent=args.name)
    session.progress_bar = tqdm  # on stderr, and only for an ingest that takes over a second
    return run_prompt(session, json_lines=args.json)


def _demo(args: argparse.Namespace) -> int:
    import os
    import shutil
    import tempfile

    from .config import Settings
    from .demo import DEMO_COMMANDS, write_sample_data
    from .session import Session
    from .sources import DataRoots
    from .trajectory import run_summary

    settings = Settings.from_env()
    settings.home.mkdir(parents=True, exist_ok=True)
    workdir = write_sample_data(Path(tempfile.mkdtemp(prefix="demo-", dir=settings.home)))
    session = Session(settings=settings, roots=DataRoots([workdir], cwd=workdir),
                      progress=lambda m: print(m, file=sys.stderr))
    previous = Path.cwd()
    os.chdir(workdir)  # the demo's commands name paths relative to the sample data
    # printed a row at a time, as each step runs: the widths are fixed up front
    widths, numeric = (4, max(map(len, DEMO_COMMANDS)), 10, 10, 15, 4, 6), {0, 6}
    try:
        print(text_row(("step", "command", "agent", "action", "outcome", "hit", "reward"), widths, numeric))
        for command in DEMO_COMMANDS:
            r = session.run(command)
            hit = "" if r.cache_hit is None else ("hit" if r.cache_hit else "miss")
            outcome = "ok" if r.ok else (r.error or "error")
            print(text_row((r.step, command, r.agent, r.action, outcome, hit, f"{r.reward:+.2f}"), widths, numeric))
        summary = run_summary(session.trajectory.to_frame())
        hit_rate = f"{summary['hit_rate']:.0%}" if summary["retrieves"] else "n/a"
        print(f"\nsteps {summary['steps']}   hit rate {hit_rate}   reward total {summary['reward_total']:+.2f}   "
              f"errors {summary['errors']}")
    finally:
        session.close(stop_services=args.stop_services)
        os.chdir(previous)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _blueprints(args: argparse.Namespace) -> int:
    from .factory import BlueprintRegistry, dump_blueprint

    registry = BlueprintRegistry()
    if args.command == "list":
        rows = [[bp.name, bp.type, bp.backend,
                 "built-in" if registry.is_builtin(bp.name) and not registry.is_shadowed(bp.name) else "user",
                 ", ".join(bp.actions)] for bp in registry.list()]
        print("\n".join(text_table(["name", "type", "backend", "origin", "actions"], rows)))
        for problem in registry.problems:
            print(f"warning: {problem}", file=sys.stderr)
    elif args.command == "show":
        print(dump_blueprint(registry.get(args.name)), end="")
    elif args.command == "create":
        data = {"name": args.name, "type": args.type, "backend": args.backend,
                "description": args.description or f"{args.type} agent {args.name}"}
        if args.model:
            data["model"] = args.model
        path = registry.create(data)  # validated there: a BlueprintError (one line), never a pydantic traceback
        print(f"created {args.name} in {path}")
    elif args.command == "delete":
        registry.delete(args.name)
        print(f"deleted {args.name}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from .bench.runner import main as bench_main

    return bench_main(args)


_BACKEND_HELP = f"routing backend: {', '.join(BACKEND_NAMES)}, or a router a plug-in registers"


def _backend(name: str) -> str:
    """A router name the registry knows; checked only when given, so no command pays for loading the registry."""
    from .factory.discovery import ROUTERS

    if not ROUTERS.knows(name):
        raise argparse.ArgumentTypeError(str(ROUTERS.unknown(name)))
    return name


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentfactory", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_service_commands(sub)
    _add_agent_commands(sub)
    _add_blueprint_commands(sub)
    _add_bench_command(sub)

    from .policies.command import add_parser as add_policies_parser

    add_policies_parser(sub)
    return parser


Subparsers = argparse._SubParsersAction  # what add_subparsers() returns (argparse names no public type)


def _add_service_commands(sub: Subparsers) -> None:
    p = sub.add_parser("services", help="start, stop or show memcached, the IOWarp runtime and the bridge")
    p.add_argument("op", choices=["up", "down", "status"], nargs="?", default="status")
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    p.set_defaults(func=_services)

    p = sub.add_parser("bridge", help="serve the IOWarp runtime over ZeroMQ (started by `services up`)")
    p.add_argument("--endpoint", default="tcp://127.0.0.1:5555", help="ZeroMQ endpoint to bind (loopback by default)")
    p.add_argument("--connect-timeout", type=float, default=20.0, help="seconds to wait for the runtime")
    p.set_defaults(func=_bridge)


def _add_agent_commands(sub: Subparsers) -> None:
    p = sub.add_parser("parse", help="show how commands are routed (agent, action, params), executing nothing")
    p.add_argument("commands", nargs="+", metavar="CMD")
    p.add_argument("--json", action="store_true", help="one JSON line per command")
    p.add_argument("--backend", type=_backend, default=None, help=_BACKEND_HELP)
    p.add_argument("--agent", default=None, help="blueprint to route with (default coordinator_agent)")
    p.add_argument("--cassette", default=None, help="record/replay LLM answers in this file")
    p.set_defaults(func=_parse)

    p = sub.add_parser("run", help="an interactive prompt for an agent (reads stdin lines when not a terminal)")
    p.add_argument("name", nargs="?", default="coordinator_agent", help="blueprint name")
    p.add_argument("--backend", type=_backend, default=None, help=_BACKEND_HELP)
    p.add_argument("--json", action="store_true", help="one JSON object per step")
    p.add_argument("--cassette", default=None, help="record/replay LLM answers in this file")
    p.set_defaults(func=_run)

    p = sub.add_parser("demo", help="the end-to-end demo through the coordinator")
    p.add_argument("--stop-services", action="store_true", help="stop the services afterwards")
    p.set_defaults(func=_demo)


def _add_blueprint_commands(sub: Subparsers) -> None:
    p = sub.add_parser("list", help="list agent blueprints")
    p.set_defaults(func=_blueprints)
    p = sub.add_parser("show", help="print one blueprint as YAML")
    p.add_argument("name")
    p.set_defaults(func=_blueprints)
    p = sub.add_parser("create", help="create a user blueprint")
    p.add_argument("name")
    p.add_argument("--type", required=True, help="ingestor, retriever, iowarp, coordinator, llm or a plug-in type")
    p.add_argument("--backend", type=_backend, default="rule", help=_BACKEND_HELP)
    p.add_argument("--model", default=None)
    p.add_argument("--description", default=None)
    p.set_defaults(func=_blueprints)
    p = sub.add_parser("delete", help="delete a user blueprint (built-ins can only be shadowed)")
    p.add_argument("name")
    p.set_defaults(func=_blueprints)


def _add_bench_command(sub: Subparsers) -> None:
    p = sub.add_parser("bench", help="benchmark our paths against raw memcached / IOWarp baselines")
    p.add_argument("--quick", action="store_true", help="fewer rounds and operations (about a minute)")
    p.add_argument("--json", action="store_true", help="print one JSON object {case: {ours_s, baseline_s, ratio, ...}}")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="run only these cases (repeatable or comma-separated): hit, miss, bridge, ingest, trajectory, router")
    p.add_argument("--home", type=Path, default=None,
                   help="services home to use or start (default: <state dir>/bench; running services there are reused)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=_bench)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AgentFactoryError as exc:
        print(f"agentfactory: {type(exc).__name__}: {shorten_names(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
