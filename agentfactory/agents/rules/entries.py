"""Noun phrases that name a blob by its entry: "the cached copy of a.csv", "x's cache entry".

Users name the cache entry, the copy or the version as often as the blob
itself. These phrases are rewritten to the bare name before clauses are
split, so the "of"/"for" inside them is not read as a scope ("the copy of
a.csv in docs" would otherwise name two tags), and a trailing "stored in",
"that lives in" is dropped so only the scope names the tag.
"""

from __future__ import annotations

from . import lexicon as lx
from .names import name
from .phrases import BLOB_INTROS, longest
from .tokens import QUOTED, WORD, Tok, is_word, word

_NOT_NAMES = lx.CACHE_WORDS | lx.ENTRY_NOUNS | lx.ENTRY_NOUNS_PLURAL | lx.CONTENT_NOUNS | lx.BLOB_WORDS \
    | lx.TAG_WORDS | lx.ARTICLES | lx.LOCATED_WORDS | lx.LISTING_WORDS | frozenset(BLOB_INTROS)
_QUALIFIERS = lx.CACHE_WORDS | lx.ENTRY_ADJECTIVES
#: What may stand between "of" and the name: "the contents of the blob a.csv".
_BEFORE_NAME = lx.ARTICLES | lx.BLOB_WORDS | lx.ENTRY_NOUNS


def _is_name(t: Tok) -> bool:
    return t.kind == QUOTED or (t.kind == WORD and t.key not in _NOT_NAMES)


def _is_possessive(t: Tok) -> bool:
    return t.kind == WORD and name(t) != t.text


def _names_follow(toks: list[Tok], i: int) -> bool:
    """A name comes at `i`, maybe after an article or noun ("the contents of the blob a.csv")."""
    while i < len(toks) and is_word(toks[i], _BEFORE_NAME):
        i += 1
    return i < len(toks) and _is_name(toks[i])


def _entry_end(toks: list[Tok], i: int, nouns: frozenset[str]) -> int | None:
    """The index after "[cached|stored ...] <entry noun>" starting at `i`, or None."""
    j = i
    while j < len(toks) and is_word(toks[j], _QUALIFIERS):
        j += 1
    return j + 1 if j < len(toks) and is_word(toks[j], nouns) else None


def _drop_located(toks: list[Tok]) -> list[Tok]:
    """ "a.csv stored in docs", "a.csv that lives in docs" -> "a.csv in docs" """
    out: list[Tok] = []
    i = 0
    while i < len(toks):
        k = i
        while k < len(toks) and is_word(toks[k], lx.LOCATED_WORDS):
            k += 1
        if k > i and out and _is_name(out[-1]) and k < len(toks) and longest(BLOB_INTROS, toks, k):
            i = k
            continue
        out.append(toks[i])
        i += 1
    return out


#: A single blob read whole: its copy, entry or contents.
ONE_BLOB = lx.ENTRY_NOUNS | lx.CONTENT_NOUNS
#: Cached entries to evict, one or several.
CACHED_BLOBS = lx.ENTRY_NOUNS | lx.ENTRY_NOUNS_PLURAL


def name_entries(toks: list[Tok], nouns: frozenset[str]) -> list[Tok]:
    """Rewrite "<noun> of X", "X's <noun>" (for the `nouns` given) to the names they stand for."""
    out: list[Tok] = []
    i, n = 0, len(toks)
    while i < n:
        t = toks[i]
        end = _entry_end(toks, i, nouns)
        if end is not None and end < n and is_word(toks[end], lx.ENTRY_LINKS) and _names_follow(toks, end + 1):
            i = end + 1  # "the cached copy of a.csv" -> "the a.csv"
            continue
        if _is_possessive(t) and i + 1 < n:
            end = _entry_end(toks, i + 1, nouns)
            if end is not None:  # "a.md's cached copy" -> "a.md"
                out.append(word(name(t)))
                i = end
                continue
            if _is_name(toks[i + 1]):  # "docs's notes.txt" -> "notes.txt from docs"
                out += [toks[i + 1], word("from"), word(name(t))]
                i += 2
                continue
        out.append(t)
        i += 1
    return _drop_located(out)
