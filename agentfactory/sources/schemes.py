"""``scheme::rest`` -> the resolver for that scheme, through one table.

The table is keyed by `core.vocabulary.SOURCE_SCHEMES`, the one list of schemes
the rule parser also reads; adding a scheme means a resolver module and a row
here, and the import-time check below fails until both lists agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from agentfactory.core.errors import UnsupportedSource
from agentfactory.core.vocabulary import SOURCE_SCHEMES

from .blobs import SourceBlob
from .files import resolve_file, resolve_folder
from .hdf5 import resolve_hdf5
from .mem import MemReader, resolve_mem
from .roots import DataRoots

#: What every scheme's resolver is called with; most use the roots, ``mem::`` the reader.
Resolver = Callable[[str, DataRoots, "MemReader | None"], list[SourceBlob]]


@dataclass(frozen=True)
class Scheme:
    """One row of the table: how a user writes the source, and what resolves it."""

    usage: str  # what follows ``scheme::`` in the hint for a malformed URI
    resolve: Resolver


SCHEME_TABLE: dict[str, Scheme] = {
    "file": Scheme("PATH", lambda rest, roots, _mem: resolve_file(rest, roots)),
    "folder": Scheme("PATH", lambda rest, roots, _mem: resolve_folder(rest, roots)),
    "hdf5": Scheme("PATH", lambda rest, roots, _mem: resolve_hdf5(rest, roots)),
    "mem": Scheme("TAG/BLOB", lambda rest, _roots, mem_reader: resolve_mem(rest, mem_reader)),
}
assert tuple(SCHEME_TABLE) == SOURCE_SCHEMES, "the scheme table must cover exactly core.vocabulary.SOURCE_SCHEMES"

_forms = [f"{scheme}::{row.usage}" for scheme, row in SCHEME_TABLE.items()]
_URI_HINT = f"write {', '.join(_forms[:-1])} or {_forms[-1]}"


def split_uri(uri: str) -> tuple[str, str]:
    """Split ``scheme::rest`` into ``(scheme, rest)``, the scheme lower-cased.

    Only the first ``::`` separates, so paths may contain ``::``, spaces and any
    Unicode; ``rest`` is returned untouched (a path may legitimately start or end
    with a space).
    """
    if not isinstance(uri, str):
        raise UnsupportedSource(f"a source URI must be a string, not {type(uri).__name__}", hint=_URI_HINT)
    scheme, sep, rest = uri.partition("::")
    if not sep:
        raise UnsupportedSource(f"source {uri!r} has no scheme", hint=_URI_HINT)
    scheme = scheme.strip().lower()
    if scheme not in SCHEME_TABLE:
        raise UnsupportedSource(f"unknown source scheme {scheme!r} in {uri!r}", hint=_URI_HINT)
    return scheme, rest


def resolve_source(uri: str, roots: DataRoots, *, mem_reader: MemReader | None = None) -> Iterator[SourceBlob]:
    """The blobs a source URI names, validated up front, streamed on demand.

    Every check (scheme, roots, existence, readability, every folder entry and every
    HDF5 dataset) runs when this function is *called*: errors are raised here and
    the returned iterator only hands out blobs, so a refused source never yields a
    first blob. An empty folder (or an HDF5 file without datasets) yields nothing;
    the caller decides whether that is an error.

    ``mem_reader(tag, blob)`` reads the cache tier only and returns None on a miss.
    """
    scheme, rest = split_uri(uri)
    return iter(SCHEME_TABLE[scheme].resolve(rest, roots, mem_reader))
