"""retrieve: one blob from one tag; plural or "what" objects are listings, a URI means a load."""

from __future__ import annotations

from ....core.actions import Action, RetrieveParams
from .. import lexicon as lx
from ..entries import ONE_BLOB, name_entries
from ..names import filler_at, scope_tag, tag_spec
from ..phrases import BLOB_INTROS, split
from ..refuse import quote, refuse, tag
from ..tokens import PATHLIKE, SEP, URI, WORD, Tok, is_word, words
from .assimilate import assimilate
from .listing import listing


def _contents_of_tag(rest: list[Tok]) -> bool:
    """ "the contents of docs" with nothing after the tag asks for the tag's listing, not a blob."""
    i = 1 if rest and rest[0].key in lx.ARTICLES else 0
    if len(rest) < i + 3 or rest[i].key not in lx.CONTENT_NOUNS or rest[i + 1].key != "of":
        return False
    spec = tag_spec(rest[i + 2 :])
    return spec is not None and spec[0] is not None and not PATHLIKE.search(spec[0])


def question(verb: str, rest: list[Tok]) -> Action:
    """ "what does notes.txt in docs say?" reads the blob; other questions list what a tag holds."""
    if verb in lx.CONTENT_QUESTIONS and len(rest) > 2 and is_word(rest[0], lx.QUESTION_AUX) \
            and is_word(rest[-1], lx.CONTENT_VERBS):
        body = rest[1:-1]
        head, _clauses = split(name_entries(body, ONE_BLOB), BLOB_INTROS)
        parts = [t for i, t in enumerate(head) if not filler_at(head, i, lx.RETRIEVE_FILLER)]
        if len(parts) == 1 and PATHLIKE.search(parts[0].text):
            return retrieve("show", body)
    return listing(verb, rest, "question")


def look_up(verb: str, rest: list[Tok]) -> Action:
    """ "look up notes.txt in docs" reads a blob; "look up ocean heat in docs" searches."""
    head, clauses = split(name_entries(rest, ONE_BLOB), BLOB_INTROS)
    parts = [t for i, t in enumerate(head) if not filler_at(head, i, lx.RETRIEVE_FILLER)]
    named = len(parts) == 1 and (PATHLIKE.search(parts[0].text) or any(is_word(t, lx.BLOB_WORDS) for t in head))
    return retrieve(verb, rest) if named and clauses else listing(verb, rest, "prompt")


def retrieve(verb: str, rest: list[Tok]) -> Action:
    """Read one blob named in the head from the tag of the scope clause."""
    if any(t.kind == URI for t in rest):
        return assimilate(verb, rest)
    if _contents_of_tag(rest):
        return listing(verb, rest, "question")
    rest = name_entries(rest, ONE_BLOB)
    head, clauses = split(rest, BLOB_INTROS)
    listing_words = any(t.kind == WORD and t.key in lx.LISTING_WORDS for t in head)
    if listing_words or (not head and not clauses and verb in lx.SHOW_VERBS):
        return listing(verb, rest, "question")
    found, _cached = scope_tag(verb, clauses, f"{verb} <blob> from <tag>")
    parts = [t for i, t in enumerate(head) if not filler_at(head, i, lx.RETRIEVE_FILLER)]
    where = found or "<tag>"
    if not parts:
        raise refuse(verb, "no blob name", tag(found), suggestion=f"{verb} <blob> from {where}")
    if any(t.kind == SEP or t.key in lx.NAME_SEPARATORS or t.key == "or" for t in parts):
        first = next(t.text for t in parts if t.kind != SEP)
        raise refuse(verb, f"several blobs; {verb} reads one blob per command",
                     suggestion=f"{verb} {quote(first)} from {where}")
    if len(parts) > 1:
        joined = words(parts)
        raise refuse(verb, f"the blob name '{joined}' has spaces; quote it", suggestion=f"{verb} '{joined}' from {where}")
    blob = parts[0].text
    if found is None:
        also = f"   (or: list blobs in {blob})" if verb in lx.SHOW_VERBS else ""
        raise refuse(verb, "no tag", f"blob '{blob}'", suggestion=f"{verb} {quote(blob)} from <tag>{also}")
    return Action(action="retrieve", params=RetrieveParams(tag=found, blob_name=blob))
