"""`%%agent` and `%agent`, and the settings every magic of the extension reads.

`AgentMagics` is the configurable users name (`%config AgentMagics.backend =
"claude"`, `c.AgentMagics.display_limit = 50` in `ipython_config.py`); its
traits are checked when assigned, so a typo fails at the `%config` line, not
cells later. The magic itself parses its line, makes one call into
`agentfactory.session.Session` and returns a result object.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import (
    Magics,
    line_cell_magic,
    magics_class,
    needs_local_scope,
    no_var_expand,
    output_can_be_silenced,
)
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display
from traitlets import Bool, Int, TraitError, Unicode, observe, validate

from agentfactory.core.errors import AgentFactoryError
from agentfactory.core.vocabulary import BACKEND_NAMES
from agentfactory.factory import router_names
from agentfactory.session import Session, StepRecord

from .kernel import KernelSession, library_errors_as_usage, namespace
from .results import AgentResult, Route, RouteResult
from .syntax import (
    cell_commands,
    interpolate,
    is_identifier,
    split_assignment,
    split_options,
)


@magics_class
class AgentMagics(Magics):
    """Agents and the two-tier store from a notebook. Settings: `%config AgentMagics.<trait> = ...`.

    Assigning a value a trait cannot take raises `TraitError` at once (`%config`
    shows it and keeps the old value).
    """

    backend = Unicode(
        "rule", help=f"routing backend when none is given: {', '.join(BACKEND_NAMES)}; '' = the agent's own"
    ).tag(config=True)
    agent = Unicode("coordinator_agent", help="blueprint that runs %%agent commands").tag(config=True)
    display_limit = Int(
        20, help="result rows shown (head and tail; 0 = all); the DataFrame always has every step"
    ).tag(config=True)
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
        self.kernel = KernelSession(self)

    # -- settings, checked when assigned ------------------------------------------------
    @validate("backend")
    def _check_backend(self, proposal: Any) -> str:
        value = proposal["value"]
        if value and value not in router_names():
            raise TraitError(f"AgentMagics.backend must be one of {', '.join(router_names())} "
                             f"('' = the agent's own), not {value!r}")
        return value

    @validate("agent")
    def _check_agent(self, proposal: Any) -> str:
        if not proposal["value"].strip():
            raise TraitError("AgentMagics.agent needs a blueprint name, e.g. 'coordinator_agent'")
        return proposal["value"]

    @validate("display_limit")
    def _check_display_limit(self, proposal: Any) -> int:
        if proposal["value"] < 0:
            raise TraitError(f"AgentMagics.display_limit must be 0 (show all) or more, not {proposal['value']}")
        return proposal["value"]

    @observe("cassette")
    def _cassette_changed(self, change: dict[str, Any]) -> None:
        if self.kernel.has_session:
            self.kernel.session.use_cassette(change["new"] or None)

    # -- the kernel-wide session --------------------------------------------------------
    @property
    def session(self) -> Session:
        """The kernel-wide session, created on first use (services start on first store use)."""
        return self.kernel.session

    @property
    def has_session(self) -> bool:
        return self.kernel.has_session

    def attach(self, session: Session, *, own: bool = False) -> None:
        """Use an existing session. With `own`, closing the magics (unload) closes it too."""
        self.kernel.attach(session, own=own)

    def close(self) -> None:
        """Release the session: close its store connections; services stay up (see `%iowarp services down`)."""
        self.kernel.close()

    def _is_live(self) -> bool:
        if self.live is not None:
            return bool(self.live)
        return getattr(self.shell, "kernel", None) is not None

    def _route_opts(self, args: Any) -> tuple[str, str | None]:
        agent = args.agent or self.agent
        if args.backend:
            if args.backend not in router_names():
                raise UsageError(f"unknown backend {args.backend!r}: use {', '.join(router_names())}")
            return agent, args.backend
        if args.agent:
            return agent, None  # an agent named on the magic line brings its own backend
        return agent, self.backend or None

    # -- %%agent / %agent -------------------------------------------------------------
    @magic_arguments("agent")
    @argument("--backend", help=f"routing backend for these commands: {', '.join(BACKEND_NAMES)}")
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
        if out is not None and not is_identifier(out):
            raise UsageError(f"-o needs a variable name, not {out!r}")
        if not commands:
            raise UsageError("no command: write one per line (# starts a comment)" if cell is not None
                             else "%agent needs a command, e.g. %agent query docs")
        agent, backend = self._route_opts(args)
        ns = namespace(self.shell, local_ns)
        commands = [interpolate(c, ns) for c in commands]

        with library_errors_as_usage():
            run = self._dry_run if args.dry_run else self._run
            result = run(commands, agent, backend)
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
        session = self.kernel.ready()
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
