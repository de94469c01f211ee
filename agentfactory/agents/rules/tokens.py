"""The tokenizer: a command becomes words, quoted names, source URIs and separators.

A token keeps the text as typed (names keep their case) and a lower-cased
`key` for keyword matching; quoted text and URIs have an empty key, so a
keyword inside quotes or a path ("file::into/as/docs.csv") can never match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from ...core.errors import ParseError
from ...core.vocabulary import SOURCE_SCHEMES

WORD, QUOTED, URI, SEP = 0, 1, 2, 3  # token kinds: bare word, quoted text, source URI, list separator


class Tok(NamedTuple):
    text: str  # as typed (quotes removed), so names keep their case
    key: str  # lower-cased bare word; "" for quoted text and URIs so they never match a keyword
    kind: int


COMMA = Tok(",", ",", SEP)
COLON = Tok(":", ":", SEP)  # "tag: docs", "reclaim space: evict x": ends a phrase like a comma
GLOB = re.compile(r"[*?\[]")
#: A word that looks like a file or a path rather than a tag ("a.csv", "data/x").
PATHLIKE = re.compile(r"[/\\]|\.\w{1,6}\Z")
_SMART_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
# A trailing "::" guard keeps "folder::." whole.
_TRAILING_PUNCT = re.compile(r"(?<!::)[\s.!?]+$")
# Each alternative is wrapped in an outer named group so `lastgroup` says which one matched.
_TOKEN_RE = re.compile(
    r"""
      (?P<uri>(?<![^\s,;(])(?P<scheme>[A-Za-z][\w+.-]*)::(?:(?P<uq>['"`])(?P<uqt>.*?)(?P=uq)|(?P<upath>[^\s,;]*)))
    | (?P<quoted>(?<![^\s,;(])(?P<q>['"`])(?P<qt>.*?)(?P=q)(?=[\s,;:.!?)]|$))
    | (?P<sep>[,;\u2013\u2014]|(?<![^\s,;(])\(|(?<!\S)-+(?!\S))
    | (?P<word>[^\s,;]+)
    """,
    re.VERBOSE | re.DOTALL,
)
_URI_TEXT = re.compile(r"([A-Za-z][\w+.-]*)::(.*)\Z", re.DOTALL)


def clean(text: str) -> str:
    """Smart quotes made plain, sentence-final punctuation dropped (never part of a name)."""
    return _TRAILING_PUNCT.sub("", text.translate(_SMART_QUOTES).strip())


def word(text: str) -> Tok:
    return Tok(text, text.lower(), WORD)


def _uri(scheme: str, path: str) -> Tok:
    low = scheme.lower()
    if low not in SOURCE_SCHEMES:
        raise ParseError(
            f"unsupported source scheme '{scheme}::'; sources are {', '.join(s + '::' for s in SOURCE_SCHEMES)}",
            suggestion=f"load file::{path or '<path>'} into <tag>",
        )
    if not path:
        raise ParseError(f"the source '{scheme}::' has no path", suggestion=f"load {low}::<path> into <tag>")
    return Tok(f"{low}::{path}", "", URI)


def _quoted(inner: str) -> Tok:
    um = _URI_TEXT.match(inner)
    if um:
        return _uri(um.group(1), um.group(2))
    if not inner.strip():
        raise ParseError("empty quoted name", suggestion="quote a non-empty name, e.g. 'my file.txt'")
    return Tok(inner, "", QUOTED)


def _odd_word(text: str) -> Tok | None:
    """A word that is not plain: an open quote, a URL, a trailing colon ("tags: a, b")."""
    if text[0] in "'\"`":
        raise ParseError(f"unbalanced quote at {text!r}", suggestion="close the quote: 'my file.txt'")
    if "://" in text:
        scheme, _, rest = text.partition("://")
        raise ParseError(
            f"'{text}' looks like a URL; sources use 'scheme::path'",
            suggestion=f"load {scheme.lower()}::{rest} into <tag>",
        )
    if text == ":":
        return None
    return word(text[:-1])


def _unclosed(text: str) -> tuple[str, bool]:
    """A ")" ending a word it does not belong to ("(format hdf5)"): cut off, to stand as a separator."""
    if len(text) > 1 and text[-1] == ")" and text.count("(") < text.count(")"):
        return text[:-1], True
    return text, False


def _uri_toks(m: re.Match[str], text: str) -> list[Tok]:
    if m.group("uq"):
        return [_uri(m.group("scheme"), m.group("uqt"))]
    path, closed = _unclosed(m.group("upath"))
    # "ingest file::a.csv? tag: a": a "?" or "!" mid-sentence is punctuation, not part of the path
    ends = not closed and m.end() < len(text) and len(path) > 1 and path[-1] in "?!"
    return [_uri(m.group("scheme"), path[:-1] if ends else path), *([COMMA] if ends or closed else [])]


def _word_toks(text: str) -> list[Tok]:
    text, closed = _unclosed(text)
    after = [COMMA] if closed else []
    if text == ")":
        return [COMMA]
    if text[0] not in "'\"`" and "://" not in text and text[-1] != ":":
        return [word(text), *after]
    tok = _odd_word(text)
    return [*([tok] if tok else []), *([COLON] if text[-1] == ":" else []), *after]


def tokenize(text: str) -> list[Tok]:
    """Split a cleaned command into tokens; raises `ParseError` on bad quotes, URLs and schemes."""
    toks: list[Tok] = []
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup
        if kind == "uri":
            toks += _uri_toks(m, text)
        elif kind == "sep":
            toks.append(COMMA)
        elif kind == "quoted":
            toks.append(_quoted(m.group("qt")))
        else:
            toks += _word_toks(m.group("word"))
    return toks


def words(toks: Iterable[Tok]) -> str:
    """Tokens back to text, separators glued to the word before them."""
    out = ""
    for t in toks:
        out += t.text if (t.kind == SEP or not out) else " " + t.text
    return out


def strip_seps(toks: list[Tok]) -> list[Tok]:
    lo, hi = 0, len(toks)
    while lo < hi and toks[lo].kind == SEP:
        lo += 1
    while hi > lo and toks[hi - 1].kind == SEP:
        hi -= 1
    return toks[lo:hi]


def is_word(t: Tok, keys: Iterable[str]) -> bool:
    return t.kind == WORD and t.key in keys
