"""Offline, deterministic rule parser: a plain-language command becomes an `Action`.

It is the default backend because it needs no network and always gives the
same answer, so experiments replay exactly and the LLM backends have a
baseline to beat. It parses by structure rather than by the first keyword it
meets: the verb comes first (after polite openers such as "please" or "can
you"), a source is a single `scheme::rest` token, and names are read only from
the slot their clause gives them, so "load x from folder::/d into s" cannot
take "folder" for a tag.

Rules a user can rely on (each one keeps a wrong guess from being made):

* Deleting: "delete", "remove", "drop", "rm", "clear" do not say whether the
  user means the cache or the data. With a cache word ("from the docs cache",
  "uncache") they prune; with the word "tag(s)" or a permanence word
  ("permanently", "for good", "from iowarp") they destroy; a bare
  "delete old_runs" is refused with the suggestion "destroy old_runs" and a
  pointer to prune. "Delete a.md from docs" is refused too: no action deletes
  one blob for good, and quietly pruning would leave the user believing it is
  gone. Explicit verbs ("destroy", "purge", "wipe", "erase") destroy, but a
  cache word still turns them into the harmless prune.
* Destroy and prune take names, not guesses: globs, "all"/"everything", "or",
  and names standing side by side without a comma or "and" are refused, since
  "destroy old experiments" could be one tag with a space or two tags.
* A sentence-final "?", "!" or "." is punctuation, never part of a name or
  glob; quote a name that really ends in one ('run_?').
* Quotes ('..', "..", `..`) keep a name or a prompt whole and out of keyword
  matching: 'my file.txt', about "life in the sea".
* A prompt ("about ...", "related to ...", "mentioning ...") runs until a
  scope such as "in docs" or "tagged sim_*" whose tail is a single tag name;
  quote the prompt to keep such words in it.
* Keywords match in any case; names and paths keep theirs.
"""

from __future__ import annotations

import functools
import re
from typing import Callable, Iterable, NamedTuple

from agentfactory.core.actions import (
    Action,
    AssimilateParams,
    DestroyParams,
    ListBlobsParams,
    PruneParams,
    QueryParams,
    RetrieveParams,
)
from agentfactory.core.errors import ParseError

__all__ = ["OWNER", "SCHEMES", "parse_command"]

#: Which agent declares which action (the blueprints say the same; kept here so
#: callers of the parser alone, such as `agentfactory parse`, can route).
OWNER: dict[str, str] = {
    "assimilate": "ingestor",
    "destroy": "ingestor",
    "query": "retriever",
    "list_blobs": "retriever",
    "retrieve": "retriever",
    "prune": "retriever",
}

SCHEMES: tuple[str, ...] = ("file", "folder", "hdf5", "mem")

_MENU = (
    "load <uri> into <tag> | get <blob> from <tag> | search <tag> about <text> | "
    "list blobs in <tag> | prune <blob> from <tag> | destroy <tag>"
)

# --------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------
_W, _Q, _U, _S = 0, 1, 2, 3  # bare word, quoted text, source URI, list separator


class _Tok(NamedTuple):
    text: str  # as typed (quotes removed), so names keep their case
    key: str  # lower-cased bare word; "" for quoted text and URIs so they never match a keyword
    kind: int


_SEP = _Tok(",", ",", _S)
_SMART_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
# A trailing "::" guard keeps "folder::." whole.
_TRAILING_PUNCT = re.compile(r"(?<!::)[\s.!?]+$")
# Each alternative is wrapped in an outer named group so `lastgroup` says which one matched.
_TOKEN_RE = re.compile(
    r"""
      (?P<uri>(?<![^\s,;(])(?P<scheme>[A-Za-z][\w+.-]*)::(?:(?P<uq>['"`])(?P<uqt>.*?)(?P=uq)|(?P<upath>[^\s,;]*)))
    | (?P<quoted>(?<![^\s,;(])(?P<q>['"`])(?P<qt>.*?)(?P=q)(?=[\s,;:.!?)]|$))
    | (?P<sep>[,;])
    | (?P<word>[^\s,;]+)
    """,
    re.X | re.S,
)
_URI_TEXT = re.compile(r"([A-Za-z][\w+.-]*)::(.*)\Z", re.S)
_GLOB = re.compile(r"[*?\[]")


def _uri(scheme: str, path: str) -> _Tok:
    low = scheme.lower()
    if low not in SCHEMES:
        raise ParseError(
            f"unsupported source scheme '{scheme}::'; sources are {', '.join(s + '::' for s in SCHEMES)}",
            suggestion=f"load file::{path or '<path>'} into <tag>",
        )
    if not path:
        raise ParseError(f"the source '{scheme}::' has no path", suggestion=f"load {low}::<path> into <tag>")
    return _Tok(f"{low}::{path}", "", _U)


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup
        if kind == "word":
            word = m.group("word")
            if word[0] not in "'\"`" and "://" not in word and word[-1] != ":":
                toks.append(_Tok(word, word.lower(), _W))
                continue
        elif kind == "uri":
            path = m.group("uqt") if m.group("uq") else m.group("upath")
            toks.append(_uri(m.group("scheme"), path))
            continue
        elif kind == "sep":
            toks.append(_SEP)
            continue
        if kind == "quoted":
            inner = m.group("qt")
            um = _URI_TEXT.match(inner)
            if um:
                toks.append(_uri(um.group(1), um.group(2)))
            elif not inner.strip():
                raise ParseError("empty quoted name", suggestion="quote a non-empty name, e.g. 'my file.txt'")
            else:
                toks.append(_Tok(inner, "", _Q))
        else:  # a word that needs a closer look
            if word[0] in "'\"`":
                raise ParseError(
                    f"unbalanced quote at {word!r}",
                    suggestion="close the quote: 'my file.txt'",
                )
            if "://" in word:
                scheme, _, rest = word.partition("://")
                raise ParseError(
                    f"'{word}' looks like a URL; sources use 'scheme::path'",
                    suggestion=f"load {scheme.lower()}::{rest} into <tag>",
                )
            if word.endswith(":") and len(word) > 1:  # "tags: a, b"
                word = word[:-1]
            elif word == ":":
                continue
            toks.append(_Tok(word, word.lower(), _W))
    return toks


