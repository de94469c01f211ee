"""Where a dashboard reads its data: the trajectory frame (and how to follow it) and the tier snapshot.

A dashboard may be given a DataFrame (drawn once), a ``Trajectory`` (followed
through its ``subscribe``) or a session (its trajectory, and its store's
snapshot read over connections of the dashboard's own).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pandas as pd

__all__ = ["ReaderSnapshot", "resolve_snapshot", "resolve_source"]

logger = logging.getLogger(__name__)


def resolve_source(source: Any) -> tuple[Callable[[], pd.DataFrame], Callable | None]:
    """``source`` as (a function giving the current frame, its subscribe method or None)."""
    if isinstance(source, pd.DataFrame):
        frame = source
        return (lambda: frame), None
    trajectory = source if callable(getattr(source, "to_frame", None)) else getattr(source, "trajectory", None)
    if trajectory is None or not callable(getattr(trajectory, "to_frame", None)):
        raise TypeError(
            "dashboard() needs a DataFrame, an object with to_frame() (a Trajectory), "
            f"or one with a .trajectory attribute (a session); got {type(source).__name__}"
        )
    subscribe = getattr(trajectory, "subscribe", None)
    return trajectory.to_frame, subscribe if callable(subscribe) else None


class ReaderSnapshot:
    """A session's tier snapshot read over a store of the dashboard's own.

    The redraw runs in a timer thread while the cell keeps using the session's
    store; one memcached socket shared by both threads returned other reads'
    replies to the cell (issue 9, item 16). A reader that failed is dropped
    and reopened on the next redraw, so it follows restarted services.
    """

    def __init__(self, open_reader: Callable[[], Any]) -> None:
        self._open = open_reader
        self._store: Any = None
        self._lock = threading.Lock()
        self._closed = False

    def __call__(self) -> Any:
        with self._lock:
            if self._store is None:
                self._store = self._open()
            try:
                return self._store.snapshot()
            except Exception:
                self._close_locked()
                raise
            finally:
                if self._closed:  # a closed dashboard's save_png() reads once and lets go
                    self._close_locked()

    def _close_locked(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            try:
                store.close()
            except Exception:  # closing a broken connection must not hide why it broke
                logger.debug("closing the dashboard's reader failed", exc_info=True)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._close_locked()


def resolve_snapshot(source: Any, snapshot: Any) -> tuple[Callable[[], Any] | None, Any]:
    """(a function that reads the snapshot, or None; a fixed snapshot, or None)."""
    if snapshot is not None:
        return (snapshot, None) if callable(snapshot) else (None, snapshot)
    if not isinstance(source, pd.DataFrame):
        if callable(getattr(source, "reader", None)):  # a session: read on connections of our own
            return ReaderSnapshot(source.reader), None
        method = getattr(source, "snapshot", None)
        if callable(method):
            return method, None
    return None, None

