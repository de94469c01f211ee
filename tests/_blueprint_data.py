"""What the blueprint tests share: the built-in names, a YAML file written by hand, a user's own blueprint.

A plain module, imported by name (pytest puts tests/ on sys.path); the `reg` and
`clean_agent_types` fixtures live in conftest.py.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from agentfactory.factory import Blueprint

BUILTINS = {"claude_agent", "coordinator_agent", "ingestor_agent", "iowarp_agent", "llm_agent", "retriever_agent"}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def my_agent(**changes) -> Blueprint:
    data = {"name": "my_agent", "description": "Summarizes tags", "type": "retriever", **changes}
    return Blueprint.model_validate(data)