# --------------------------------------------------------------------------
# Phrase tables
# --------------------------------------------------------------------------
def _index(entries: Iterable[tuple[str, str]]) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """First word -> [(phrase, value)], longest phrase first, so "get rid of" beats "get"."""
    table: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for phrase, value in entries:
        words = tuple(phrase.split())
        table.setdefault(words[0], []).append((words, value))
    for cands in table.values():
        cands.sort(key=lambda c: -len(c[0]))
    return table


def _phrases(spec: dict[str, str]) -> list[tuple[str, str]]:
    """{"value": "a|b c|d"} -> [("a", value), ("b c", value), ("d", value)]."""
    return [(p.strip(), value) for value, alts in spec.items() for p in alts.split("|")]


def _match(toks: list[_Tok], i: int, phrase: tuple[str, ...]) -> bool:
    if i + len(phrase) > len(toks):
        return False
    for j, word in enumerate(phrase):
        t = toks[i + j]
        if t.kind != _W or t.key != word:
            return False
    return True


def _longest(table: dict[str, list[tuple[tuple[str, ...], str]]], toks: list[_Tok], i: int) -> tuple[int, str] | None:
    t = toks[i]
    if t.kind != _W:
        return None
    for phrase, value in table.get(t.key, ()):
        if _match(toks, i, phrase):
            return len(phrase), value
    return None


_POLITE = _index(
    (p, "")
    for p in (
        "please|kindly|pls|plz|hey|hi|hello|ok|okay|so|now|then|just|also|and|agent|"
        "can you|could you|would you|will you|can u|could u|you can|"
        "i want to|i wanna|i'd like to|id like to|i would like to|i need to|i need you to|"
        "i want you to|let's|lets|let me|go ahead and|try to|help me|tell me|quickly"
    ).split("|")
)
_SUFFIX = _index((p, "") for p in "please|pls|thanks|thank you|thx|for me|now|right now|asap".split("|"))

# Verb phrase -> family. "prompt" marks verbs whose object is the search text.
_VERBS = _index(
    _phrases(
        {
            "assimilate": "load|ingest|import|assimilate|add|store|put|upload|copy|save|push|bring in|pull in",
            "retrieve": "get|retrieve|fetch|read|open|show|show me|give me|give|display|view|cat|print|"
            "download|pull up|bring up|see|look at|take a look at",
            "query": "query|search|find|find me|rank",
            "prompt": "search for|look for|look up|hunt for|grep",
            "list": "list|ls|enumerate|dir|browse|list out|list all",
            "question": "what|which|what's|whats|how many|is there|are there|do we have|do you have|"
            "does anything|is anything|anything",
            "prune": "prune|evict|uncache|un-cache|expire|invalidate|flush",
            "destroy": "destroy|purge|wipe|erase|nuke|obliterate|permanently delete|permanently remove|"
            "permanently erase|permanently destroy|permanently drop|permanently wipe",
            "ambiguous": "delete|remove|drop|rm|del|get rid of|clear|trash|discard",
        }
    )
)

# -- clause intros ---------------------------------------------------------
_SCOPE, _PROMPT, _DEST, _FORMAT, _FROM = "scope", "prompt", "dest", "format", "from"

_PROMPT_INTROS = (
    "about|regarding|concerning|related to|relating to|relevant to|pertaining to|to do with|dealing with|"
    "mentioning|mention|mentions|that mention|that mentions|which mention|which mentions|"
    "that talk about|talking about|discussing|discuss|discusses|that discuss|that discusses|"
    "containing|that contain|that contains|with text|with the text|with the words|with words|"
    "on the topic of|on the subject of|similar to|matching|that match|that matches"
)
_SCOPE_INTROS = "in|under|within|inside|across|among|tagged|with tag|with tags|of|from|out of|on tag|for tag|for tags"
_LIST_INTROS = _index(_phrases({_SCOPE: _SCOPE_INTROS + "|for", _PROMPT: _PROMPT_INTROS}))
_QUERY_INTROS = _index(_phrases({_SCOPE: _SCOPE_INTROS, _PROMPT: _PROMPT_INTROS + "|for"}))
_BLOB_INTROS = _index(_phrases({_SCOPE: "from|in|of|under|within|inside|out of|on"}))
_DEST_INTROS = _index(
    _phrases(
        {
            _DEST: "into|as|to|under|in|inside|tagged|with tag",
            _FORMAT: "format|with format|using format|in format",
            _FROM: "from|out of",
        }
    )
)
# Scope intros that also glue ordinary English ("history of science", "reports from
# 2020"), so after a prompt or a real head word they only count when "tag" follows.
_WEAK_SCOPE = frozenset({"of", "from", "for", "on", "out", "among"})

