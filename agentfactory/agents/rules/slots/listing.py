"""query and list_blobs: a tag pattern from the scope (or the head), a prompt, a limit.

Which of the two: "query" and "prompt" verbs (search, find, look for) ask
what is cached now; "list" and "question" verbs (list, what, which, show)
ask what is stored persistently, unless a cache word ("cached", "in the
cache") says the cache is meant.
"""

from __future__ import annotations

from ....core.actions import Action, ListBlobsParams, QueryParams
from ....core.errors import ParseError
from .. import lexicon as lx
from ..limits import take_limit
from ..names import glob_hint, name, tag_spec, trim
from ..phrases import (
    LIST_INTROS,
    LISTING_FILLER,
    PROMPT,
    QUERY_INTROS,
    SCOPE,
    Clause,
    split,
    strip,
    strip_tiers,
)
from ..refuse import join, refuse
from ..tokens import GLOB, PATHLIKE, SEP, URI, Tok, is_word, strip_seps, words

Scope = tuple[str | None, bool, bool]  # (tag name, mentions the cache, means every tag)


def _is_weak(c: Clause, after_words: bool) -> bool:
    """A weak intro ("of", "for", "on") glues ordinary English after real words, unless "tag" is near."""
    if c.intro[0].key not in lx.WEAK_SCOPE_INTROS or not after_words:
        return False
    near = c.intro + [t for t in c.content if t.key not in lx.ARTICLES][:1] + c.content[-1:]
    return not any(is_word(t, lx.TAG_WORDS) for t in near)


def _clauses(verb: str, head: list[Tok], clauses: list[Clause]) -> tuple[list[list[Tok]], list[Scope]]:
    """Prompts and scopes; a clause that is not a real scope is given back to the text before it.

    Filler before another prompt ("for anything mentioning x") and a scope intro
    with nothing after it ("persisted for tags matching sim_*") are dropped.
    """
    prompts: list[list[Tok]] = []
    scopes: list[Scope] = []
    last_text = head
    for k, c in enumerate(clauses):
        follows = clauses[k + 1] if k + 1 < len(clauses) else None
        if c.kind == SCOPE and follows is not None and all(is_word(t, lx.TAG_WORDS | lx.ARTICLES) for t in c.content):
            continue  # "under (the) tags matching sim_*": the scope is what follows
        if c.kind == PROMPT and follows is not None and follows.kind == PROMPT and c.content \
                and all(is_word(t, lx.PROMPT_FILLER) for t in c.content):
            continue
        if c.kind == PROMPT:
            if c.intro[0].key == "matching" and len(c.content) == 1 and GLOB.search(c.content[0].text):
                c.kind = SCOPE  # "tags matching sim_*"
            else:
                if not c.content:
                    raise refuse(verb, f"nothing after '{words(c.intro)}'",
                                 suggestion=f"{verb} <tag> {words(c.intro)} <text>")
                prompts.append(c.content)
                last_text = c.content
                continue
        spec = tag_spec(c.content)
        after_words = last_text is not head or bool(trim(head, lx.HEAD_FILLER))
        if spec is None or _is_weak(c, after_words):
            last_text.extend(c.intro + c.content)
            continue
        scopes.append(spec)
    return prompts, scopes


def _head_core(verb: str, head: list[Tok], mode: str) -> list[Tok]:
    """The head's words that are a tag or search text, filler trimmed; refuses several tags.

    After a yes/no question, file names in the head ("is a.csv cached in docs?",
    "does docs have a.csv?") are the blobs asked about, never a tag or search text.
    """
    if mode == "yes_no":
        head = [t for t in head if not (t.kind == SEP or is_word(t, lx.NAME_SEPARATORS) or PATHLIKE.search(t.text))]
    core = trim(head, lx.HEAD_FILLER)
    if not core:
        bare = [t for t in head if not is_word(t, lx.ARTICLES | {"me", "us"})]
        if len(bare) == 1 and bare[0].key in lx.SOLO_TAG_OK:
            core = bare
    if mode == "list" and any(t.kind == SEP or t.key in ("and", "or") for t in core) and len(core) > 1:
        listed = [t.text for t in core if t.kind != SEP and t.key not in ("and", "or")]
        raise refuse(verb, f"several tags ({words(core)}); one pattern per command",
                     suggestion=f"{verb} blobs in {glob_hint(listed)}")
    return core


def _head_tag(core: list[Tok], mode: str, names: list[str], star: bool, prompts: list[list[Tok]]) -> str | None:
    """The head word as a tag, or (inserted into `prompts`) as search text."""
    if len(core) != 1:
        if core:
            prompts.insert(0, core)
        return None
    only = core[0]
    if mode == "prompt" and not GLOB.search(only.text):
        prompts.insert(0, core)
    elif names or star:  # an explicit scope wins; the head word is a noun or the search text
        if not prompts and only.key not in lx.GENERIC_NOUNS and name(only) not in names:
            prompts.insert(0, core)
    else:
        return name(only)
    return None


def listing(verb: str, rest: list[Tok], mode: str) -> Action:
    """`mode` is the verb's family: "query", "prompt" (the object is the search text),
    "list", "question" (what/which/show/is...: list, unless the cache is mentioned), or
    "noun" (no verb: "top 3 blobs in docs about x")."""
    if any(t.kind == URI for t in rest):
        uri = next(t.text for t in rest if t.kind == URI)
        raise refuse(verb, f"{uri} is a source to load, not something to search", suggestion=f"load {uri} into <tag>")
    toks, tier = strip_tiers(strip(rest, LISTING_FILLER)[0])
    toks, limit = take_limit(toks)
    if mode == "noun":  # a search when it ranks ("top 3", "about x"), else the listing it names
        searched = limit is not None or any(c.kind == PROMPT for c in split(toks, LIST_INTROS)[1])
        mode = "query" if searched else "question"
    if mode == "question" and verb.split()[0] in lx.YES_NO_QUESTIONS:
        mode = "yes_no"
    head, clauses = split(toks, QUERY_INTROS if mode in ("query", "prompt") else LIST_INTROS)
    prompts, scopes = _clauses(verb, head, clauses)
    names = list(dict.fromkeys(s[0] for s in scopes if s[0] is not None))
    if len(names) > 1:
        raise refuse(verb, f"two tag patterns ({join(names)}); one pattern per command",
                     suggestion=f"{verb} blobs in {glob_hint(names)}")
    cached = tier == "cache" or any(s[1] for s in scopes) or any(is_word(t, lx.CACHE_WORDS) for t in head)
    star = any(s[2] for s in scopes)
    head_tag = _head_tag(_head_core(verb, head, mode), mode, names, star, prompts)
    if mode in ("question", "yes_no") and not clauses and tier is None and not any(t.key in lx.QUESTION_SIGNAL for t in head):
        # "what's up", "what time is it": a question, but not about stored blobs
        raise ParseError(f"understood a question ('{verb} {words(head)}') but not which blobs it is about",
                         suggestion="list blobs in <tag>")
    pattern = names[0] if names else ("*" if star else (head_tag or "*"))
    prompt = " ".join(filter(None, (words(strip_seps(p)) for p in prompts))) or None
    action = "query" if mode in ("query", "prompt") or cached else "list_blobs"
    model = QueryParams if action == "query" else ListBlobsParams
    return Action(action=action, params=model(tag_pattern=pattern, prompt=prompt, max_results=limit))
