"""`%%agent`, `%agent` and `%iowarp`: thin front doors to one kernel-wide Session.

Each magic parses its line, makes one call into `agentfactory.session.Session`
and returns an object (a result table, a DataFrame, a value), so whatever a
notebook does here works the same from a script. The Session is created on
first use and starts (or attaches to) the services in ``Settings.home`` the
first time it touches the store.

Errors follow one rule: a usage mistake, or an `AgentFactoryError` raised by
the library, is an IPython `UsageError` with a one-line message (IPython shows
it without a traceback); a step that fails (a retrieve of a missing blob, a
command nobody understands) is not an error of the magic: it is a row of the
result with its error and the failure reward.
"""

from __future__ import annotations

import atexit
import re
import shlex
import time
from collections import ChainMap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import (
    Magics,
    line_cell_magic,
    line_magic,
    magics_class,
    needs_local_scope,
    no_var_expand,
    output_can_be_silenced,
)
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display
from traitlets import Bool, Int, Unicode, observe

from agentfactory.config import Settings
from agentfactory.core.errors import AgentFactoryError
from agentfactory.core.observation import shorten_names
from agentfactory.session import Session, StepRecord

from . import store_ops
from .results import AgentResult, Message, Route, RouteResult

BACKENDS = ("rule", "claude", "ollama")

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
# `{{name}}` is the escape for a literal `{name}`; anything else in braces that is
# not a plain identifier (`{a b}`, `{}`, `{x[0]}`) is never touched.
_BRACES = re.compile(r"\{\{(" + _IDENT + r")\}\}|\{(" + _IDENT + r")\}")
_ASSIGN = re.compile(r"^\s*(" + _IDENT + r")\s*<<\s*")
_ONE_VAR = re.compile(r"^\{(" + _IDENT + r")\}$")

# options of %agent / %%agent that take a value (the others are flags)
_VALUE_OPTIONS = {"--backend", "--agent", "-o", "--out"}
_FLAG_OPTIONS = {"--dry-run", "-n", "-h", "--help"}

IOWARP_USAGE = """\
%iowarp put TAG BLOB VALUE|{var}   store bytes, text or a numpy array (recorded as agent manual)
%iowarp get TAG BLOB               the blob's bytes (an array for array/HDF5 blobs, str for text)
%iowarp ls [PATTERN]               blobs IOWarp holds and whether each is cached (DataFrame)
%iowarp tags [PATTERN]             per tag: blobs in IOWarp and in the cache (DataFrame)
%iowarp prune TAG BLOB...          evict blobs from the cache; IOWarp keeps them
%iowarp destroy TAG...             delete whole tags from IOWarp and the cache
%iowarp stats                      store, cache and session counters (DataFrame)
%iowarp history [N]                the trajectory (last N steps) as a DataFrame
%iowarp services [status|up|down [--force]]
                                   the services; `down` stops only what this kernel started
%iowarp dashboard                  live widgets over the trajectory (agentfactory.analysis)
%iowarp reset                      start a new episode

put, get, ls, tags, prune and destroy are recorded in the trajectory as agent
`manual` (history shows them); the hit rates of agentfactory.analysis and the
dashboard leave manual steps out, so inspecting data never moves them."""


def interpolate(text: str, namespace: Mapping[str, Any]) -> str:
    """Fill `{name}` from the namespace; unknown names and other braces stay as they are."""

    def fill(match: re.Match[str]) -> str:
        escaped, name = match.group(1), match.group(2)
        if escaped is not None:
            return "{" + escaped + "}"
        return str(namespace[name]) if name in namespace else match.group(0)

    return _BRACES.sub(fill, text)


def split_assignment(line: str) -> tuple[str | None, str]:
    """`VAR << rest` -> ("VAR", "rest") (jupysql's form); anything else -> (None, line)."""
    match = _ASSIGN.match(line)
    if not match:
        return None, line
    return match.group(1), line[match.end():]


def split_options(line: str) -> tuple[str, str]:
    """Leading options of `%agent` and the command after them, which is kept verbatim."""
    pos = 0
    expect_value = False
    for match in re.finditer(r"\S+", line):
        token = match.group(0)
        if expect_value:
            expect_value = False
        elif token == "--":
            return line[: match.start()], line[match.end():].strip()
        elif token.startswith("-"):
            name = token.split("=", 1)[0]
            expect_value = name in _VALUE_OPTIONS and "=" not in token
        else:
            return line[: match.start()], line[match.start():].strip()
        pos = match.end()
    return line[:pos], line[pos:].strip()


