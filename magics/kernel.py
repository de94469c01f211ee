"""What `%agent` and `%iowarp` share: one kernel-wide Session, and one rule for errors.

The Session is created on first use and starts (or attaches to) the services
in ``Settings.home`` the first time it touches the store. This module also
remembers which services *this kernel* started, so that `%iowarp services
down` never stops services another kernel (or the user) brought up.

Errors follow one rule: a usage mistake, or an `AgentFactoryError` raised by
the library, is an IPython `UsageError` with a one-line message (IPython shows
it without a traceback); a step that fails (a retrieve of a missing blob, a
command nobody understands) is not an error of the magic: it is a row of the
result with its error and the failure reward.
"""

from __future__ import annotations

import atexit
from collections import ChainMap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from IPython.core.error import UsageError
from IPython.display import display

from agentfactory.config import Settings
from agentfactory.core.errors import AgentFactoryError
from agentfactory.core.observation import shorten_names
from agentfactory.core.vocabulary import SERVICE_NAMES
from agentfactory.session import Session

from .results import Message


class SessionSettings(Protocol):
    """The settings the session is made with (AgentMagics' traits), read when they are needed."""

    home: str
    agent: str
    cassette: str
    progress: bool
    stop_services_at_exit: bool


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


def namespace(shell: Any, local_ns: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """Locals first (a magic inside a function sees its variables), then the notebook's."""
    user_ns = shell.user_ns if shell is not None else {}
    return ChainMap(dict(local_ns), user_ns) if local_ns and local_ns is not user_ns else user_ns


def say(message: str) -> None:
    """Information, not an error: stderr would show as a pink error box in Jupyter."""
    display(Message(f"agentfactory: {message}"))


def _stop_at_exit(services: Any, state: Any) -> None:
    """Stop the services of `state` if they are still the ones this kernel started."""
    now = services.load_state()
    if now is not None and state is not None and now.model_dump() == state.model_dump():
        services.down()


class KernelSession:
    """The one Session of a kernel's magics, and the services this kernel started."""

    def __init__(self, settings: SessionSettings) -> None:
        self.settings = settings  # read at use: `%config` may change it between cells
        self._session: Session | None = None
        self._owns_session = False
        self._services_checked = False
        self.started_here: set[str] = set()

    @property
    def session(self) -> Session:
        """The kernel-wide session, created on first use (services start on first store use)."""
        if self._session is None:
            s = self.settings
            with library_errors_as_usage():
                settings = Settings.from_env(home=s.home or None)
            self._session = Session(settings=settings, agent=s.agent, cassette=s.cassette or None, progress=say)
            self._owns_session = True
            self._session.progress_bar = self.progress_bar
        return self._session

    @property
    def has_session(self) -> bool:
        return self._session is not None

    def progress_bar(self, **options: Any) -> Any:
        if not self.settings.progress:
            return None
        from tqdm.auto import tqdm  # a widget in a kernel, text on stderr elsewhere

        return tqdm(**options)

    def attach(self, session: Session, *, own: bool = False) -> None:
        """Use an existing session. With `own`, closing (unload) closes it too."""
        self.close()
        self._session = session
        self._owns_session = own
        # an earlier extension (before a %reload_ext) must not keep the bar it chose
        if session.progress_bar is None or isinstance(getattr(session.progress_bar, "__self__", None), KernelSession):
            session.progress_bar = self.progress_bar

    def close(self) -> None:
        """Release the session: close its store connections; services stay up (see `%iowarp services down`)."""
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            session.close(stop_services=False)
        self._owns_session = False
        self._services_checked = False

    def ready(self, *, restart: bool = False) -> Session:
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
            if started and self.settings.stop_services_at_exit:
                # a safety net for a notebook that fails before its last cell stops them
                atexit.register(_stop_at_exit, session.services, session.services.load_state())
        return session

    def services_down(self, *, force: bool = False) -> set[str]:
        """Stop what this kernel started (everything with `force`); returns the names it had started.

        The session (and its trajectory) stays; its store reopens on the next use.
        """
        session = self.session
        started = set(self.started_here)
        session.close(stop_services=False)
        self._services_checked = False
        self.started_here = set()
        if force:
            session.services.down(progress=say)
        elif started:
            session.services.down(progress=say, only=[n for n in SERVICE_NAMES if n in started])
        else:
            say("services left running: they were already up when this kernel attached "
                "(%iowarp services down --force stops them)")
        return started
