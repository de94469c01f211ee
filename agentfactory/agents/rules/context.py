"""Clauses around the object: "I've got file::x.csv, load it as docs", "show me a.md, it's in docs".

A user may first say what they have and then what to do with it. Only the
object is carried over, into the place of the first pronoun ("it", "them")
of the request after the comma; without such a pronoun the request stands
alone ("I've got a question, what's in docs?"), so no word is ever guessed
into a slot.
"""

from __future__ import annotations

from . import lexicon as lx
from .phrases import longest, table
from .tokens import SEP, Tok, is_word, strip_seps

_OPENERS = table(lx.CONTEXT_OPENERS)


def unwrap_context(toks: list[Tok]) -> list[Tok]:
    """The request after a context clause, its pronoun replaced by the clause's object."""
    hit = longest(_OPENERS, toks, 0) if toks else None
    if hit is None:
        return toks
    cut = next((j for j in range(hit[0], len(toks)) if toks[j].kind == SEP), None)
    if cut is None:
        return toks
    obj, request = strip_seps(toks[hit[0] : cut]), strip_seps(toks[cut + 1 :])
    k = next((i for i, t in enumerate(request) if is_word(t, lx.PRONOUNS)), None)
    if not request:
        return toks
    return request if k is None else request[:k] + obj + request[k + 1 :]


_AFTERTHOUGHTS = table(lx.AFTERTHOUGHTS)


def drop_afterthoughts(toks: list[Tok]) -> list[Tok]:
    """ "show me a.md, it's in docs" -> "show me a.md in docs": a comma and words that restate the object."""
    out: list[Tok] = []
    i = 0
    while i < len(toks):
        hit = longest(_AFTERTHOUGHTS, toks, i + 1) if toks[i].kind == SEP and i + 1 < len(toks) else None
        if hit is not None and i + 1 + hit[0] < len(toks):
            i += 1 + hit[0]
            continue
        out.append(toks[i])
        i += 1
    return out