def cell_commands(cell: str) -> list[str]:
    """One command per line; blank lines and `#` comments are skipped."""
    return [s for s in (raw.strip() for raw in cell.splitlines()) if s and not s.startswith("#")]


def _stop_at_exit(services: Any, state: Any) -> None:
    """Stop the services of `state` if they are still the ones this kernel started."""
    now = services.load_state()
    if now is not None and state is not None and now.model_dump() == state.model_dump():
        services.down()


def one_line(exc: AgentFactoryError) -> str:
    text = f"{exc.message} ({exc.hint})" if exc.hint else exc.message
    return shorten_names(" ".join(str(text).split()))


@contextmanager
def library_errors_as_usage() -> Iterator[None]:
    """An AgentFactoryError from the library becomes a one-line UsageError (no traceback)."""
    try:
        yield
    except AgentFactoryError as exc:
        raise UsageError(one_line(exc)) from None


# -- `VAR << %%agent` -------------------------------------------------------------------
_CELL_ASSIGN = re.compile(r"^(\s*)(" + _IDENT + r")\s*<<\s*%%agent(\b.*)$", re.S)
_LINE_ASSIGN = re.compile(r"^(\s*)(" + _IDENT + r")\s*<<\s*%agent(\b.*)$", re.S)


def assignment_transform(lines: list[str]) -> list[str]:
    """Input transformer: `VAR << %%agent ...` -> `%%agent VAR << ...` (and the same for %agent).

    Python would read `VAR << %%agent` as a shift; jupysql users write it anyway,
    so it is rewritten before IPython looks for magics.
    """
    if not lines:
        return lines
    first = _CELL_ASSIGN.match(lines[0])
    if first:
        return [f"%%agent {first.group(2)} <<{first.group(3)}", *lines[1:]]
    if lines[0].lstrip().startswith("%%"):
        return lines  # a cell magic's body is its own language
    out = []
    for line in lines:
        match = _LINE_ASSIGN.match(line)
        out.append(f"{match.group(1)}%agent {match.group(2)} <<{match.group(3)}" if match else line)
    return out