_PERMANENCE = _index(
    (p, "")
    for p in (
        "permanently|forever|for good|for ever|completely|entirely|irreversibly|irrevocably|everywhere|"
        "from iowarp|from storage|from the storage|from the store|from persistent storage|from disk|"
        "from everywhere|from both tiers|from all tiers|and all its blobs|and all their blobs|"
        "and all its data|and all their data|with all its blobs|with all their blobs|"
        "including its blobs|including their blobs|and everything in it|and everything in them"
    ).split("|")
)

# -- word classes ----------------------------------------------------------
_ARTICLES = frozenset({"the", "a", "an"})
_CACHE_WORDS = frozenset({"cache", "cached", "caches", "memcached", "uncache"})
_STAR_WORDS = frozenset({"all", "any", "every", "each", "everywhere"})
_TAG_FILLER = _ARTICLES | frozenset(
    {"tag", "tags", "named", "called", "my", "our", "this", "blobs", "files", "contents", "only", "just",
     "are", "is", "currently", "now", "right", "stored", "held", "kept", "present", "available", "persistently"}
)
_HEAD_FILLER = _ARTICLES | frozenset(
    """all of me us my our your blobs blob files file documents document items item entries entry objects object
    contents content data stuff things everything anything every any tags tag cached stored what whats what's which
    is are there do does we i you have has got hold holds held kept keep currently right now exist exists available
    only results result matches match hits hit some that those these list most relevant recent through names name
    present persistently persisted listed known so far""".split()
)
_SOLO_TAG_OK = frozenset({"data", "results"})  # filler in a phrase, but a plausible tag on its own
_GENERIC_NOUNS = _HEAD_FILLER | frozenset({"docs", "reports", "papers", "notes", "records"})
_LISTING_WORDS = frozenset(
    {"blobs", "files", "everything", "anything", "contents", "what", "what's", "whats", "documents", "items",
     "entries", "list", "tags", "cached", "all", "results", "matches"}
)
_QUESTION_SIGNAL = frozenset(
    {"blob", "blobs", "file", "files", "tags", "tag", "data", "cached", "stored", "documents", "items", "entries",
     "contents", "anything", "everything", "available", "many"}
)
_RETRIEVE_FILLER = _ARTICLES | frozenset(
    {"me", "us", "blob", "file", "document", "named", "called", "object", "entry", "item", "single"}
)
_SHOW_VERBS = frozenset({"show", "show me", "display", "view", "see", "give me", "give"})
_CONTENT_OF = frozenset({"contents", "content", "data", "bytes", "text", "body"})
_PRUNE_FILLER = _ARTICLES | frozenset(
    {"blob", "blobs", "file", "files", "named", "called", "both", "these", "those", "following", "cached", "entries",
     "entry", "only", "just", "copy", "copies", "cache", "caches", "of"}
)
_DESTROY_FILLER = _ARTICLES | frozenset(
    {"tag", "tags", "named", "called", "both", "these", "those", "following", "entire", "whole"}
)
_NAME_SEPS = frozenset({"and", "&", "plus"})
_EVERYTHING = frozenset({"all", "everything", "every", "any", "anything"})
_BLOB_WORDS = frozenset({"blob", "blobs", "file", "files"})
_SOURCE_NOUNS = _ARTICLES | frozenset({"file", "folder", "directory", "dataset", "source", "archive"})
_FORMATS = frozenset({"text", "binary", "hdf5"})
_NUMBERS = {
    w: n
    for n, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
}
_LIMIT_NOUNS = frozenset(
    {"results", "result", "hits", "hit", "matches", "match", "blobs", "blob", "files", "file", "items", "documents",
     "docs", "entries", "most", "best", "top", "closest", "records"}
)
_RESULT_NOUNS = frozenset(
    {"results", "result", "hits", "hit", "matches", "match", "best", "top", "most", "relevant", "closest", "similar"}
)
_LIMIT_PHRASES = _index(
    (p, "")
    for p in (
        "at most|up to|no more than|not more than|max|maximum|max of|maximum of|limit|limit to|limited to|"
        "max_results|max-results|cap at|capped at"
    ).split("|")
)
_LIMIT_INLINE = re.compile(r"(?:max_results|max-results|limit|top|max|n)[=:](\d+)\Z")
_FORMAT_INLINE = re.compile(r"(?:--)?format[=:](\w+)\Z")
_PATHLIKE = re.compile(r"[/\\]|\.\w{1,6}\Z")


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------
class _Clause:
    __slots__ = ("kind", "intro", "content")

    def __init__(self, kind: str, intro: list[_Tok]) -> None:
        self.kind = kind
        self.intro = intro
        self.content: list[_Tok] = []


