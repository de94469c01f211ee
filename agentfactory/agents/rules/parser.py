"""The entry point: clean, tokenize, drop politeness and the clauses around the request, find the verb,
fill its slots."""

from __future__ import annotations

from ...core.actions import Action
from ...core.errors import ParseError
from .context import drop_afterthoughts, unwrap_context
from .phrases import CLOSERS, POLITE, VERBS, longest
from .purpose import unwrap_purpose
from .refuse import MENU, unknown_verb
from .slots import FILLERS
from .tokens import SEP, WORD, Tok, clean, tokenize, word
from .verbs import find_verb


def _trim_closers(toks: list[Tok]) -> list[Tok]:
    """Drop trailing separators and closers ("..., please", "thanks") and a glued "!" or "."."""
    changed = True
    while changed and toks:
        changed = False
        if toks[-1].kind == SEP:
            toks = toks[:-1]
            changed = True
            continue
        for size in (2, 1):
            if len(toks) > size and longest(CLOSERS, toks, len(toks) - size) == (size, ""):
                toks = toks[:-size]
                changed = True
                break
    if toks and toks[-1].kind == WORD and toks[-1].text[-1] in ".!?" and len(toks[-1].text) > 1:
        toks = toks[:-1] + [word(toks[-1].text.rstrip(".!?"))]
    return toks


def _trim_politeness(toks: list[Tok]) -> list[Tok]:
    i = 0
    while i < len(toks):
        if toks[i].kind == SEP:
            i += 1
            continue
        hit = longest(POLITE, toks, i)
        verb = longest(VERBS, toks, i)
        if hit is None or (verb is not None and verb[0] > hit[0]):  # "could i have" is a verb, "could i" polite
            break
        i += hit[0]
    return _trim_closers(toks[i:])


def parse_command(text: str) -> Action:
    """Turn one plain-language command into a validated `Action`.

    Raises `ParseError` (never guesses) when the command is empty, has no
    known verb, misses a part its action needs, or is ambiguous about
    deleting; the error says what was understood, and `suggestion` holds the
    closest command form.
    """
    if not isinstance(text, str):
        raise ParseError(f"a command is text, got {type(text).__name__}", suggestion=MENU)
    cleaned = clean(text)
    toks = _trim_politeness(tokenize(cleaned))
    for unwrap in (drop_afterthoughts, unwrap_context, unwrap_purpose):  # clauses around the request
        toks = _trim_politeness(unwrap(toks))
    if not toks:
        raise ParseError("empty command", suggestion=MENU)
    found = find_verb(toks)
    if found is None:
        raise unknown_verb(cleaned, toks)
    verb, family, rest = found
    return FILLERS[family](verb, rest)
