"""Finding the verb: the longest verb phrase first, with its particles moved aside.

People say "wipe out scratch", "pull notes.txt up from docs", "permanently
get rid of x", "fetch me back a.md". The particle adds nothing the verb does
not say, so it is dropped, but only where it cannot be a name: a particle
standing alone where a name belongs ("wipe out up") is left for the slot
filler to refuse, which keeps a destroy from ever being guessed.
"""

from __future__ import annotations

from . import lexicon as lx
from .limits import number
from .phrases import CLAUSE_WORDS, LIMIT_PHRASES, PERMANENCE, VERBS, longest
from .tokens import QUOTED, SEP, WORD, Tok, is_word, word

# Families whose verbs take an object that a particle may follow ("bring a.md back").
_OBJECT_FAMILIES = frozenset({"assimilate", "retrieve", "prune", "destroy", "ambiguous"})
# An object does not end in these, so a particle after them may be a name ("a and up", "out up").
_NOT_AN_OBJECT = lx.NAME_SEPARATORS | lx.PARTICLES


def _ends_object(rest: list[Tok], j: int) -> bool:
    """Whether `rest[j]` is a particle closing the object: the command or a clause goes on after it."""
    after = rest[j + 1] if j + 1 < len(rest) else None
    return is_word(rest[j], lx.PARTICLES) and (after is None or (
        is_word(after, CLAUSE_WORDS) and after.key != "of"  # "out of the cache" is a scope intro
        and longest(LIMIT_PHRASES, rest, j) is None))  # "up to 5" is a limit


def _separated_particle(toks: list[Tok]) -> tuple[str, str, list[Tok]] | None:
    """A phrasal verb split by its object, "pull notes.txt up from docs", for a first word that is no verb alone."""
    for phrase, family in VERBS.get(toks[0].key, ()) if toks[0].kind == WORD else ():
        for j in range(2, len(toks)) if len(phrase) == 2 else ():
            if toks[j].key == phrase[1] and _ends_object(toks, j):
                return " ".join(phrase), family, toks[1:j] + toks[j + 1 :]
            if toks[j].key == phrase[1] == "out" and j + 1 < len(toks) and toks[j + 1].key == "of":
                return " ".join(phrase), family, toks[1:]  # "throw a.md out of the cache"
    return None


def _particles(size: int, family: str, toks: list[Tok]) -> tuple[int, list[Tok]]:
    """Past the particles after a verb ("wipe out x", "fetch me back x") and one after its object
    ("bring a.md back from docs"); a particle is never taken for a name that ends the command."""
    if len(toks) > size + 2 and is_word(toks[size], lx.PARTICLE_OBJECTS) and is_word(toks[size + 1], lx.PARTICLES):
        toks = toks[: size + 1] + toks[size + 2 :]  # "fetch me back a.md"
    run = size
    while run < len(toks) and is_word(toks[run], lx.PARTICLES):
        run += 1
    if size < run < len(toks) and toks[run].key != "of":  # "wipe out up" keeps "out up" for the refusal
        size = run
    rest = toks[size:]
    if family in _OBJECT_FAMILIES:
        for j in range(1, len(rest)):
            if _ends_object(rest, j) and rest[j - 1].kind != SEP and not is_word(rest[j - 1], _NOT_AN_OBJECT):
                return size, rest[:j] + rest[j + 1 :]
    return size, rest


def gerund_verb(t: Tok) -> Tok | None:
    """The verb of an -ing form ("dropping" -> "drop", "removing" -> "remove"), if it is a known verb."""
    w = t.key
    if t.kind != WORD or not w.endswith("ing") or len(w) < 5:
        return None
    stem = w[:-3]
    for cand in (stem, stem + "e", stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else ""):
        if cand in VERBS:
            return word(cand)
    return None


def _noun_request(toks: list[Tok]) -> bool:
    """ "top 3 blobs in docs about x", "the docs blobs in the cache": a listing named without a verb."""
    i = 0
    while i < len(toks) and (is_word(toks[i], lx.NOUN_REQUEST_LEADS) or number(toks[i]) is not None):
        i += 1
    if i < len(toks) and is_word(toks[i], lx.NOUN_REQUESTS):
        return True
    return i + 1 < len(toks) and toks[i].kind in (WORD, QUOTED) and is_word(toks[i + 1], lx.PLURAL_BLOB_NOUNS)


def find_verb(toks: list[Tok]) -> tuple[str, str, list[Tok]] | None:
    """(verb as typed, its family, the tokens after it), particles and a leading "permanently" moved aside."""
    hit = longest(VERBS, toks, 0)
    if hit is None:
        lead = longest(PERMANENCE, toks, 0)  # "permanently get rid of x" is "get rid of x permanently"
        if lead is not None and len(toks) > lead[0]:
            return find_verb(toks[lead[0] :] + toks[: lead[0]])
        noun = 1 if toks[0].key in lx.ARTICLES else 0
        if noun < len(toks) and is_word(toks[noun], lx.IMPLIED_SHOW):  # "contents of docs?"
            return "show", "retrieve", toks
        if _noun_request(toks):
            return "list", "noun", toks
        verb = gerund_verb(toks[0])  # "would you mind loading x", "evicting a.md from docs, please"
        if verb is not None:
            return find_verb([verb, *toks[1:]])
        return _separated_particle(toks)
    size, family = hit
    split_verb = _separated_particle(toks) if size == 1 else None
    if split_verb is not None:  # "throw a.md out of the cache" is "throw out", though "throw" loads
        return split_verb
    size, rest = _particles(size, family, toks)
    return " ".join(t.key for t in toks[:size]), family, rest
