"""`%iowarp SUBCOMMAND`: direct store operations and views over the kernel's session.

Each subcommand is declared beside its handler (`@subcommand`) and parsed by
its own argparse parser, so a wrong subcommand or flag is a `UsageError` with
the usage line, never a `SystemExit`. Settings (`default_tag`,
`display_limit`) are `AgentMagics`' traits: one configurable for the
extension, `%config AgentMagics.default_tag = "docs"`.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Mapping
from typing import Any, ClassVar

from IPython.core.error import UsageError
from IPython.core.magic import (
    Magics,
    line_magic,
    magics_class,
    needs_local_scope,
    no_var_expand,
    output_can_be_silenced,
)

from agentfactory.session import Session, StepRecord

from . import store_ops
from .agent_magic import AgentMagics
from .kernel import KernelSession, library_errors_as_usage, namespace
from .results import AgentResult, Message
from .subcommands import ShowHelp, Subcommand, arg, collect, find, help_text, subcommand
from .syntax import ONE_VAR, interpolate

MAGIC = "%iowarp"

MANUAL_NOTE = """\
put, get, ls, tags, prune and destroy are recorded in the trajectory as agent
`manual` (history shows them); the hit rates of agentfactory.analysis and the
dashboard leave manual steps out, so inspecting data never moves them."""

_PATTERN = arg("pattern", nargs="?", default="*", metavar="PATTERN", help="tag glob (default: every tag)")


@magics_class
class IOWarpMagics(Magics):
    """`%iowarp`: the store by hand; every subcommand is one call into the kernel's Session."""

    subcommands: ClassVar[dict[str, Subcommand]] = {}  # filled below the class from its @subcommand methods

    def __init__(self, shell: Any = None, *, settings: AgentMagics, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.settings = settings

    @property
    def kernel(self) -> KernelSession:
        return self.settings.kernel

    @property
    def session(self) -> Session:
        return self.kernel.session

    @no_var_expand
    @needs_local_scope
    @output_can_be_silenced
    @line_magic("iowarp")
    def iowarp(self, line: str, local_ns: Mapping[str, Any] | None = None) -> Any:
        """Direct store operations and views; `%iowarp help` lists them, `%iowarp SUB -h` explains one.

        Examples::

            %iowarp put docs grid {grid}
            %iowarp get docs grid
            %iowarp ls docs*
            %iowarp services down
        """
        try:
            tokens = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"{MAGIC}: {exc}") from None
        sub = find(MAGIC, self.subcommands, tokens[0] if tokens else None)
        parser = sub.parser(MAGIC)
        try:
            args = parser.parse_args(tokens[1:])
        except ShowHelp as shown:
            return Message(shown.text.rstrip())
        handler = getattr(self, sub.handler)
        with library_errors_as_usage():
            try:
                return handler(args, namespace(self.shell, local_ns), f"{MAGIC} {line.strip()}")
            except argparse.ArgumentError as exc:  # a handler's own check of its arguments
                parser.error(str(exc))

    # -- helpers ------------------------------------------------------------------------
    def _manual(self, action: str, params: dict[str, Any], command: str) -> StepRecord:
        record = self.kernel.ready().manual({"action": action, "params": params}, command=command)
        record.params = params  # Session records manual params in the trajectory only
        return record

    def _result(self, *steps: StepRecord) -> AgentResult:
        return AgentResult(steps, frame_source=self.session.trajectory.to_frame,
                           display_limit=self.settings.display_limit)

    def _tag_blob(self, words: list[str], ns: Mapping[str, Any], *, extra: int = 0) -> tuple[str, str, list[str]]:
        """TAG BLOB [...]; with AgentMagics.default_tag set, TAG may be left out."""
        default = self.settings.default_tag
        if len(words) >= 2 + extra:
            tag, blob, rest = words[0], words[1], words[2:]
        elif default and len(words) == 1 + extra:
            tag, blob, rest = default, words[0], words[1:]
        else:
            raise argparse.ArgumentError(None, "TAG and BLOB needed (TAG may be left out when "
                                         "AgentMagics.default_tag is set)")
        return interpolate(tag, ns), interpolate(blob, ns), rest

    @staticmethod
    def _raise_failed(record: StepRecord) -> None:
        """Views have no table to show a failed step in: say why, in one line (the step is recorded)."""
        if not record.ok:  # the message carries the hint
            raise UsageError(record.message or record.error or "failed")

    def _listed(self, pattern: str, ns: Mapping[str, Any], command: str) -> tuple[str, list[Any]]:
        """The blobs of the tags matching a pattern, read as a recorded manual `list_blobs` step."""
        pattern = interpolate(pattern, ns)
        record = self._manual("list_blobs", {"tag_pattern": pattern}, command)
        self._raise_failed(record)  # a tag that does not exist says so, in one line
        return pattern, record.observation.blobs if record.observation else []

    # -- subcommands --------------------------------------------------------------------
    @subcommand("put TAG BLOB VALUE|{var}", "store bytes, text or a numpy array (recorded as agent manual)",
                arg("words", nargs=argparse.REMAINDER, metavar="TAG BLOB VALUE",
                    help="VALUE is literal text, or {var} for a variable's object (bytes, str, numpy array)"))
    def _put(self, args: argparse.Namespace, ns: Mapping[str, Any], command: str) -> AgentResult:
        tag, blob, rest = self._tag_blob(args.words, ns, extra=1)
        var = ONE_VAR.match(rest[0]) if len(rest) == 1 else None
        if var:
            name = var.group(1)
            if name not in ns:
                raise UsageError(f"no variable {name!r} to put")
            value, source = ns[name], name
        else:
            value, source = interpolate(" ".join(rest), ns), "literal"
        try:
            record = self.kernel.ready().put(tag, blob, value, source=source, command=command)
        except TypeError as exc:
            raise UsageError(f"cannot put {source}: {exc}") from None
        return self._result(record)

    @subcommand("get TAG BLOB", "the blob's bytes (an array for array/HDF5 blobs, str for text)",
                arg("names", nargs="+", metavar="TAG BLOB", help="quote names with spaces"))
    def _get(self, args: argparse.Namespace, ns: Mapping[str, Any], command: str) -> Any:
        tag, blob, rest = self._tag_blob(args.names, ns)
        if rest:
            raise argparse.ArgumentError(None, "one TAG and one BLOB (quote names with spaces)")
        record = self._manual("retrieve", {"tag": tag, "blob_name": blob}, command)
        self._raise_failed(record)
        obs = record.observation
        return obs.value() if obs is not None else None

    @subcommand("ls [PATTERN]", "blobs IOWarp holds and whether each is cached (DataFrame)", _PATTERN)
    def _ls(self, args: argparse.Namespace, ns: Mapping[str, Any], command: str) -> Any:
        pattern, refs = self._listed(args.pattern, ns, command)
        return store_ops.blobs_frame(self.session, refs) if refs else store_ops.nothing_matches(pattern)

    @subcommand("tags [PATTERN]", "per tag: blobs in IOWarp and in the cache (DataFrame)", _PATTERN)
    def _tags(self, args: argparse.Namespace, ns: Mapping[str, Any], command: str) -> Any:
        pattern, refs = self._listed(args.pattern, ns, command)
        return store_ops.tags_frame(self.session, refs) if refs else store_ops.nothing_matches(pattern)

    @subcommand("prune TAG BLOB...", "evict blobs from the cache; IOWarp keeps them",
                arg("tag", metavar="TAG"), arg("blobs", nargs="+", metavar="BLOB"))
    def _prune(self, args: argparse.Namespace, ns: Mapping[str, Any], command: str) -> AgentResult:
        params = {"tag": interpolate(args.tag, ns), "blob_names": [interpolate(b, ns) for b in args.blobs]}
        return self._result(self._manual("prune", params, command))

    @subcommand("destroy TAG...", "delete whole tags from IOWarp and the cache",
                arg("tags", nargs="+", metavar="TAG"))
    def _destroy(self, args: argparse.Namespace, ns: Mapping[str, Any], command: str) -> AgentResult:
        return self._result(self._manual("destroy", {"tags": [interpolate(t, ns) for t in args.tags]}, command))

    @subcommand("stats", "store, cache and session counters (DataFrame)")
    def _stats(self, args: argparse.Namespace, ns: Mapping[str, Any], command: str) -> Any:
        return store_ops.stats_frame(self.kernel.ready())

    @subcommand("history [N]", "the trajectory (last N steps) as a DataFrame",
                arg("n", nargs="?", type=int, metavar="N", help="only the last N steps"))
    def _history(self, args: argparse.Namespace, ns: Mapping[str, Any], command: str) -> Any:
        frame = self.session.trajectory.to_frame()
        return frame if args.n is None else frame.tail(args.n)

    @subcommand("services [status|up|down [--force]]", "the services; `down` stops only what this kernel started",
                arg("action", nargs="?", default="status", choices=("status", "up", "down"), metavar="ACTION",
                    help="status (the default), up (start what is down) or down"),
                arg("--force", action="store_true", help="down: stop them even if this kernel did not start them"))
    def _services(self, args: argparse.Namespace, ns: Mapping[str, Any], command: str) -> Any:
        if args.action == "up":
            self.kernel.ready(restart=True)
        elif args.action == "down":
            started = self.kernel.services_down(force=args.force)
            return store_ops.services_frame(self.session, started)
        return store_ops.services_frame(self.session, self.kernel.started_here)

    @subcommand("dashboard", "live widgets over the trajectory (agentfactory.analysis)")
    def _dashboard(self, args: argparse.Namespace, ns: Mapping[str, Any], command: str) -> Any:
        try:
            from agentfactory.analysis import dashboard
        except ImportError as exc:
            raise UsageError(f"the dashboard needs agentfactory.analysis and ipywidgets: {exc}") from None
        return dashboard(self.kernel.ready())  # its tier view reads the store

    @subcommand("reset", "start a new episode")
    def _reset(self, args: argparse.Namespace, ns: Mapping[str, Any], command: str) -> Message:
        episode = self.session.reset()
        return Message(f"episode {episode}: new steps are recorded in episode {episode}")

    @subcommand("help [SUBCOMMAND]", "this list, or one subcommand's usage and options",
                arg("name", nargs="?", metavar="SUBCOMMAND"))
    def _help(self, args: argparse.Namespace, ns: Mapping[str, Any], command: str) -> Message:
        if args.name is None:
            return Message(f"{help_text(MAGIC, self.subcommands)}\n\n{MANUAL_NOTE}")
        return Message(find(MAGIC, self.subcommands, args.name).parser(MAGIC).format_help().rstrip())


IOWarpMagics.subcommands = collect(IOWarpMagics)
