"""The seed demo: ingest, query, hit, prune, miss, hit, destroy, error.

Sample documents are written into a working folder under the session's home
so the demo runs from any directory and touches nothing of the user's.
"""

from __future__ import annotations

from pathlib import Path

SAMPLE_DOCS = {
    "api_reference.md": "# API reference\n\nretrieve(tag, blob) returns the exact bytes; ocean temperature example.\n",
    "notes.txt": "Lab notes: sea ice extent measurements, run 42.\n",
    "results/metrics.csv": "step,loss\n0,1.00\n1,0.71\n2,0.52\n",
}

DEMO_COMMANDS = [
    "ingest file::data/sample_docs/api_reference.md as docs",
    "ingest folder::./data/sample_docs into docs",
    "query docs",
    "get api_reference.md from docs",
    "prune api_reference.md from docs",
    "get api_reference.md from docs",
    "get api_reference.md from docs",
    "destroy docs",
    "get api_reference.md from docs",
]


def write_sample_data(workdir: Path) -> Path:
    """Create `data/sample_docs/` under `workdir`; returns `workdir`."""
    for rel, text in SAMPLE_DOCS.items():
        path = workdir / "data" / "sample_docs" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return workdir
