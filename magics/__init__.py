"""The IPython extension: `%load_ext agentfactory` adds `%%agent`, `%agent` and `%iowarp`.

`AgentMagics` (`agent_magic.py`) holds the settings users set with `%config
AgentMagics.<trait>` and runs `%%agent`; `IOWarpMagics` (`iowarp_magic.py`)
reads those settings and runs `%iowarp`; both share one kernel-wide Session
(`kernel.py`). Unloading (`%unload_ext agentfactory`, or the first half of
`%reload_ext`) removes the magics and releases that session: its store
connections close, the services keep running (they may serve other kernels;
`%iowarp services down` stops the ones this kernel started).
"""

from __future__ import annotations

from typing import Any

from .agent_magic import AgentMagics
from .iowarp_magic import IOWarpMagics
from .results import AgentResult, Message, RouteResult
from .syntax import assignment_transform, interpolate

__all__ = [
    "AgentMagics",
    "AgentResult",
    "IOWarpMagics",
    "Message",
    "RouteResult",
    "interpolate",
    "load_ipython_extension",
    "unload_ipython_extension",
]


def load_ipython_extension(ipython: Any) -> None:
    if "AgentMagics" in ipython.magics_manager.registry:
        return
    settings = AgentMagics(ipython)
    ipython.register_magics(settings, IOWarpMagics(ipython, settings=settings))
    if assignment_transform not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.append(assignment_transform)


def unload_ipython_extension(ipython: Any) -> None:
    registry = ipython.magics_manager.registry
    settings = registry.pop("AgentMagics", None)
    removed = [m for m in (settings, registry.pop("IOWarpMagics", None)) if m is not None]
    if assignment_transform in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.remove(assignment_transform)
    if settings is not None:
        settings.close()
    for table in ipython.magics_manager.magics.values():
        for name in [n for n, fn in table.items() if getattr(fn, "__self__", None) in removed]:
            del table[name]
    for magics in removed:
        if magics in ipython.configurables:
            ipython.configurables.remove(magics)