@magics_class
class AgentMagics(Magics):
    """Agents and the two-tier store from a notebook. Settings: `%config AgentMagics.<trait> = ...`."""

    backend = Unicode(
        "rule", help="routing backend when none is given: rule (offline), claude or ollama; '' = the agent's own"
    ).tag(config=True)
    agent = Unicode("coordinator_agent", help="blueprint that runs %%agent commands").tag(config=True)
    display_limit = Int(20, help="result rows shown (head and tail); the DataFrame always has every step").tag(
        config=True
    )
    default_tag = Unicode("", help="tag used by `%iowarp put BLOB VALUE` / `get BLOB` when TAG is left out").tag(
        config=True
    )
    cassette = Unicode("", help="record/replay file for LLM backends ('' = none)").tag(config=True)
    home = Unicode(
        "", help="services home, read when the session is created ('' = AGENTFACTORY_HOME or the default)"
    ).tag(config=True)
    live = Bool(None, allow_none=True, help="update one display per step while a cell runs (None = in a kernel)").tag(
        config=True
    )
    progress = Bool(True, help="show a progress bar (a widget in Jupyter) for ingests that take over a second").tag(
        config=True
    )
    stop_services_at_exit = Bool(
        False, help="when the kernel exits, stop the services this kernel started (for throw-away homes, CI)"
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._session: Session | None = None
        self._owns_session = False
        self._services_checked = False
        self.started_here: set[str] = set()

    # -- the session ------------------------------------------------------------------
    @property
    def session(self) -> Session:
        """The kernel-wide session, created on first use (services start on first store use)."""
        if self._session is None:
            with library_errors_as_usage():
                settings = Settings.from_env(home=self.home or None)
            self._session = Session(settings=settings, agent=self.agent, cassette=self.cassette or None,
                                    progress=self._say)
            self._owns_session = True
            self._session.progress_bar = self._progress_bar
        return self._session

    def _progress_bar(self, **options: Any) -> Any:
        if not self.progress:
            return None
        from tqdm.auto import tqdm  # a widget in a kernel, text on stderr elsewhere

        return tqdm(**options)

    @property
    def has_session(self) -> bool:
        return self._session is not None

    def attach(self, session: Session, *, own: bool = False) -> None:
        """Use an existing session. With `own`, closing the magics (unload) closes it too."""
        self.close()
        self._session = session
        self._owns_session = own
        # an earlier magics instance (before a %reload_ext) must not keep the bar it chose
        if session.progress_bar is None or isinstance(getattr(session.progress_bar, "__self__", None), AgentMagics):
            session.progress_bar = self._progress_bar

    def close(self) -> None:
        """Release the session: close its store connections; services stay up (see `%iowarp services down`)."""
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            session.close(stop_services=False)
        self._owns_session = False
        self._services_checked = False

    @staticmethod
    def _say(message: str) -> None:
        # information, not an error: stderr shows as a pink error box in Jupyter
        display(Message(f"agentfactory: {message}"))

    def _ready(self, *, restart: bool = False) -> Session:
        """The session with its services up; notes which services this kernel started.

        With `restart` (`%iowarp services up`) whatever is down is started again,
        as `agentfactory services up` does, and the session's store follows it;
        what it starts counts as started here (for `%iowarp services down`).
        """
        session = self.session
        if restart or not self._services_checked:
            with library_errors_as_usage():
                before = {r.name: (r.state, r.pid) for r in session.services.status()}
                _ = session.services_up() if restart else session.store
                after = {r.name: (r.state, r.pid) for r in session.services.status()}
            started = {n for n, mark in after.items() if mark[0] == "running" and before.get(n) != mark}
            self.started_here = (self.started_here | started) if restart and self._services_checked else started
            self._services_checked = True
            if started and self.stop_services_at_exit:
                # a safety net for a notebook that fails before its last cell stops them
                atexit.register(_stop_at_exit, session.services, session.services.load_state())
        return session

    @observe("cassette")
    def _cassette_changed(self, change: dict[str, Any]) -> None:
        if self._session is not None:
            self._session.use_cassette(change["new"] or None)

    def _namespace(self, local_ns: Mapping[str, Any] | None) -> Mapping[str, Any]:
        """Locals first (a magic inside a function sees its variables), then the notebook's."""
        user_ns = self.shell.user_ns if self.shell is not None else {}
        return ChainMap(dict(local_ns), user_ns) if local_ns and local_ns is not user_ns else user_ns

    def _is_live(self) -> bool:
        if self.live is not None:
            return bool(self.live)
        return getattr(self.shell, "kernel", None) is not None

    def _route_opts(self, args: Any) -> tuple[str, str | None]:
        agent = args.agent or self.agent
        if args.backend:
            backend: str | None = args.backend
        elif args.agent:
            backend = None  # an agent named on the magic line brings its own backend
        else:
            backend = self.backend or None
        if backend is not None and backend not in BACKENDS:
            raise UsageError(f"unknown backend {backend!r}: use {', '.join(BACKENDS)}")
        return agent, backend

    # -- %%agent / %agent -------------------------------------------------------------
    @magic_arguments("agent")
    @argument("--backend", help="routing backend for these commands: rule, claude or ollama")
    @argument("--agent", help="blueprint to run the commands (default: AgentMagics.agent)")
    @argument("-n", "--dry-run", action="store_true", help="route only: show agent, action and params, run nothing")
    @argument("-o", "--out", metavar="VAR",
              help="bind the steps' DataFrame to VAR (as `VAR <<` before the magic does)")
    @no_var_expand
    @needs_local_scope
    @output_can_be_silenced
    @line_cell_magic("agent")
    def agent_magic(self, line: str, cell: str | None = None, local_ns: Mapping[str, Any] | None = None) -> Any:
        """Run plain-language commands through the coordinator, one per line.

        %%agent [--backend B] [--agent NAME] [--dry-run] [-o VAR]
        load file::data/a.md as docs
        get a.md from docs

        %agent [options] COMMAND runs one command. `{name}` in a command is
        filled from the notebook's variables; `VAR << %%agent` binds the
        steps' DataFrame like -o.
        """
        target, line = split_assignment(line)
        if cell is None:
            options, command = split_options(line)
            commands = [command] if command else []
        else:
            options, commands = line, cell_commands(cell)
        args = parse_argstring(self.agent_magic, options)
        out = args.out or target
        if out is not None and not re.fullmatch(_IDENT, out):
            raise UsageError(f"-o needs a variable name, not {out!r}")
        if not commands:
            raise UsageError("no command: write one per line (# starts a comment)" if cell is not None
                             else "%agent needs a command, e.g. %agent query docs")
        agent, backend = self._route_opts(args)
        ns = self._namespace(local_ns)
        commands = [interpolate(c, ns) for c in commands]

        with library_errors_as_usage():
            result: AgentResult | RouteResult
            if args.dry_run:
                result = self._dry_run(commands, agent, backend)
            else:
                result = self._run(commands, agent, backend)
        if out is not None:
            self.shell.user_ns[out] = result.frame
        return result

    def _dry_run(self, commands: list[str], agent: str, backend: str | None) -> RouteResult:
        session = self.session
        session.coordinator(agent=agent, backend=backend)  # an unknown agent or backend is a usage error
        routes = []
        for command in commands:
            try:
                d = session.route(command, agent=agent, backend=backend)
                routes.append(Route(command, d.agent, d.action.action, d.action.params_dict(), d.backend))
            except AgentFactoryError as exc:  # a command nobody can route is a row, as in a real run
                routes.append(Route(command, None, None, {}, backend, error=exc.code, message=exc.message))
        return RouteResult(routes, display_limit=self.display_limit)

    def _run(self, commands: list[str], agent: str, backend: str | None) -> AgentResult:
        session = self._ready()
        session.coordinator(agent=agent, backend=backend)
        handle = None
        if len(commands) > 1 and self._is_live():
            # starts and ends empty: the live view is scaffolding, the result is Out[n]
            # (and nbval, which sees only the first message of a display, compares equal)
            handle = display({"text/plain": ""}, raw=True, display_id=True)
        steps: list[StepRecord] = []
        shown = 0.0
        try:
            for i, command in enumerate(commands):
                steps.append(session.run(command, agent=agent, backend=backend))
                now = time.monotonic()
                if handle is not None and (now - shown > 0.1 or i == len(commands) - 1):
                    handle.update(AgentResult(steps, display_limit=self.display_limit, running=len(commands)))
                    shown = now
        finally:
            # also when a step raises (services gone, Ctrl-C): a "running: 1 of 20" table must not
            # stay above the traceback as if the cell were still going
            if handle is not None:
                handle.update({"text/plain": ""}, raw=True)
        return AgentResult(steps, frame_source=session.trajectory.to_frame, display_limit=self.display_limit)

    # -- %iowarp ------------------------------------------------------------------------
    @no_var_expand
    @needs_local_scope
    @output_can_be_silenced
    @line_magic("iowarp")
    def iowarp(self, line: str, local_ns: Mapping[str, Any] | None = None) -> Any:
        """Direct store operations and views; `%iowarp help` lists them."""
        try:
            tokens = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"%iowarp: {exc}") from None
        if not tokens:
            raise UsageError("%iowarp needs a subcommand: " + ", ".join(self._SUBCOMMANDS))
        sub, args = tokens[0], tokens[1:]
        handler = self._SUBCOMMANDS.get(sub)
        if handler is None:
            raise UsageError(f"unknown %iowarp subcommand {sub!r}; one of: {', '.join(self._SUBCOMMANDS)}")
        ns = self._namespace(local_ns)
        with library_errors_as_usage():
            return handler(self, args, ns, f"%iowarp {line.strip()}")

    def _manual(self, action: str, params: dict[str, Any], command: str) -> StepRecord:
        record = self._ready().manual({"action": action, "params": params}, command=command)
        record.params = params  # Session records manual params in the trajectory only
        return record

    def _result(self, *steps: StepRecord) -> AgentResult:
        return AgentResult(steps, frame_source=self.session.trajectory.to_frame, display_limit=self.display_limit)

    @staticmethod
    def _need(args: list[str], n: int, usage: str) -> None:
        if len(args) < n:
            raise UsageError(f"usage: {usage}")

    def _tag_blob(self, args: list[str], ns: Mapping[str, Any], usage: str, *,
                  extra: int = 0) -> tuple[str, str, list[str]]:
        """TAG BLOB [...]; with AgentMagics.default_tag set, TAG may be left out."""
        if len(args) >= 2 + extra:
            tag, blob, rest = args[0], args[1], args[2:]
        elif self.default_tag and len(args) == 1 + extra:
            tag, blob, rest = self.default_tag, args[0], args[1:]
        else:
            raise UsageError(f"usage: {usage}")
        return interpolate(tag, ns), interpolate(blob, ns), rest

    def _put(self, args: list[str], ns: Mapping[str, Any], command: str) -> AgentResult:
        tag, blob, rest = self._tag_blob(args, ns, "%iowarp put TAG BLOB VALUE|{var}", extra=1)
        var = _ONE_VAR.match(rest[0]) if len(rest) == 1 else None
        if var:
            name = var.group(1)
            if name not in ns:
                raise UsageError(f"no variable {name!r} to put")
            value, source = ns[name], name
        else:
            value, source = interpolate(" ".join(rest), ns), "literal"
        try:
            record = self._ready().put(tag, blob, value, source=source, command=command)
        except TypeError as exc:
            raise UsageError(f"cannot put {source}: {exc}") from None
        return self._result(record)

    def _get(self, args: list[str], ns: Mapping[str, Any], command: str) -> Any:
        tag, blob, rest = self._tag_blob(args, ns, "%iowarp get TAG BLOB")
        if rest:
            raise UsageError("usage: %iowarp get TAG BLOB (quote names with spaces)")
        record = self._manual("retrieve", {"tag": tag, "blob_name": blob}, command)
        self._raise_failed(record)
        obs = record.observation
        return obs.value() if obs is not None else None

    @staticmethod
    def _raise_failed(record: StepRecord) -> None:
        """Views have no table to show a failed step in: say why, in one line (the step is recorded)."""
        if not record.ok:  # the message carries the hint
            raise UsageError(record.message or record.error or "failed")

    def _listed(self, args: list[str], ns: Mapping[str, Any], command: str) -> tuple[str, list[Any]]:
        """The blobs of the tags matching a pattern, read as a recorded manual `list_blobs` step."""
        pattern = interpolate(args[0], ns) if args else "*"
        record = self._manual("list_blobs", {"tag_pattern": pattern}, command)
        self._raise_failed(record)  # a tag that does not exist says so, in one line
        return pattern, record.observation.blobs if record.observation else []

    def _ls(self, args: list[str], ns: Mapping[str, Any], command: str) -> Any:
        pattern, refs = self._listed(args, ns, command)
        return store_ops.blobs_frame(self.session, refs) if refs else store_ops.nothing_matches(pattern)

    def _tags(self, args: list[str], ns: Mapping[str, Any], command: str) -> Any:
        pattern, refs = self._listed(args, ns, command)
        return store_ops.tags_frame(self.session, refs) if refs else store_ops.nothing_matches(pattern)

    def _prune(self, args: list[str], ns: Mapping[str, Any], command: str) -> AgentResult:
        self._need(args, 2, "%iowarp prune TAG BLOB...")
        tag, blobs = interpolate(args[0], ns), [interpolate(b, ns) for b in args[1:]]
        return self._result(self._manual("prune", {"tag": tag, "blob_names": blobs}, command))

    def _destroy(self, args: list[str], ns: Mapping[str, Any], command: str) -> AgentResult:
        self._need(args, 1, "%iowarp destroy TAG...")
        return self._result(self._manual("destroy", {"tags": [interpolate(t, ns) for t in args]}, command))

    def _stats(self, args: list[str], ns: Mapping[str, Any], command: str) -> Any:
        return store_ops.stats_frame(self._ready())

    def _history(self, args: list[str], ns: Mapping[str, Any], command: str) -> Any:
        frame = self.session.trajectory.to_frame()
        if args:
            try:
                n = int(args[0])
            except ValueError:
                raise UsageError(f"usage: %iowarp history [N], not {args[0]!r}") from None
            frame = frame.tail(n)
        return frame

    def _services(self, args: list[str], ns: Mapping[str, Any], command: str) -> Any:
        op = args[0] if args else "status"
        force = "--force" in args[1:]
        if op not in ("status", "up", "down") or [a for a in args[1:] if a != "--force"]:
            raise UsageError("usage: %iowarp services [status|up|down [--force]]")
        session = self.session
        if op == "up":
            self._ready(restart=True)
        elif op == "down":
            started = set(self.started_here)
            session.close(stop_services=False)  # the session (and its trajectory) stays; its store reopens on use
            self._services_checked = False
            self.started_here = set()
            if force:
                session.services.down(progress=self._say)
            elif started:  # only what this kernel started; status names the runtime "iowarp"
                session.services.down(progress=self._say,
                                      only=["runtime" if n == "iowarp" else n for n in started])
            else:
                self._say("services left running: they were already up when this kernel attached "
                          "(%iowarp services down --force stops them)")
            frame = store_ops.services_frame(session, started)
            return frame
        return store_ops.services_frame(session, self.started_here)

    def _dashboard(self, args: list[str], ns: Mapping[str, Any], command: str) -> Any:
        try:
            from agentfactory.analysis import dashboard
        except ImportError as exc:
            raise UsageError(f"the dashboard needs agentfactory.analysis and ipywidgets: {exc}") from None
        return dashboard(self._ready())  # its tier view reads the store

    def _reset(self, args: list[str], ns: Mapping[str, Any], command: str) -> Message:
        episode = self.session.reset()
        return Message(f"episode {episode}: new steps are recorded in episode {episode}")

    def _help(self, args: list[str], ns: Mapping[str, Any], command: str) -> Message:
        return Message(IOWARP_USAGE)

    _SUBCOMMANDS = {
        "put": _put, "get": _get, "ls": _ls, "tags": _tags, "prune": _prune, "destroy": _destroy,
        "stats": _stats, "history": _history, "services": _services, "dashboard": _dashboard,
        "reset": _reset, "help": _help,
    }
