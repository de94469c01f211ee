"""Result limits ("top 5", "at most ten results", "max_results=4") pulled out of a listing.

They are taken out before clauses are split, so a number never ends up as a
tag or in the search text; two different limits are refused, not picked from.
"""

from __future__ import annotations

import re

from ...core.errors import ParseError
from . import lexicon as lx
from .phrases import LIMIT_PHRASES, longest
from .tokens import WORD, Tok, is_word

_NUMBERS = {w: n for n, w in enumerate(lx.NUMBER_WORDS)}
_INLINE = re.compile(rf"(?:{'|'.join(map(re.escape, lx.LIMIT_KEYS))})[=:](\d+)\Z")


def number(t: Tok) -> int | None:
    if t.kind != WORD:
        return None
    if t.key.isdigit():
        return int(t.key)
    return _NUMBERS.get(t.key)


def _skip_result_words(toks: list[Tok], i: int) -> int:
    """Past "results", "best matches", "most relevant" after a limit: they never name a tag or a topic;
    nor does a noun like "docs" right after the number ("three docs about x")."""
    if i < len(toks) and is_word(toks[i], lx.TAGLIKE_NOUNS):
        i += 1
    while i < len(toks) and is_word(toks[i], lx.RESULT_NOUNS):
        if i + 1 < len(toks) and number(toks[i + 1]) is not None:  # "top 3 best 5": the next limit
            break
        i += 1
    return i


def _limit_at(toks: list[Tok], i: int) -> tuple[int, int] | None:
    """(limit, index after it) when a limit starts at `toks[i]`."""
    t, n = toks[i], len(toks)
    inline = _INLINE.match(t.key)
    if inline:
        return int(inline.group(1)), i + 1
    if t.key in lx.LIMIT_WORDS and i + 1 < n:
        num = number(toks[i + 1])
        if num is not None:
            return num, _skip_result_words(toks, i + 2)
        if toks[i + 1].key in lx.SINGLE_RESULT:  # "the top result" means one
            return 1, i + 1
    hit = longest(LIMIT_PHRASES, toks, i)
    if hit and i + hit[0] < n and (num := number(toks[i + hit[0]])) is not None:
        return num, _skip_result_words(toks, i + hit[0] + 1)
    num = number(t)
    if num is not None and i + 1 < n and toks[i + 1].key in lx.LIMIT_NOUNS:
        return num, _skip_result_words(toks, i + 1)
    return None


def take_limit(toks: list[Tok]) -> tuple[list[Tok], int | None]:
    """Pull "top 5", "at most 10", "3 results", "max_results=4" out of a query; nouns stay for the head."""
    out: list[Tok] = []
    found: list[int] = []
    i = 0
    while i < len(toks):
        hit = _limit_at(toks, i) if toks[i].kind == WORD else None
        if hit is None:
            out.append(toks[i])
            i += 1
            continue
        found.append(hit[0])
        i = hit[1]
    if not found:
        return out, None
    if len(set(found)) > 1:
        raise ParseError(
            f"two different result limits ({', '.join(map(str, dict.fromkeys(found)))})",
            suggestion=f"keep one, e.g. 'top {found[0]}'",
        )
    if found[0] < 1:
        raise ParseError("a result limit must be at least 1", suggestion="search <tag> about <text> top 5")
    return out, found[0]
