"""Phrase tables built from the lexicon, and the clause splitter that uses them.

A table maps a first word to the phrases starting with it, longest first, so a
lookup at a position finds "get rid of" before "get". Every multi-word
keyword of the parser (verbs, intros, politeness, permanence, limits) is
matched through one of these tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from . import lexicon as lx
from .tokens import URI, WORD, Tok

Table = dict[str, list[tuple[tuple[str, ...], str]]]

SCOPE, PROMPT, DEST, FORMAT, FROM, SOURCE = "scope", "prompt", "dest", "format", "from", "uri"


def table(spec: Mapping[str, Iterable[str]] | Iterable[str]) -> Table:
    """{value: phrases} (or bare phrases, valued "") -> first word -> [(words, value)], longest first."""
    pairs = spec.items() if isinstance(spec, Mapping) else [("", spec)]
    out: Table = {}
    for value, phrases in pairs:
        for phrase in phrases:
            words = tuple(phrase.split())
            out.setdefault(words[0], []).append((words, value))
    for cands in out.values():
        cands.sort(key=lambda c: -len(c[0]))
    return out


def longest(tab: Table, toks: list[Tok], i: int) -> tuple[int, str] | None:
    """The longest phrase of `tab` starting at `toks[i]`, as (length, value)."""
    t = toks[i]
    if t.kind != WORD:
        return None
    for phrase, value in tab.get(t.key, ()):
        end = i + len(phrase)
        if end <= len(toks) and all(u.kind == WORD and u.key == w for u, w in zip(toks[i:end], phrase)):
            return len(phrase), value
    return None


def strip(toks: list[Tok], tab: Table) -> tuple[list[Tok], bool]:
    """Remove every phrase of `tab` wherever it stands; report whether any was found."""
    out: list[Tok] = []
    found = False
    i, n = 0, len(toks)
    while i < n:
        hit = longest(tab, toks, i)
        if hit:
            found = True
            i += hit[0]
        else:
            out.append(toks[i])
            i += 1
    return out, found


def strip_tiers(toks: list[Tok]) -> tuple[list[Tok], str | None]:
    """Drop the phrases naming a tier ("on disk", "in memory"); which tier, the cache winning."""
    out: list[Tok] = []
    tier: str | None = None
    i = 0
    while i < len(toks):
        hit = longest(TIERS, toks, i)
        if hit is None:
            out.append(toks[i])
            i += 1
            continue
        tier = "cache" if tier == "cache" else hit[1]
        i += hit[0]
    return out, tier


class Clause:
    """A clause: its kind (scope, prompt, dest, ...), the intro words, the words after them."""

    __slots__ = ("content", "intro", "kind")

    def __init__(self, kind: str, intro: list[Tok]) -> None:
        self.kind = kind
        self.intro = intro
        self.content: list[Tok] = []


def split(toks: list[Tok], tab: Table) -> tuple[list[Tok], list[Clause]]:
    """Cut tokens at clause intros; a source URI is a clause of its own, so it ends a destination."""
    head: list[Tok] = []
    clauses: list[Clause] = []
    cur = head
    i, n = 0, len(toks)
    while i < n:
        t = toks[i]
        hit = (1, SOURCE) if t.kind == URI else longest(tab, toks, i)
        if hit is None:
            cur.append(t)
            i += 1
            continue
        size, kind = hit
        clause = Clause(kind, toks[i : i + size])
        clauses.append(clause)
        cur = clause.content
        i += size
    return head, clauses


VERBS = table(lx.VERBS)
ALL_VERBS: tuple[str, ...] = tuple(p for phrases in lx.VERBS.values() for p in phrases)
POLITE = table(lx.POLITE_OPENERS)
CLOSERS = table(lx.POLITE_CLOSERS)
PERMANENCE = table(lx.PERMANENCE)
LIMIT_PHRASES = table(lx.LIMIT_PHRASES)
LISTING_FILLER = table(lx.LISTING_FILLER)
TIERS = table(lx.TIER_PHRASES)
LIST_INTROS = table({SCOPE: (*lx.SCOPE_INTROS, *lx.SEARCH_PROMPT_INTROS), PROMPT: lx.PROMPT_INTROS})
QUERY_INTROS = table({SCOPE: lx.SCOPE_INTROS, PROMPT: (*lx.PROMPT_INTROS, *lx.SEARCH_PROMPT_INTROS)})
BLOB_INTROS = table({SCOPE: lx.BLOB_SCOPE_INTROS})
DEST_INTROS = table({DEST: lx.DEST_INTROS, FORMAT: lx.FORMAT_INTROS, FROM: lx.SOURCE_INTROS})
#: First words of every clause intro: a particle before one of them ends the object.
CLAUSE_WORDS: frozenset[str] = frozenset().union(LIST_INTROS, QUERY_INTROS, BLOB_INTROS, DEST_INTROS)
