"""h5py, imported on first use: `import agentfactory.sources` must stay cheap for file:: and mem:: users."""

from __future__ import annotations

from types import ModuleType

from agentfactory.core.errors import UnsupportedSource


def h5py() -> ModuleType:
    """The h5py module, or an error that says how to get it."""
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a hard dependency
        raise UnsupportedSource("hdf5:: sources need h5py", hint="pip install h5py") from None
    return h5py
