"""assimilate: the source is the one URI token; destination and format come from their own clauses."""

from __future__ import annotations

import re

from ....core.actions import Action, AssimilateParams
from .. import lexicon as lx
from ..names import is_article, tag_spec, trim
from ..phrases import DEST, DEST_INTROS, FORMAT, SOURCE, Clause, split
from ..refuse import join, refuse
from ..tokens import COLON, PATHLIKE, URI, WORD, Tok, is_word, strip_seps, word, words

_DEST_ARTICLES = lx.ARTICLES | lx.DEST_ADJECTIVES
_FORMAT_INLINE = re.compile(r"(?:--)?format[=:](\w+)\Z")


def _source(verb: str, rest: list[Tok]) -> str:
    """The one source URI; a bare path is refused with the scheme it most likely needs."""
    uris = [t for t in rest if t.kind == URI]
    if not uris:
        bare = next((t for t in rest if t.key not in DEST_INTROS and PATHLIKE.search(t.text)), None)
        if bare is None:
            raise refuse(verb, "no source URI (file::, folder::, hdf5::, mem::)",
                         suggestion=f"{verb} file::<path> into <tag>")
        scheme = "folder" if bare.text.endswith(("/", "\\")) or "." not in bare.text.rsplit("/", 1)[-1] else "file"
        if bare.text.lower().endswith((".h5", ".hdf5")):
            scheme = "hdf5"
        raise refuse(verb, "no source scheme", f"path '{bare.text}'",
                     suggestion=f"{verb} {scheme}::{bare.text} into <tag>")
    if len(uris) > 1:
        raise refuse(verb, f"{len(uris)} sources; load one source per command",
                     suggestion=f"{verb} {uris[0].text} into <tag>")
    return uris[0].text


def _format_clause(verb: str, src: str, c: Clause, content: list[Tok]) -> str:
    if len(content) != 1:
        raise refuse(verb, f"could not read a format from '{words(c.intro + c.content)}'",
                     suggestion=f"{verb} {src} into <tag> format text")
    return content[0].text.lower()


def _destinations(verb: str, src: str, clauses: list[Clause]) -> tuple[list[tuple[Clause, list[Tok]]], list[Tok], str | None]:
    """Destination clauses with their words, stray words after the source, and a format hint."""
    fmt: str | None = None
    dests: list[tuple[Clause, list[Tok]]] = []
    stray: list[Tok] = []
    for c in clauses:
        content = [t for i, t in enumerate(c.content) if not is_article(c.content, i, _DEST_ARTICLES)]
        if c.kind == FORMAT and not content and dests and len(dests[-1][1]) == 1:
            fmt = dests.pop()[1][0].text.lower()  # "in binary format": the word before is the hint
        elif c.kind == FORMAT:
            fmt = _format_clause(verb, src, c, content)
        elif c.kind == DEST:
            content = trim(content, lx.SOURCE_NOUNS) or content  # "into docs the file file::a.csv"
            content = strip_seps(trim(strip_seps(content), lx.NAME_SEPARATORS))  # "to the store, and call it docs"
            if content and content[-1].key == "format" and len(content) == 2:  # "in binary format"
                fmt = content[0].text.lower()
            else:
                dests.append((c, content))
        elif c.kind == SOURCE:
            stray.extend(content)
    if len(dests) > 1:  # "as text into docs": the format word is the hint, the other one the tag
        kept = [d for d in dests if not (d[0].intro[0].key == "as" and len(d[1]) == 1 and d[1][0].key in lx.FORMATS)]
        if len(kept) < len(dests) and kept:
            fmt = next(d[1][0].key for d in dests if d not in kept)
            dests = kept
    return _named_tags(dests), stray, fmt


def _named_tags(dests: list[tuple[Clause, list[Tok]]]) -> list[tuple[Clause, list[Tok]]]:
    """Among several destinations, drop the ones that name no tag: a particle ("read
    file::a in as docs") or the store itself ("into storage as docs")."""
    kept = [d for d in dests if d[1] and not (len(d[1]) == 1 and d[1][0].key in lx.STORE_WORDS)]
    return kept or dests


def _labels(toks: list[Tok]) -> list[Tok]:
    """ "tag: docs" is "into docs"."""
    out: list[Tok] = []
    for i, t in enumerate(toks):
        if t == COLON and out and is_word(out[-1], lx.DEST_LABELS) and i + 1 < len(toks):
            out[-1] = word("into")
        else:
            out.append(t)
    return out


def assimilate(verb: str, rest: list[Tok]) -> Action:
    """Load one source into one tag, with an optional format hint."""
    src = _source(verb, rest)
    source = f"source {src}"
    fmt: str | None = None
    inline = [m for t in rest if t.kind == WORD and (m := _FORMAT_INLINE.match(t.key))]
    if inline:  # "format=binary"
        fmt = inline[-1].group(1)
        rest = [t for t in rest if not (t.kind == WORD and _FORMAT_INLINE.match(t.key))]
    rest = _labels(rest)
    _head, clauses = split(rest, DEST_INTROS)
    dests, stray, clause_fmt = _destinations(verb, src, clauses)
    fmt = clause_fmt or fmt
    tags: list[str] = []
    for c, content in dests:
        spec = tag_spec(content)
        if spec is None or spec[0] is None:
            raise refuse(verb, f"could not read one tag from '{words(c.intro + c.content)}'", source,
                         suggestion=f"{verb} {src} into <tag>   (quote a tag with spaces: into 'my tag')")
        tags.append(spec[0])
    tags = list(dict.fromkeys(tags))
    if not tags:
        guess = stray[0].text if len(stray) == 1 else "<tag>"
        raise refuse(verb, "no destination tag", source, suggestion=f"{verb} {src} into {guess}")
    if len(tags) > 1:
        raise refuse(verb, f"two destination tags ({join(tags)})", source, suggestion=f"{verb} {src} into {tags[0]}")
    return Action(action="assimilate", params=AssimilateParams(src=src, dst=tags[0], format=fmt))
