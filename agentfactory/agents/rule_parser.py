"""Compatibility name: the rule parser now lives in `agentfactory.agents.rules`."""

from __future__ import annotations

from .rules import parse_command

__all__ = ["parse_command"]