def _split(toks: list[_Tok], table: dict[str, list[tuple[tuple[str, ...], str]]]) -> tuple[list[_Tok], list[_Clause]]:
    """Cut tokens at clause intros; a source URI is a clause of its own, so it ends a destination."""
    head: list[_Tok] = []
    clauses: list[_Clause] = []
    cur = head
    i, n = 0, len(toks)
    while i < n:
        t = toks[i]
        if t.kind == _U:
            clause = _Clause("uri", [t])
            clauses.append(clause)
            cur = clause.content
            i += 1
            continue
        hit = _longest(table, toks, i)
        if hit is None:
            cur.append(t)
            i += 1
            continue
        size, kind = hit
        clause = _Clause(kind, toks[i : i + size])
        clauses.append(clause)
        cur = clause.content
        i += size
    return head, clauses


def _strip(toks: list[_Tok], table: dict[str, list[tuple[tuple[str, ...], str]]]) -> tuple[list[_Tok], bool]:
    """Remove every phrase of `table` wherever it stands; report whether any was found."""
    out: list[_Tok] = []
    found = False
    i, n = 0, len(toks)
    while i < n:
        hit = _longest(table, toks, i)
        if hit:
            found = True
            i += hit[0]
        else:
            out.append(toks[i])
            i += 1
    return out, found


def _words(toks: Iterable[_Tok]) -> str:
    out = ""
    for t in toks:
        out += t.text if (t.kind == _S or not out) else " " + t.text
    return out


def _strip_seps(toks: list[_Tok]) -> list[_Tok]:
    lo, hi = 0, len(toks)
    while lo < hi and toks[lo].kind == _S:
        lo += 1
    while hi > lo and toks[hi - 1].kind == _S:
        hi -= 1
    return toks[lo:hi]


def _is_article(toks: list[_Tok], i: int) -> bool:
    """'the'/'a'/'an' is an article only when a name follows it: in "tags a and b", "a" is a tag."""
    t = toks[i]
    return t.kind == _W and t.key in _ARTICLES and i + 1 < len(toks) and toks[i + 1].kind in (_W, _Q) \
        and toks[i + 1].key not in _NAME_SEPS


def _filler_at(toks: list[_Tok], i: int, filler: frozenset[str]) -> bool:
    t = toks[i]
    if t.kind != _W or t.key not in filler:
        return False
    return t.key not in _ARTICLES or _is_article(toks, i)


def _name(t: _Tok) -> str:
    """A bare word's name, without a possessive ("docs' cache", "docs's cache")."""
    if t.kind == _W:
        if t.text.endswith("'s") and len(t.text) > 2:
            return t.text[:-2]
        if t.text.endswith("'") and len(t.text) > 1:
            return t.text[:-1]
    return t.text


def _quote(name: str) -> str:
    return f"'{name}'" if (not name or any(c.isspace() for c in name)) else name


def _join(names: list[str]) -> str:
    return ", ".join(_quote(n) for n in names)


def _is_filler(t: _Tok, filler: frozenset[str]) -> bool:
    return t.kind == _W and t.key in filler


def _trim(toks: list[_Tok], filler: frozenset[str]) -> list[_Tok]:
    """Drop filler words from both ends, keeping inner ones ("history of science")."""
    lo, hi = 0, len(toks)
    while lo < hi and _is_filler(toks[lo], filler):
        lo += 1
    while hi > lo and _is_filler(toks[hi - 1], filler):
        hi -= 1
    return toks[lo:hi]


def _tag_spec(content: list[_Tok]) -> tuple[str | None, bool, bool] | None:
    """Read "the docs cache", "tag sim_*", "all tags" -> (name, mentions cache, means every tag).

    Returns None when the words are not one tag, so the caller can give them
    back to the prompt they probably belong to ("about life in the deep sea").
    """
    names: list[str] = []
    cached = star = False
    content = _strip_seps(content)  # "in docs, best 3"
    for i, t in enumerate(content):
        if t.kind == _W:
            if t.key in _CACHE_WORDS:
                cached = True
                continue
            if t.key in _STAR_WORDS:
                star = True
                continue
            if _filler_at(content, i, _TAG_FILLER):
                continue
        elif t.kind != _Q:
            return None
        names.append(_name(t))
    if len(names) > 1:
        return None
    if not names and not (cached or star):
        return None
    return (names[0] if names else None), cached, star


def _number(t: _Tok) -> int | None:
    if t.kind != _W:
        return None
    if t.key.isdigit():
        return int(t.key)
    return _NUMBERS.get(t.key)


def _skip_result_words(toks: list[_Tok], i: int) -> int:
    """Past "results", "best matches", "most relevant" after a limit: they never name a tag or a topic."""
    while i < len(toks) and toks[i].kind == _W and toks[i].key in _RESULT_NOUNS:
        if i + 1 < len(toks) and _number(toks[i + 1]) is not None:  # "top 3 best 5": the next limit
            break
        i += 1
    return i


