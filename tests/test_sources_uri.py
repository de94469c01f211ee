"""A source URI is SCHEME::PATH: which schemes exist, how a URI splits, what an unknown one is told.

No services, no files.
"""

from __future__ import annotations

import pytest

from agentfactory.core.errors import UnsupportedSource
from agentfactory.core.vocabulary import SOURCE_SCHEMES
from agentfactory.sources import split_uri
from agentfactory.sources.schemes import SCHEME_TABLE


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("file::data/a.csv", ("file", "data/a.csv")),
        ("FILE::data/a.csv", ("file", "data/a.csv")),
        ("Folder::./docs", ("folder", "./docs")),
        ("hDf5::run 42/été.h5", ("hdf5", "run 42/été.h5")),
        ("mem::docs/sub/a.md", ("mem", "docs/sub/a.md")),
        ("file::odd::name.txt", ("file", "odd::name.txt")),
        ("file:: leading space.txt", ("file", " leading space.txt")),
    ],
)
def test_split_uri(uri, expected):
    assert split_uri(uri) == expected


@pytest.mark.parametrize(
    "uri", ["data/a.csv", "file:data/a.csv", "file:///abs/a.csv", "http::x", "::x", "", "s3::bucket/k"]
)
def test_split_uri_refuses_unknown_or_missing_scheme(uri):
    with pytest.raises(UnsupportedSource) as info:
        split_uri(uri)
    assert "file::PATH" in str(info.value)  # the hint shows the accepted forms


def test_split_uri_refuses_non_text():
    with pytest.raises(UnsupportedSource):
        split_uri(b"file::a")  # type: ignore[arg-type]


def test_every_scheme_of_the_vocabulary_has_a_resolver_and_a_hint():
    """The rule parser and the resolvers read one list of schemes; the hint names each of them."""
    assert tuple(SCHEME_TABLE) == SOURCE_SCHEMES
    with pytest.raises(UnsupportedSource) as info:
        split_uri("s3::bucket/k")
    assert info.value.hint == "write file::PATH, folder::PATH, hdf5::PATH or mem::TAG/BLOB"
