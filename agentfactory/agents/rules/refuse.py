"""Refusals: every `ParseError` the parser raises says what it understood and what to type.

One shape for all of them, "understood verb 'get' and blob 'a.md' but no
tag", with the closest command form as the suggestion, so a user learns the
grammar from the errors and a script can show `suggestion` as a fix.
"""

from __future__ import annotations

import functools

from ...core.errors import ParseError
from .phrases import ALL_VERBS
from .tokens import QUOTED, URI, WORD, Tok, word, words

MENU = (
    "load <uri> into <tag> | get <blob> from <tag> | search <tag> about <text> | "
    "list blobs in <tag> | prune <blob> from <tag> | destroy <tag>"
)


def quote(name: str) -> str:
    return f"'{name}'" if (not name or any(c.isspace() for c in name)) else name


def join(names: list[str]) -> str:
    return ", ".join(quote(n) for n in names)


def tag(name: str | None) -> str | None:
    """The "tag 'docs'" part of a refusal, or nothing when no tag was read."""
    return f"tag '{name}'" if name else None


def refuse(verb: str, problem: str, *understood: str | None, suggestion: str) -> ParseError:
    """"understood verb 'v', <part> and <part> but <problem>", with `suggestion` as the fix.

    `understood` lists what was read besides the verb ("blob 'a.md'", "source
    file::a"); None entries are skipped, so callers pass `tag(name)` unchecked.
    """
    parts = [f"verb '{verb}'", *(p for p in understood if p)]
    said = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return ParseError(f"understood {said} but {problem}", suggestion=suggestion)


@functools.lru_cache(maxsize=512)
def _close_verb(text: str) -> str | None:
    """The known verb a typo most likely meant; cached, as difflib costs milliseconds per call."""
    import difflib  # only on this error path: keeps module import light

    near = [v for v in ALL_VERBS if " " not in v and abs(len(v) - len(text)) <= 2]
    close = difflib.get_close_matches(text, near, n=1, cutoff=0.75)
    return close[0] if close else None


def unknown_verb(text: str, toks: list[Tok]) -> ParseError:
    """No verb first: a did-you-mean for a typo, a load for a bare URI, else the menu."""
    first = toks[0]
    close = _close_verb(first.key) if first.kind == WORD else None
    if close:
        rest = [t if t.kind != QUOTED else t._replace(text=repr(t.text)) for t in toks[1:]]
        return ParseError(f"unknown verb '{first.text}' in {text!r}; did you mean '{close}'?",
                          suggestion=words([word(close), *rest]))
    uri = next((t.text for t in toks if t.kind == URI), None)
    if uri is not None:
        return ParseError(f"no verb in {text!r}; understood a source {uri}", suggestion=f"load {uri} into <tag>")
    return ParseError(f"could not understand {text!r}: no known verb at '{first.text}'", suggestion=MENU)