def _take_limit(toks: list[_Tok]) -> tuple[list[_Tok], int | None]:
    """Pull "top 5", "at most 10", "3 results", "max_results=4" out of a query; nouns stay for the head."""
    out: list[_Tok] = []
    found: list[int] = []
    i, n = 0, len(toks)
    while i < n:
        t = toks[i]
        if t.kind == _W:
            inline = _LIMIT_INLINE.match(t.key)
            if inline:
                found.append(int(inline.group(1)))
                i += 1
                continue
            if t.key in ("top", "best", "first") and i + 1 < n:
                num = _number(toks[i + 1])
                if num is not None:
                    found.append(num)
                    i = _skip_result_words(toks, i + 2)
                    continue
                if toks[i + 1].key in ("result", "match", "hit", "blob"):  # "the top result" means one
                    found.append(1)
                    i += 1
                    continue
            hit = _longest(_LIMIT_PHRASES, toks, i)
            if hit and i + hit[0] < n and _number(toks[i + hit[0]]) is not None:
                found.append(_number(toks[i + hit[0]]))  # type: ignore[arg-type]
                i += hit[0] + 1
                i = _skip_result_words(toks, i)
                continue
            num = _number(t)
            if num is not None and i + 1 < n and toks[i + 1].key in _LIMIT_NOUNS:
                found.append(num)
                i = _skip_result_words(toks, i + 1)
                continue
        out.append(t)
        i += 1
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


def _name_list(verb: str, toks: list[_Tok], filler: frozenset[str], example: str) -> list[str]:
    """Names from "a.md, b.md and c.md"; refuses anything that would need a guess."""
    names: list[str] = []
    separated = True
    for i, t in enumerate(toks):
        if t.kind == _S or (t.kind == _W and t.key in _NAME_SEPS):
            separated = True
            continue
        if _filler_at(toks, i, filler):
            continue
        if t.kind == _W and t.key == "or":
            raise ParseError(
                f"understood verb '{verb}' but 'or' leaves the names open",
                suggestion=example.replace("<names>", _join(names) or "<name>"),
            )
        if t.kind == _U:
            raise ParseError(
                f"understood verb '{verb}' but got a source URI {t.text} where a name belongs", suggestion=example
            )
        if not separated:
            joined = " ".join([names[-1], t.text])
            raise ParseError(
                f"understood verb '{verb}' but '{joined}' is either one name with a space or two names",
                suggestion=example.replace("<names>", f"{names[-1]}, {t.text}")
                + f"   (or one name: {example.replace('<names>', repr(joined))})",
            )
        names.append(t.text)
        separated = False
    return list(dict.fromkeys(names))


def _scope_tag(verb: str, clauses: list[_Clause], what: str) -> tuple[str | None, bool]:
    """The one tag the scope clauses name (and whether they mention the cache); refuses two."""
    tag: str | None = None
    cached = False
    for c in clauses:
        if c.kind != _SCOPE:
            continue
        spec = _tag_spec(c.content)
        if spec is None:
            raise ParseError(
                f"understood verb '{verb}' but could not read one tag from '{_words(c.intro + c.content)}'",
                suggestion=what,
            )
        name, mentions_cache, _star = spec
        cached |= mentions_cache
        if name is not None:
            if tag is not None and name != tag:
                raise ParseError(f"understood verb '{verb}' but two tags ('{tag}', '{name}')", suggestion=what)
            tag = name
    return tag, cached


# --------------------------------------------------------------------------
# Verb families
# --------------------------------------------------------------------------
def _assimilate(verb: str, rest: list[_Tok]) -> Action:
    """Source is the one URI token; destination and format come from their own clauses."""
    uris = [t for t in rest if t.kind == _U]
    if not uris:
        bare = next((t for t in rest if t.key not in _DEST_INTROS and _PATHLIKE.search(t.text)), None)
        if bare is not None:
            scheme = "folder" if bare.text.endswith(("/", "\\")) or "." not in bare.text.rsplit("/", 1)[-1] else "file"
            if bare.text.lower().endswith((".h5", ".hdf5")):
                scheme = "hdf5"
            raise ParseError(
                f"understood verb '{verb}' and path '{bare.text}' but no source scheme",
                suggestion=f"{verb} {scheme}::{bare.text} into <tag>",
            )
        raise ParseError(
            f"understood verb '{verb}' but no source URI (file::, folder::, hdf5::, mem::)",
            suggestion=f"{verb} file::<path> into <tag>",
        )
    if len(uris) > 1:
        raise ParseError(
            f"understood verb '{verb}' but {len(uris)} sources; load one source per command",
            suggestion=f"{verb} {uris[0].text} into <tag>",
        )
    src = uris[0].text
    fmt: str | None = None
    inline = [m for t in rest if t.kind == _W and (m := _FORMAT_INLINE.match(t.key))]
    if inline:  # "format=binary"
        fmt = inline[-1].group(1)
        rest = [t for t in rest if not (t.kind == _W and _FORMAT_INLINE.match(t.key))]
    _head, clauses = _split(rest, _DEST_INTROS)
    dests: list[tuple[_Clause, list[_Tok]]] = []
    stray: list[_Tok] = []
    for c in clauses:
        content = [t for i, t in enumerate(c.content) if not _filler_at(c.content, i, _ARTICLES)]
        if c.kind == _FORMAT and not content and dests and len(dests[-1][1]) == 1:
            fmt = dests.pop()[1][0].text.lower()  # "in binary format": the word before is the hint
        elif c.kind == _FORMAT:
            if len(content) != 1:
                raise ParseError(
                    f"understood verb '{verb}' but could not read a format from '{_words(c.intro + c.content)}'",
                    suggestion=f"{verb} {src} into <tag> format text",
                )
            fmt = content[0].text.lower()
        elif c.kind == _DEST:
            content = _trim(content, _SOURCE_NOUNS) or content  # "into docs the file file::a.csv"
            if content and content[-1].key == "format" and len(content) == 2:  # "in binary format"
                fmt = content[0].text.lower()
            else:
                dests.append((c, content))
        elif c.kind == "uri":
            stray.extend(content)
    if len(dests) > 1:  # "as text into docs": the format word is the hint, the other one the tag
        kept = [d for d in dests if not (d[0].intro[0].key == "as" and len(d[1]) == 1 and d[1][0].key in _FORMATS)]
        if len(kept) < len(dests) and kept:
            fmt = next(d[1][0].key for d in dests if d not in kept)
            dests = kept
    tags: list[str] = []
    for c, content in dests:
        spec = _tag_spec(content)
        if spec is None or spec[0] is None:
            raise ParseError(
                f"understood verb '{verb}' and source {src} but could not read one tag "
                f"from '{_words(c.intro + c.content)}'",
                suggestion=f"{verb} {src} into <tag>   (quote a tag with spaces: into 'my tag')",
            )
        tags.append(spec[0])
    tags = list(dict.fromkeys(tags))
    if not tags:
        guess = stray[0].text if len(stray) == 1 else "<tag>"
        raise ParseError(
            f"understood verb '{verb}' and source {src} but no destination tag",
            suggestion=f"{verb} {src} into {guess}",
        )
    if len(tags) > 1:
        raise ParseError(
            f"understood verb '{verb}' and source {src} but two destination tags ({_join(tags)})",
            suggestion=f"{verb} {src} into {tags[0]}",
        )
    return Action(action="assimilate", params=AssimilateParams(src=src, dst=tags[0], format=fmt))


