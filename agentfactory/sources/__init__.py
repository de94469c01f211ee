"""Source URIs -> named blobs, streamed; and Python values <-> blobs.

`assimilate` takes a source URI (``file::``, ``folder::``, ``hdf5::``, ``mem::``) and
stores every blob it names into one tag. This package turns the URI into those
blobs and nothing else: it never writes anywhere, and it never holds a whole large
payload in memory (each `SourceBlob` streams in pieces of at most
``blobs.CHUNK_BYTES``).

Two rules shape the code:

* **Paths stay inside the data roots** (`roots`), including files HDF5 would open
  on its own for external storage, virtual datasets and external links
  (`hdf5_links`).
* **Nothing half-happens.** `resolve_source` validates the whole source (every
  folder entry, every dataset) *before* it returns, so a refusal means no blob was
  produced at all, and the caller never stores half a folder. The returned iterator
  then only streams. If a file changes between validation and streaming so that its
  bytes no longer match the announced size, streaming raises `SourceError` instead
  of handing out a partial or stale blob.

Layout: `schemes` (the scheme -> resolver table, `split_uri`, `resolve_source`),
`roots`, `files` (file:: and folder::), `hdf5` with `hdf5_datasets` and
`hdf5_links`, `mem`, `blobs` (SourceBlob and streaming), `decode` and `dtypes`
(blobs back to arrays), `values` (Python values <-> blobs; importing it
registers `Observation.value`'s decoder). h5py is imported on first use only.
"""

from __future__ import annotations

from agentfactory.core.vocabulary import SOURCE_SCHEMES as SCHEMES

# CHUNK_BYTES here is the default, for reading; streaming reads blobs.CHUNK_BYTES,
# so lower it there.
from .blobs import CHUNK_BYTES, SourceBlob
from .decode import decode_blob
from .mem import MemReader
from .roots import DataRoots
from .schemes import resolve_source, split_uri
from .values import decode_value, value_blob

__all__ = [
    "CHUNK_BYTES",
    "SCHEMES",
    "DataRoots",
    "MemReader",
    "SourceBlob",
    "decode_blob",
    "decode_value",
    "resolve_source",
    "split_uri",
    "value_blob",
]
