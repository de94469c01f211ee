"""The slot fillers: one per verb family, each reading its action's parameters from clauses.

`FILLERS` maps a family of `lexicon.VERBS` to the function that turns the words
after the verb into an `Action` (or refuses them).
"""

from __future__ import annotations

from collections.abc import Callable

from ....core.actions import Action
from ..tokens import Tok
from .assimilate import assimilate
from .listing import listing
from .remove import remove
from .retrieve import look_up, question, retrieve

Filler = Callable[[str, list[Tok]], Action]

FILLERS: dict[str, Filler] = {
    "assimilate": assimilate,
    "retrieve": retrieve,
    "query": lambda verb, rest: listing(verb, rest, "query"),
    "prompt": lambda verb, rest: listing(verb, rest, "prompt"),
    "lookup": look_up,
    "list": lambda verb, rest: listing(verb, rest, "list"),
    "question": question,
    "noun": lambda verb, rest: listing(verb, rest, "noun"),
    "prune": lambda verb, rest: remove(verb, rest, "prune"),
    "destroy": lambda verb, rest: remove(verb, rest, "destroy"),
    "ambiguous": lambda verb, rest: remove(verb, rest, "ambiguous"),
}

__all__ = ["FILLERS", "Filler"]
