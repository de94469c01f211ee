"""The two tiers and the bridge between the kernel and IOWarp.

Why this file imports pyzmq in a particular way: iowarp-core installs
`iowarp_core.pth`, so *every* Python start in its environment dlopens IOWarp's
libraries with RTLD_GLOBAL. One of them (libclio_run_cxx.so) exports a static
libzmq 4.3.5 built without CURVE, and pyzmq's calls bind to those symbols
instead of pyzmq's own libzmq: `zmq.has("curve")` is False and
`zmq.curve_keypair()` raises ENOTSUP. Loading pyzmq's extension with
RTLD_DEEPBIND makes it resolve against its own bundled libzmq (with CURVE)
first. That only works when this is the process's first `import zmq` (the
bridge, the CLI, scripts); a process that imported zmq earlier (a Jupyter
kernel, pytest with nbval) keeps IOWarp's libzmq, and a CURVE client there
gets a ServiceError that says so (see storage/curve.py).
"""

from __future__ import annotations

import os
import sys

if "zmq" not in sys.modules and hasattr(os, "RTLD_DEEPBIND") and hasattr(sys, "setdlopenflags"):
    _flags = sys.getdlopenflags()
    sys.setdlopenflags(os.RTLD_NOW | os.RTLD_LOCAL | os.RTLD_DEEPBIND)
    try:
        import zmq  # noqa: F401  (bound to its own libzmq from here on)
    finally:
        sys.setdlopenflags(_flags)
