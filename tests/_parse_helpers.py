"""What the rule parser's test modules share: a command's (action, params), or the refusal it gets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentfactory.agents.rules import parse_command
from agentfactory.core.errors import ParseError

A, Q, L, R, P, D = "assimilate", "query", "list_blobs", "retrieve", "prune", "destroy"

# tests/data/paraphrases.jsonl: how people say it (see test_rule_parser_paraphrases.py)
PARAPHRASE_FILE = Path(__file__).resolve().parent / "data" / "paraphrases.jsonl"
PARAPHRASE_SET = [json.loads(line) for line in PARAPHRASE_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
STRICT = [c for c in PARAPHRASE_SET if c["kind"] == "strict"]


def parsed(command: str) -> tuple[str, dict]:
    action = parse_command(command)
    return action.action, action.params_dict()


def refusal(command: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_command(command)
    return info.value
