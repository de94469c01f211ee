"""Layering: core stays free of sources, values and h5py; sources load h5py only for an HDF5 source.

Each test imports in a fresh interpreter, so what is loaded is what the import itself pulled in.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def _fresh_modules(code: str) -> dict:
    """Run ``code`` in a new interpreter and return what it printed as JSON (imports start clean)."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_importing_core_loads_nothing_of_the_top_level_nor_h5py():
    report = _fresh_modules(
        """
        import json, pkgutil, importlib, sys
        import agentfactory.core as core
        for info in pkgutil.iter_modules(core.__path__):
            importlib.import_module(f"agentfactory.core.{info.name}")
        outside = sorted(m for m in sys.modules if m.startswith("agentfactory.")
                         and not m.startswith("agentfactory.core"))
        print(json.dumps({"outside": outside, "h5py": "h5py" in sys.modules}))
        """
    )
    assert report == {"outside": [], "h5py": False}


def test_importing_sources_leaves_h5py_for_the_first_hdf5_source():
    report = _fresh_modules(
        """
        import json, sys
        import agentfactory.sources
        print(json.dumps({"h5py": "h5py" in sys.modules}))
        """
    )
    assert report == {"h5py": False}


def test_observation_value_decodes_through_the_decoder_sources_registers():
    """core cannot decode on its own; importing agentfactory.sources (as Session and IOWarpEnv do) plugs it in."""
    report = _fresh_modules(
        """
        import json
        from agentfactory.core.observation import Observation
        text = Observation(ok=True, data="grüße".encode(), metadata={"kind": "text", "encoding": "utf-8"})
        try:
            text.value()
            before = None
        except RuntimeError as exc:
            before = str(exc)
        empty = Observation(ok=False).value()
        import agentfactory.sources
        print(json.dumps({"before": before, "empty": empty, "after": text.value()}))
        """
    )
    assert "import agentfactory.sources" in report["before"]
    assert report["empty"] is None and report["after"] == "grüße"
