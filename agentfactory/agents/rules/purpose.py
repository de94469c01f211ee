"""Purpose clauses: "free up cache space by dropping x from y" is the request "drop x from y".

People say why before what. The purpose adds one fact the request may lack,
that the cache is meant ("free up memory by removing a.md from docs"), and
nothing else: it is cut away, the request inside is parsed as if typed alone,
and when the purpose names the cache the request is read as being about the
cache ("... in the cache"), which turns an ambiguous removal into the harmless
prune. A purpose naming only "space" or "disk" adds nothing, so a bare
"free up space by deleting scratch" is refused like "delete scratch".
"""

from __future__ import annotations

from . import lexicon as lx
from .phrases import VERBS, longest, table
from .tokens import SEP, Tok, is_word, strip_seps, word
from .verbs import gerund_verb

_VERBS = table(lx.PURPOSE_VERBS)
_CONNECTORS = table(lx.PURPOSE_CONNECTORS)
_LINKS = table(lx.PURPOSE_LINKS)
_IN_THE_CACHE = [word("in"), word("the"), word("cache")]
_REMOVALS = frozenset({"prune", "destroy", "ambiguous"})


def _purpose_at(toks: list[Tok], i: int) -> int | None:
    """The index after "[to] free up" when a purpose starts at `i`."""
    conn = longest(_CONNECTORS, toks, i)
    j = i + (conn[0] if conn else 0)
    verb = longest(_VERBS, toks, j) if j < len(toks) else None
    return j + verb[0] if verb else None


def _leading(toks: list[Tok]) -> tuple[list[Tok], list[Tok]] | None:
    """ "free up memory by evicting x", "to save space, evict x": the request, and the purpose."""
    start = _purpose_at(toks, 0)
    if start is None:
        return None
    for j in range(start, len(toks)):
        link = longest(_LINKS, toks, j)
        verb = gerund_verb(toks[j + link[0]]) if link and j + link[0] < len(toks) else None
        if verb is not None or toks[j].kind == SEP:
            request = [verb, *toks[j + link[0] + 1 :]] if verb is not None else toks[j + 1 :]
            return (request, toks[:j]) if _names_room(toks[:j]) else None
    return None


def _names_room(purpose: list[Tok]) -> bool:
    return any(is_word(t, lx.PURPOSE_NOUNS) for t in purpose)


def _trailing(toks: list[Tok]) -> tuple[list[Tok], list[Tok]] | None:
    """ "evict x from y to free up cache space": the request before the purpose, and the purpose.

    Only after a removal verb: elsewhere "how to free up memory" is more likely search text."""
    verb = longest(VERBS, toks, 0)
    if verb is None or verb[1] not in _REMOVALS:
        return None
    for k in range(1, len(toks)):
        if _purpose_at(toks, k) is not None and _names_room(toks[k:]):
            return strip_seps(toks[:k]), toks[k:]
    return None


def unwrap_purpose(toks: list[Tok]) -> list[Tok]:
    """The request a purpose clause wraps, "in the cache" appended when the purpose names the cache."""
    found = (_leading(toks) or _trailing(toks)) if toks else None
    if found is None:
        return toks
    request, purpose = found
    if not request:
        return toks
    cached = any(is_word(t, lx.PURPOSE_CACHE) for t in purpose)
    return request + _IN_THE_CACHE if cached else request
