"""The IPython extension: `%load_ext agentfactory` adds `%%agent`, `%agent` and `%iowarp`.

Unloading (`%unload_ext agentfactory`, or the first half of `%reload_ext`)
removes the magics and releases the kernel-wide session: its store
connections close, the services keep running (they may serve other kernels;
`%iowarp services down` stops the ones this kernel started).
"""

from __future__ import annotations

from typing import Any

from .agent_magics import AgentMagics, assignment_transform, interpolate
from .results import AgentResult, Message, RouteResult

__all__ = [
    "AgentMagics",
    "AgentResult",
    "Message",
    "RouteResult",
    "interpolate",
    "load_ipython_extension",
    "unload_ipython_extension",
]


def load_ipython_extension(ipython: Any) -> None:
    if "AgentMagics" in ipython.magics_manager.registry:
        return
    ipython.register_magics(AgentMagics(ipython))
    if assignment_transform not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.append(assignment_transform)


def unload_ipython_extension(ipython: Any) -> None:
    magics = ipython.magics_manager.registry.pop("AgentMagics", None)
    if assignment_transform in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.remove(assignment_transform)
    if magics is None:
        return
    magics.close()
    for table in ipython.magics_manager.magics.values():
        for name in [n for n, fn in table.items() if getattr(fn, "__self__", None) is magics]:
            del table[name]
    if magics in ipython.configurables:
        ipython.configurables.remove(magics)
