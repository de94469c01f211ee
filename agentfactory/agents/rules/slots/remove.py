"""prune, destroy and the ambiguous delete/remove: which one, and never a guess.

A cache word makes any removal a prune (harmless: IOWarp keeps the blob); a
permanence word or the word "tag" makes an ambiguous verb a destroy; a single
blob is never deleted for good; destroy takes exact tag names only.
"""

from __future__ import annotations

from ....core.actions import Action, DestroyParams, PruneParams
from ....core.errors import ParseError
from .. import lexicon as lx
from ..entries import CACHED_BLOBS, name_entries
from ..names import name_list, scope_tag, tag_spec
from ..phrases import BLOB_INTROS, PERMANENCE, split, strip, strip_tiers
from ..refuse import join, refuse, tag
from ..tokens import GLOB, Tok, is_word


def prune(verb: str, rest: list[Tok]) -> Action:
    """Blob names from the head, the tag from "from/in/of ..." (with or without the word cache)."""
    head, clauses = split(name_entries(rest, CACHED_BLOBS), BLOB_INTROS)
    found, _cached = scope_tag(verb, clauses, "prune <blob> from <tag>")
    if found is None and not clauses:  # "clear the docs cache"
        spec = tag_spec(head)
        if spec is not None and spec[1]:
            found, head = spec[0], []
    where = found or "<tag>"
    names = name_list(verb, head, lx.PRUNE_FILLER, f"prune <names> from {where}")
    if any(n.lower() in lx.EVERYTHING for n in names) or not names:
        raise refuse(verb, "no blob names (prune evicts named blobs)", tag(found),
                     suggestion=f"prune <blob> from {where}")
    if found is None:
        raise refuse(verb, "no tag", f"blob(s) {join(names)}", suggestion=f"prune {join(names)} from <tag>")
    return Action(action="prune", params=PruneParams(tag=found, blob_names=names))


def _refuse_single_blobs(verb: str, rest: list[Tok]) -> None:
    """A removal naming blobs ("delete a.md from docs") is refused: none deletes one blob for good."""
    head, clauses = split(name_entries(rest, CACHED_BLOBS), BLOB_INTROS)
    if not clauses and not any(is_word(t, lx.BLOB_WORDS) for t in head):
        return
    found, _ = scope_tag(verb, clauses, "prune <blob> from <tag>") if clauses else (None, False)
    names = join(name_list(verb, head, lx.PRUNE_FILLER, "prune <names> from <tag>"))
    shown = names or "<blob>"
    raise refuse(
        verb, "single blobs cannot be deleted for good: prune evicts them from the cache only, "
        "destroy deletes a whole tag", names and f"blob(s) {names}", tag(found),
        suggestion=f"prune {shown} from {found or '<tag>'}",
    )


def destroy(verb: str, rest: list[Tok], family: str, permanent: bool) -> Action:
    """Exact tag names; an ambiguous verb needs "tag(s)" or a permanence word to destroy."""
    _refuse_single_blobs(verb, rest)
    if any(is_word(t, lx.EVERYTHING) for t in rest):
        raise refuse(verb, "not which tags: destroy needs exact tag names, never 'all'", suggestion="destroy <tag>")
    names = name_list(verb, rest, lx.DESTROY_FILLER, "destroy <names>")
    if not names:
        raise refuse(verb, "no tag name", suggestion="destroy <tag>")
    if family == "ambiguous" and not (permanent or any(is_word(t, lx.TAG_WORDS) for t in rest)):
        shown = join(names)
        raise ParseError(
            f"'{verb} {shown}' is ambiguous: say 'destroy {shown}' to delete the tag(s) permanently, "
            f"or 'prune <blob> from {names[0]}' to evict blobs from the cache only",
            suggestion=f"destroy {shown}",
        )
    globbed = [n for n in names if GLOB.search(n)]
    if globbed:
        raise refuse(verb, f"{join(globbed)} is a pattern; destroy takes exact tag names",
                     suggestion=f"list blobs in {globbed[0]}   (then: destroy <tag>)")
    return Action(action="destroy", params=DestroyParams(tags=names))


def remove(verb: str, rest: list[Tok], family: str) -> Action:
    """Route a removal verb of `family` ("prune", "destroy", "ambiguous") to prune or destroy."""
    rest, permanent = strip(rest, PERMANENCE)
    rest, tier = strip_tiers(rest)  # "from memory" names the cache
    if family == "prune" or tier == "cache" or any(is_word(t, lx.CACHE_WORDS) for t in rest):
        if permanent:
            raise refuse(verb, "it names both the cache and a permanent deletion; prune only evicts from the cache, "
                         "destroy deletes whole tags", suggestion="prune <blob> from <tag>   (or: destroy <tag>)")
        return prune(verb, rest)
    return destroy(verb, rest, family, permanent)
