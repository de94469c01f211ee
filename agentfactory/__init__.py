"""AgentFactory: agentic data management over a Memcached + IOWarp two-tier store.

`%load_ext agentfactory` loads the notebook magics; the import of IPython
happens only then, so the framework itself never needs it.
"""

from __future__ import annotations

__version__ = "0.1.0"


def load_ipython_extension(ipython):  # pragma: no cover - thin delegation
    from agentfactory.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython):  # pragma: no cover - thin delegation
    from agentfactory.magics import unload_ipython_extension as unload

    unload(ipython)