def _listing(verb: str, rest: list[_Tok], mode: str) -> Action:
    """query and list_blobs: a tag pattern from the scope (or the head), a prompt, a limit.

    `mode` is the family the verb came from: "query", "prompt" (the object is
    the search text), "list", or "question" (what/which/show...: list, unless
    the cache is mentioned, since "which blobs are cached" asks about the cache).
    """
    if any(t.kind == _U for t in rest):
        uri = next(t.text for t in rest if t.kind == _U)
        raise ParseError(f"understood verb '{verb}' but {uri} is a source to load, not something to search",
                         suggestion=f"load {uri} into <tag>")
    toks, limit = _take_limit(rest)
    head, clauses = _split(toks, _LIST_INTROS if mode in ("list", "question") else _QUERY_INTROS)

    prompts: list[list[_Tok]] = []
    scopes: list[tuple[str | None, bool, bool]] = []
    last_text = head  # where a clause that is not a real scope is given back
    for c in clauses:
        if c.kind == _PROMPT:
            if c.intro[0].key == "matching" and len(c.content) == 1 and _GLOB.search(c.content[0].text):
                c.kind = _SCOPE  # "tags matching sim_*"
            else:
                if not c.content:
                    raise ParseError(f"understood verb '{verb}' but nothing after '{_words(c.intro)}'",
                                     suggestion=f"{verb} <tag> {_words(c.intro)} <text>")
                prompts.append(c.content)
                last_text = c.content
                continue
        spec = _tag_spec(c.content)
        weak = c.intro[0].key in _WEAK_SCOPE and not any(t.key in ("tag", "tags") for t in c.intro + c.content[:1])
        after_words = last_text is not head or bool(_trim(head, _HEAD_FILLER))
        if spec is None or (weak and after_words):
            last_text.extend(c.intro + c.content)
            continue
        scopes.append(spec)

    names = list(dict.fromkeys(s[0] for s in scopes if s[0] is not None))
    if len(names) > 1:
        raise ParseError(
            f"understood verb '{verb}' but two tag patterns ({_join(names)}); one pattern per command",
            suggestion=f"{verb} blobs in {_glob_hint(names)}",
        )
    cached = any(s[1] for s in scopes) or any(t.kind == _W and t.key in _CACHE_WORDS for t in head)
    star = any(s[2] for s in scopes)

    core = _trim(head, _HEAD_FILLER)
    if not core:
        bare = [t for t in head if not _is_filler(t, _ARTICLES | {"me", "us"})]
        if len(bare) == 1 and bare[0].key in _SOLO_TAG_OK:
            core = bare
    if mode == "list" and any(t.kind == _S or t.key in ("and", "or") for t in core) and len(core) > 1:
        listed = [t.text for t in core if t.kind != _S and t.key not in ("and", "or")]
        raise ParseError(
            f"understood verb '{verb}' but several tags ({_words(core)}); one pattern per command",
            suggestion=f"{verb} blobs in {_glob_hint(listed)}",
        )

    head_tag: str | None = None
    if len(core) == 1:
        word = core[0]
        if mode == "prompt" and not _GLOB.search(word.text):
            prompts.insert(0, core)
        elif names or star:  # an explicit scope wins; the head word is a noun or the search text
            if not prompts and word.key not in _GENERIC_NOUNS and _name(word) not in names:
                prompts.insert(0, core)
        else:
            head_tag = _name(word)
    elif core:
        prompts.insert(0, core)

    if mode == "question" and not clauses and not any(t.key in _QUESTION_SIGNAL for t in head):
        # "what's up", "what time is it": a question, but not about stored blobs
        raise ParseError(
            f"understood a question ('{verb} {_words(head)}') but not which blobs it is about",
            suggestion="list blobs in <tag>",
        )

    pattern = names[0] if names else ("*" if star else (head_tag or "*"))
    prompt = " ".join(filter(None, (_words(_strip_seps(p)) for p in prompts))) or None
    action = "query" if mode in ("query", "prompt") or cached else "list_blobs"
    model = QueryParams if action == "query" else ListBlobsParams
    return Action(action=action, params=model(tag_pattern=pattern, prompt=prompt, max_results=limit))


