"""A live ipywidgets dashboard over a trajectory: header numbers and three views.

``dashboard(session)`` (or a ``Trajectory``, or a plain DataFrame) returns a
:class:`Dashboard` that displays in Jupyter as a header of numbers above three
tabs: hit rate over time, reward distribution per action/agent, tier contents.

Each view is an ``ipywidgets.Image`` holding PNG bytes rendered from a bare
matplotlib ``Figure``: swapping an image's bytes does not flicker the way
clearing an ``Output`` does, works from a background thread, and lets tests
read what is shown. A live dashboard subscribes to the trajectory; a new step
only marks it dirty, and a timer redraws at most once per ``refresh_s``, so an
agent recording thousands of steps a second is never slowed down by plotting.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .dashboard_sources import ReaderSnapshot, resolve_snapshot, resolve_source
from .frame import conform
from .metrics import run_summary, tier_contents
from .plots import plot_hit_rate
from .reward_plots import plot_reward_distribution
from .summary_plots import summary_figure
from .tier_plots import plot_tier_contents

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["Dashboard", "dashboard"]

logger = logging.getLogger(__name__)

_VIEW_SIZE = (9.0, 4.0)  # inches; at _VIEW_DPI an image 810 px wide fits a notebook cell
_VIEW_DPI = 90
_BY_OPTIONS = (("action", "action"), ("agent", "agent"), ("agent + action", ("agent", "action")))


def _png(fig: Figure, dpi: float = _VIEW_DPI) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _view_figure(height: float = 1.0) -> Figure:
    # a bare Figure, not pyplot: redraws run in a timer thread and must not touch pyplot's figure list
    from matplotlib.figure import Figure

    return Figure(figsize=(_VIEW_SIZE[0], _VIEW_SIZE[1] * height), layout="constrained")


def _hit_rate_png(frame: pd.DataFrame, window: int) -> bytes:
    fig = _view_figure()
    plot_hit_rate(frame, window=window, ax=fig.add_subplot())
    return _png(fig)


def _tiers_png(snapshot: Any) -> bytes:
    """Blobs per tag, and bytes per tag below them when the snapshot measured bytes."""
    tiers = tier_contents(snapshot)
    if not len(tiers) or not tiers[["iowarp_bytes", "cached_bytes"]].notna().any().any():
        fig = _view_figure()
        plot_tier_contents(snapshot, ax=fig.add_subplot(), metric="blobs")
        return _png(fig)
    # blobs above bytes on one tag axis: side by side, the tag labels collide
    fig = _view_figure(1.6)
    a_blobs, a_bytes = fig.subplots(2, 1, sharex=True)
    plot_tier_contents(snapshot, ax=a_blobs, metric="blobs")
    plot_tier_contents(snapshot, ax=a_bytes, metric="bytes")
    a_blobs.set_xlabel("")
    a_blobs.tick_params(axis="x", labelbottom=False)
    a_bytes.get_legend().remove()
    return _png(fig)


class Dashboard:
    """Header numbers plus hit-rate, reward and tier views of one trajectory, refreshing live.

    Attributes a caller may read: ``widget`` (the ipywidgets layout), ``header``
    (its HTML), ``views`` (name -> ``ipywidgets.Image``), ``frame`` and
    ``snapshot`` (the data last drawn), ``redraws`` (how many full redraws so
    far). ``refresh()`` redraws now; ``wait()`` blocks until a scheduled
    redraw is done; ``close()`` stops following the trajectory (the last
    picture stays on screen). Usable as a context manager that closes on exit.
    """

    def __init__(self, source: Any, *, snapshot: Any = None, refresh_s: float = 1.0, window: int = 50,
                 by: str | Sequence[str] = "action") -> None:
        if refresh_s < 0:
            raise ValueError(f"refresh_s must be >= 0 seconds, got {refresh_s}")
        self._read_frame, subscribe = resolve_source(source)
        self._read_snapshot, self.snapshot = resolve_snapshot(source, snapshot)
        self.refresh_s = float(refresh_s)
        self.window = int(window)
        self.live = subscribe is not None
        self.frame: pd.DataFrame = conform(pd.DataFrame())
        self.redraws = 0
        self.last_error: str | None = None

        self._lock = threading.Lock()  # guards the scheduling state below
        self._draw_lock = threading.Lock()  # one redraw at a time
        self._dirty = False
        self._drawing = False  # a timer's redraw is running
        self._closed = False
        self._timer: threading.Timer | None = None
        self._last_draw = float("-inf")  # when the last redraw began (monotonic s)
        self._last_end = float("-inf")  # ... and ended
        self._last_cost = 0.0  # how long it took (s)

        self.widget = self._build_widgets(by)

        # Subscribe before the first draw, so no step falls between the two.
        self._unsubscribe = subscribe(self._on_step) if subscribe is not None else None
        try:
            self.refresh()
        except BaseException:
            self.close()
            raise

    def _build_widgets(self, by: str | Sequence[str]) -> Any:
        """The header above three tabs of images; the reward tab has its grouping buttons."""
        import ipywidgets as widgets

        image = {"format": "png", "layout": widgets.Layout(max_width="100%", height="auto")}
        self.header = widgets.HTML()
        self.views: dict[str, Any] = {
            "hit_rate": widgets.Image(**image),
            "reward": widgets.Image(**image),
            "tiers": widgets.Image(**image),
        }
        by_value = tuple(by) if not isinstance(by, str) else by
        self.by = widgets.ToggleButtons(options=list(_BY_OPTIONS), value=by_value, description="group by",
                                        style={"button_width": "auto"})
        self.by.observe(self._on_by, names="value")
        tabs = widgets.Tab(children=[
            self.views["hit_rate"],
            widgets.VBox([self.by, self.views["reward"]]),
            self.views["tiers"],
        ])
        tabs.titles = ("Hit rate", "Reward", "Tier contents")
        return widgets.VBox([self.header, tabs])

    # -- following the trajectory --------------------------------------------
    def _on_step(self, *_: Any) -> None:
        # Called from whatever thread records the step: never draw here, only
        # make sure one redraw is scheduled.
        with self._lock:
            if self._closed:
                return
            self._dirty = True
            self._schedule_locked()

    def _schedule_locked(self) -> None:
        # At most one timer, and none while a timer's redraw runs (it schedules
        # the next one when it ends): a burst of steps never queues a pile of redraws.
        if self._timer is not None or self._drawing or not self._dirty or self._closed:
            return
        now = time.monotonic()
        # No sooner than refresh_s after the last redraw began, and leave the
        # recording thread at least as long idle as that redraw took, so a slow
        # redraw (a big frame) cannot keep the interpreter busy plotting.
        delay = max(0.0, self.refresh_s - (now - self._last_draw), self._last_cost - (now - self._last_end))
        self._timer = threading.Timer(delay, self._flush)
        self._timer.daemon = True
        self._timer.start()

    def _flush(self) -> None:
        with self._lock:
            self._timer = None
            if self._closed or not self._dirty:
                return
            self._drawing = True
        try:
            with self._draw_lock:
                if self._dirty and not self._closed:  # refresh() may have drawn it all meanwhile
                    self._redraw()
        except Exception as exc:  # a timer thread has no one to raise to
            # the widget's header shows it; a log record would land in whichever cell runs now
            logger.debug("dashboard redraw failed", exc_info=True)
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.header.value = self._header_html(self.frame, error=self.last_error)
        finally:
            with self._lock:
                self._drawing = False
                self._schedule_locked()

    @property
    def pending(self) -> bool:
        """Whether steps have arrived that are not drawn yet (or a redraw is running)."""
        with self._lock:
            return self._dirty or self._drawing or self._timer is not None

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until no redraw is pending; False if ``timeout`` seconds passed first."""
        deadline = time.monotonic() + timeout
        while self.pending:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    # -- drawing -------------------------------------------------------------
    def refresh(self) -> None:
        """Read the trajectory (and snapshot) and redraw everything now."""
        with self._draw_lock:
            self._redraw()

    def _redraw(self) -> None:
        with self._lock:
            # Cleared before reading, so a step recorded while we draw schedules the next redraw.
            self._dirty = False
            self._last_draw = time.monotonic()
        self.last_error = None  # a failure shows until a redraw succeeds (the snapshot may set it again)
        frame = conform(self._read_frame())
        snapshot = self._current_snapshot()
        hit_png, reward_png, tier_png = _hit_rate_png(frame, self.window), self._reward_png(frame), _tiers_png(snapshot)
        self.frame, self.snapshot = frame, snapshot
        self.views["hit_rate"].value = hit_png
        self.views["reward"].value = reward_png
        self.views["tiers"].value = tier_png
        self.header.value = self._header_html(frame, error=self.last_error)
        with self._lock:
            self.redraws += 1
            self._last_end = time.monotonic()
            self._last_cost = self._last_end - self._last_draw

    def _reward_png(self, frame: pd.DataFrame) -> bytes:
        fig = _view_figure()
        plot_reward_distribution(frame, by=self.by.value, ax=fig.add_subplot())
        return _png(fig)

    def _on_by(self, change: dict) -> None:
        with self._draw_lock:
            self.views["reward"].value = self._reward_png(self.frame)

    def _current_snapshot(self) -> Any:
        if self._read_snapshot is None:
            return self.snapshot
        try:
            snapshot = self._read_snapshot()
        except Exception as exc:
            # IOWarp down must not stop the dashboard: keep the last snapshot, say why in the header
            # (not a warning: that would print in whichever cell happens to be running)
            logger.debug("tier snapshot failed: %s", exc)
            self.last_error = f"tier snapshot failed: {type(exc).__name__}: {exc}"
            return self.snapshot
        self.last_error = None
        return snapshot

    def _header_html(self, frame: pd.DataFrame, error: str | None = None) -> str:
        numbers = run_summary(frame)
        steps, looked, errors = int(numbers["steps"]), int(numbers["retrieves"]), int(numbers["errors"])
        rate = numbers["hit_rate"]
        episodes = int(frame["episode"].nunique())
        cards = [
            ("steps", f"{steps:,}", f"{episodes:,} episode{'' if episodes == 1 else 's'}"),
            ("hit rate", "n/a" if np.isnan(rate) else f"{rate:.1%}", f"of {looked:,} retrieves"),
            ("reward total", f"{numbers['reward_total']:,.2f}", "points"),
            ("errors", f"{errors:,}", f"{errors / steps:.1%} of steps" if steps else "of 0 steps"),
        ]
        card = ("<div style='padding:4px 14px;border-left:3px solid #9467bd;min-width:110px'>"
                "<div style='font-size:11px;color:#666'>{}</div>"
                "<div style='font-size:20px;font-weight:600'>{}</div>"
                "<div style='font-size:11px;color:#666'>{}</div></div>")
        body = "".join(card.format(*(html.escape(part) for part in c)) for c in cards)
        state = "closed" if self._closed else ("live" if self.live else "static")
        stamp = datetime.now(timezone.utc).strftime("%H:%M:%S UTC")
        foot = f"<div style='font-size:11px;color:#888'>{state} · updated {stamp} · redraw {self.redraws + 1}</div>"
        if error:
            foot += f"<div style='font-size:11px;color:#d62728'>{html.escape(error)}</div>"
        return f"<div style='display:flex;gap:8px;flex-wrap:wrap'>{body}</div>{foot}"

    # -- output ----------------------------------------------------------------
    def figure(self) -> Figure:
        """The current data as one 2x2 figure (see :func:`summary_figure`)."""
        frame = self._read_frame()
        snapshot = self._current_snapshot()
        return summary_figure(frame, snapshot, window=self.window, by=self.by.value)

    def save_png(self, path: str | Path, dpi: float = 100) -> Path:
        """Write the current data as one PNG: the three views and the numbers."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.figure().savefig(path, format="png", dpi=dpi)
        return path

    def close(self) -> None:
        """Stop following the trajectory and cancel a scheduled redraw; the widget stays."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            timer, self._timer = self._timer, None
            self._dirty = False
        if timer is not None:
            timer.cancel()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        with self._draw_lock:  # a redraw already under way finishes before close() returns
            pass
        if isinstance(self._read_snapshot, ReaderSnapshot):
            self._read_snapshot.close()
        self.header.value = self._header_html(self.frame, error=self.last_error)

    def __enter__(self) -> Dashboard:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def static_png(self, dpi: float = 80) -> bytes:
        """The state last drawn as one PNG (no new read of the trajectory or the store)."""
        fig = summary_figure(self.frame, self.snapshot, window=self.window, by=self.by.value)
        return _png(fig, dpi=dpi)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        # The widget's own text repr embeds the header HTML with its clock; a
        # stable one keeps executed notebooks comparable (nbval).
        bundle["text/plain"] = repr(self)
        # A saved notebook opened without its kernel has no widget model to draw
        # ("Error displaying widget: model not found"): leave a picture of the
        # state shown, as plotting libraries (ipympl) do.
        try:
            bundle["image/png"] = base64.b64encode(self.static_png()).decode("ascii")
        except Exception:  # a picture is a courtesy; never fail the display for it
            logger.debug("dashboard picture failed", exc_info=True)
        return bundle

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("live" if self.live else "static")
        return f"Dashboard({state}, steps={len(self.frame)}, redraws={self.redraws}, refresh_s={self.refresh_s})"


def dashboard(source: Any, *, snapshot: Any = None, refresh_s: float = 1.0, window: int = 50,
              by: str | Sequence[str] = "action") -> Dashboard:
    """A :class:`Dashboard` over ``source``, redrawn at most once per ``refresh_s`` seconds.

    ``source`` is a trajectory DataFrame (drawn once), an object with
    ``to_frame()`` and optionally ``subscribe(callback) -> unsubscribe`` (a
    ``Trajectory``, followed live), or an object whose ``.trajectory`` is one (a
    session). ``snapshot`` is the tier snapshot list, or a function returning
    it; by default a source's ``snapshot()`` method is read at each redraw.
    ``window`` is the rolling hit-rate window in retrieves; ``by`` groups the
    reward view (``"action"``, ``"agent"`` or ``("agent", "action")``).
    """
    return Dashboard(source, snapshot=snapshot, refresh_s=refresh_s, window=window, by=by)
