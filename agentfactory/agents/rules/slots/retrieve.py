"""retrieve: one blob from one tag; plural or "what" objects are listings, a URI means a load."""

from __future__ import annotations

from ....core.actions import Action, RetrieveParams
from .. import lexicon as lx
from ..names import filler_at, scope_tag
from ..phrases import BLOB_INTROS, split
from ..refuse import quote, refuse, tag
from ..tokens import SEP, URI, WORD, Tok, words
from .assimilate import assimilate
from .listing import listing


def _drop_contents_of(rest: list[Tok]) -> list[Tok]:
    """ "the contents of notes.txt" -> "notes.txt" """
    if len(rest) > 2 and rest[0].key in lx.ARTICLES and rest[1].key in lx.CONTENT_NOUNS and rest[2].key == "of":
        return rest[3:]
    if len(rest) > 1 and rest[0].key in lx.CONTENT_NOUNS and rest[1].key == "of":
        return rest[2:]
    return rest


def retrieve(verb: str, rest: list[Tok]) -> Action:
    """Read one blob named in the head from the tag of the scope clause."""
    if any(t.kind == URI for t in rest):
        return assimilate(verb, rest)
    rest = _drop_contents_of(rest)
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