def _glob_hint(names: list[str]) -> str:
    """A glob covering several tags when they share a prefix, else the first tag."""
    prefix = names[0]
    for n in names[1:]:
        while not n.startswith(prefix):
            prefix = prefix[:-1]
    return f"{prefix}*" if prefix else names[0]


def _retrieve(verb: str, rest: list[_Tok]) -> Action:
    """One blob from one tag; plural or "what" objects are listings, a URI means a load."""
    if any(t.kind == _U for t in rest):
        return _assimilate(verb, rest)
    if len(rest) > 2 and rest[0].key in _ARTICLES and rest[1].key in _CONTENT_OF and rest[2].key == "of":
        rest = rest[3:]  # "the contents of notes.txt"
    elif len(rest) > 1 and rest[0].key in _CONTENT_OF and rest[1].key == "of":
        rest = rest[2:]
    head, clauses = _split(rest, _BLOB_INTROS)
    listing = any(t.kind == _W and t.key in _LISTING_WORDS for t in head)
    if listing or (not head and not clauses and verb in _SHOW_VERBS):
        return _listing(verb, rest, "question")
    tag, _cached = _scope_tag(verb, clauses, f"{verb} <blob> from <tag>")
    parts = [t for i, t in enumerate(head) if not _filler_at(head, i, _RETRIEVE_FILLER)]
    where = tag or "<tag>"
    if not parts:
        found = f" and tag '{tag}'" if tag else ""
        raise ParseError(f"understood verb '{verb}'{found} but no blob name", suggestion=f"{verb} <blob> from {where}")
    if any(t.kind == _S or t.key in _NAME_SEPS or t.key == "or" for t in parts):
        first = next(t.text for t in parts if t.kind != _S)
        raise ParseError(
            f"understood verb '{verb}' but several blobs; {verb} reads one blob per command",
            suggestion=f"{verb} {_quote(first)} from {where}",
        )
    if len(parts) > 1:
        joined = _words(parts)
        raise ParseError(
            f"understood verb '{verb}' but the blob name '{joined}' has spaces; quote it",
            suggestion=f"{verb} '{joined}' from {where}",
        )
    blob = parts[0].text
    if tag is None:
        also = f"   (or: list blobs in {blob})" if verb in _SHOW_VERBS else ""
        raise ParseError(
            f"understood verb '{verb}' and blob '{blob}' but no tag",
            suggestion=f"{verb} {_quote(blob)} from <tag>{also}",
        )
    return Action(action="retrieve", params=RetrieveParams(tag=tag, blob_name=blob))


def _prune(verb: str, rest: list[_Tok]) -> Action:
    """Blob names from the head, the tag from "from/in/of ..." (with or without the word cache)."""
    head, clauses = _split(rest, _BLOB_INTROS)
    tag, _cached = _scope_tag(verb, clauses, "prune <blob> from <tag>")
    if tag is None and not clauses:  # "clear the docs cache"
        spec = _tag_spec(head)
        if spec is not None and spec[1]:
            tag, head = spec[0], []
    where = tag or "<tag>"
    names = _name_list(verb, head, _PRUNE_FILLER, f"prune <names> from {where}")
    if any(n.lower() in _EVERYTHING for n in names) or not names:
        found = f" from tag '{tag}'" if tag else ""
        raise ParseError(
            f"understood verb '{verb}'{found} but no blob names (prune evicts named blobs)",
            suggestion=f"prune <blob> from {where}",
        )
    if tag is None:
        raise ParseError(
            f"understood verb '{verb}' and blob(s) {_join(names)} but no tag",
            suggestion=f"prune {_join(names)} from <tag>",
        )
    return Action(action="prune", params=PruneParams(tag=tag, blob_names=names))


