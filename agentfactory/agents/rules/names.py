"""Reading names out of a clause: tags, blob lists, and the filler around them.

The one rule behind all of it: a name is never guessed. Words that might be
one name with a space or two names, "or", globs where exact names are needed:
each is refused with the two readings spelled out.
"""

from __future__ import annotations

from . import lexicon as lx
from .phrases import SCOPE, Clause
from .refuse import join, refuse
from .tokens import QUOTED, SEP, URI, WORD, Tok, is_word, strip_seps, words


def is_article(toks: list[Tok], i: int, articles: frozenset[str] = lx.ARTICLES) -> bool:
    """'the'/'a'/'an' is an article only when a name follows it: in "tags a and b", "a" is a tag."""
    t = toks[i]
    return t.kind == WORD and t.key in articles and i + 1 < len(toks) and toks[i + 1].kind in (WORD, QUOTED) \
        and toks[i + 1].key not in lx.NAME_SEPARATORS


def filler_at(toks: list[Tok], i: int, filler: frozenset[str]) -> bool:
    t = toks[i]
    if t.kind != WORD or t.key not in filler:
        return False
    return t.key not in lx.ARTICLES or is_article(toks, i)


def name(t: Tok) -> str:
    """A bare word's name, without a possessive ("docs' cache", "docs's cache")."""
    if t.kind == WORD:
        if t.text.endswith("'s") and len(t.text) > 2:
            return t.text[:-2]
        if t.text.endswith("'") and len(t.text) > 1:
            return t.text[:-1]
    return t.text


def trim(toks: list[Tok], filler: frozenset[str]) -> list[Tok]:
    """Drop filler words and separators from both ends, keeping inner ones ("history of science")."""
    lo, hi = 0, len(toks)
    while lo < hi and (is_word(toks[lo], filler) or toks[lo].kind == SEP):
        lo += 1
    while hi > lo and (is_word(toks[hi - 1], filler) or toks[hi - 1].kind == SEP):
        hi -= 1
    return toks[lo:hi]


def tag_spec(content: list[Tok]) -> tuple[str | None, bool, bool] | None:
    """Read "the docs cache", "tag sim_*", "all tags" -> (name, mentions cache, means every tag).

    A scope naming only a tier ("in iowarp", "in the cache") has no name.

    Returns None when the words are not one tag, so the caller can give them
    back to the prompt they probably belong to ("about life in the deep sea").
    """
    names: list[str] = []
    cached = star = tier = False
    content = strip_seps(content)  # "in docs, best 3"
    for i, t in enumerate(content):
        if t.kind == WORD:
            if t.key in lx.CACHE_WORDS:
                cached = True
                continue
            if t.key in lx.STORE_WORDS:  # "in iowarp", "in the store": a tier, not a tag
                tier = True
                continue
            if t.key in lx.CACHE_LINKS and i and is_word(content[i - 1], lx.CACHE_WORDS):
                continue  # "the cache for docs"
            if t.key in lx.STAR_WORDS:
                star = True
                continue
            if filler_at(content, i, lx.TAG_FILLER):
                continue
        elif t.kind != QUOTED:
            return None
        names.append(name(t))
    if len(names) > 1:
        return None
    if not names and not (cached or star or tier):
        return None
    return (names[0] if names else None), cached, star


def name_list(verb: str, toks: list[Tok], filler: frozenset[str], example: str) -> list[str]:
    """Names from "a.md, b.md and c.md"; refuses anything that would need a guess."""
    names: list[str] = []
    separated = True
    for i, t in enumerate(toks):
        if t.kind == SEP or is_word(t, lx.NAME_SEPARATORS):
            separated = True
            continue
        if filler_at(toks, i, filler):
            continue
        if t.kind == WORD and t.key == "or":
            raise refuse(verb, "'or' leaves the names open", suggestion=example.replace("<names>", join(names) or "<name>"))
        if t.kind == URI:
            raise refuse(verb, f"got a source URI {t.text} where a name belongs", suggestion=example)
        if not separated:
            joined = " ".join([names[-1], t.text])
            raise refuse(
                verb, f"'{joined}' is either one name with a space or two names",
                suggestion=example.replace("<names>", f"{names[-1]}, {t.text}")
                + f"   (or one name: {example.replace('<names>', repr(joined))})",
            )
        names.append(t.text)
        separated = False
    return list(dict.fromkeys(names))


def scope_tag(verb: str, clauses: list[Clause], what: str) -> tuple[str | None, bool]:
    """The one tag the scope clauses name (and whether they mention the cache); refuses two."""
    found: str | None = None
    cached = False
    for c in clauses:
        if c.kind != SCOPE:
            continue
        spec = tag_spec(c.content)
        if spec is None:
            raise refuse(verb, f"could not read one tag from '{words(c.intro + c.content)}'", suggestion=what)
        tag_name, mentions_cache, _star = spec
        cached |= mentions_cache
        if tag_name is not None:
            if found is not None and tag_name != found:
                raise refuse(verb, f"two tags ('{found}', '{tag_name}')", suggestion=what)
            found = tag_name
    return found, cached


def glob_hint(names: list[str]) -> str:
    """A glob covering several tags when they share a prefix, else the first tag."""
    prefix = names[0]
    for n in names[1:]:
        while not n.startswith(prefix):
            prefix = prefix[:-1]
    return f"{prefix}*" if prefix else names[0]