def _remove(verb: str, rest: list[_Tok], family: str) -> Action:
    """prune, destroy and the ambiguous delete/remove: see the module docstring for the rule."""
    rest, permanent = _strip(rest, _PERMANENCE)
    mentions_cache = family == "prune" or any(t.kind == _W and t.key in _CACHE_WORDS for t in rest)
    if mentions_cache:
        if permanent:
            raise ParseError(
                f"understood verb '{verb}' with both the cache and a permanent deletion; "
                "prune only evicts from the cache, destroy deletes whole tags",
                suggestion="prune <blob> from <tag>   (or: destroy <tag>)",
            )
        return _prune(verb, rest)

    head, clauses = _split(rest, _BLOB_INTROS)
    tag, _ = _scope_tag(verb, clauses, "prune <blob> from <tag>") if clauses else (None, False)
    if clauses or any(t.kind == _W and t.key in _BLOB_WORDS for t in head):
        names = [n for n in _name_list(verb, head, _PRUNE_FILLER, "prune <names> from <tag>")]
        shown = _join(names) or "<blob>"
        raise ParseError(
            f"understood verb '{verb}' of blob(s) {shown}{f' in tag {tag!r}' if tag else ''}, but single blobs "
            "cannot be deleted for good: prune evicts them from the cache only, destroy deletes a whole tag",
            suggestion=f"prune {shown} from {tag or '<tag>'}",
        )
    has_tag_word = any(t.kind == _W and t.key in ("tag", "tags") for t in head)
    if any(t.kind == _W and t.key in _EVERYTHING for t in head):
        raise ParseError(
            f"understood verb '{verb}' but not which tags: destroy needs exact tag names, never 'all'",
            suggestion="destroy <tag>",
        )
    names = _name_list(verb, head, _DESTROY_FILLER, "destroy <names>")
    if not names:
        raise ParseError(f"understood verb '{verb}' but no tag name", suggestion="destroy <tag>")
    if family == "ambiguous" and not (permanent or has_tag_word):
        shown = _join(names)
        raise ParseError(
            f"'{verb} {shown}' is ambiguous: say 'destroy {shown}' to delete the tag(s) permanently, "
            f"or 'prune <blob> from {names[0]}' to evict blobs from the cache only",
            suggestion=f"destroy {shown}",
        )
    globbed = [n for n in names if _GLOB.search(n)]
    if globbed:
        raise ParseError(
            f"understood verb '{verb}' but {_join(globbed)} is a pattern; destroy takes exact tag names",
            suggestion=f"list blobs in {globbed[0]}   (then: destroy <tag>)",
        )
    return Action(action="destroy", params=DestroyParams(tags=names))


_FAMILIES: dict[str, Callable[[str, list[_Tok]], Action]] = {
    "assimilate": _assimilate,
    "retrieve": _retrieve,
    "query": lambda verb, rest: _listing(verb, rest, "query"),
    "prompt": lambda verb, rest: _listing(verb, rest, "prompt"),
    "list": lambda verb, rest: _listing(verb, rest, "list"),
    "question": lambda verb, rest: _listing(verb, rest, "question"),
    "prune": lambda verb, rest: _remove(verb, rest, "prune"),
    "destroy": lambda verb, rest: _remove(verb, rest, "destroy"),
    "ambiguous": lambda verb, rest: _remove(verb, rest, "ambiguous"),
}
_ALL_VERBS: tuple[str, ...] = tuple(" ".join(p) for cands in _VERBS.values() for p, _ in cands)


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------
def _trim_politeness(toks: list[_Tok]) -> list[_Tok]:
    i = 0
    while i < len(toks):
        if toks[i].kind == _S:
            i += 1
            continue
        hit = _longest(_POLITE, toks, i)
        if hit is None:
            break
        i += hit[0]
    toks = toks[i:]
    changed = True
    while changed and toks:
        changed = False
        if toks[-1].kind == _S:
            toks = toks[:-1]
            changed = True
            continue
        for size in (2, 1):
            if len(toks) > size and _longest(_SUFFIX, toks, len(toks) - size) == (size, ""):
                toks = toks[:-size]
                changed = True
                break
    if toks and toks[-1].kind == _W and toks[-1].text[-1] in ".!?" and len(toks[-1].text) > 1:
        t = toks[-1]
        text = t.text.rstrip(".!?")
        toks = toks[:-1] + [_Tok(text, text.lower(), _W)]
    return toks


@functools.lru_cache(maxsize=512)
def _close_verb(word: str) -> str | None:
    """The known verb a typo most likely meant; cached, as difflib costs milliseconds per call."""
    import difflib  # only on this error path: keeps module import light

    near = [v for v in _ALL_VERBS if " " not in v and abs(len(v) - len(word)) <= 2]
    close = difflib.get_close_matches(word, near, n=1, cutoff=0.75)
    return close[0] if close else None


def _unknown_verb(text: str, toks: list[_Tok]) -> ParseError:
    uri = next((t.text for t in toks if t.kind == _U), None)
    first = toks[0]
    close = _close_verb(first.key) if first.kind == _W else None
    if close:
        rest = [t if t.kind != _Q else t._replace(text=repr(t.text)) for t in toks[1:]]
        fixed = _words([_Tok(close, close, _W), *rest])
        return ParseError(f"unknown verb '{first.text}' in {text!r}; did you mean '{close}'?", suggestion=fixed)
    if uri is not None:
        return ParseError(f"no verb in {text!r}; understood a source {uri}", suggestion=f"load {uri} into <tag>")
    return ParseError(f"could not understand {text!r}: no known verb at '{first.text}'", suggestion=_MENU)


def parse_command(text: str) -> Action:
    """Turn one plain-language command into a validated `Action`.

    Raises `ParseError` (never guesses) when the command is empty, has no
    known verb, misses a part its action needs, or is ambiguous about
    deleting; the error says what was understood, and `suggestion` holds the
    closest command form.
    """
    if not isinstance(text, str):
        raise ParseError(f"a command is text, got {type(text).__name__}", suggestion=_MENU)
    cleaned = _TRAILING_PUNCT.sub("", text.translate(_SMART_QUOTES).strip())
    toks = _trim_politeness(_tokenize(cleaned))
    if not toks:
        raise ParseError("empty command", suggestion=_MENU)
    hit = _longest(_VERBS, toks, 0)
    if hit is None:
        raise _unknown_verb(cleaned, toks)
    size, family = hit
    verb = " ".join(t.key for t in toks[:size])
    return _FAMILIES[family](verb, toks[size:])
