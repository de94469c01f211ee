"""Cache keys: any tag and blob name as a short memcached key, and back for errors.

Keys are `ns:d:<hash of tag, blob>` (entries) and `ns:g:<hash of tag>`
(generation tokens), so any name works (Unicode, spaces, 1,000 characters)
within memcached's 250-byte, no-whitespace rule; the value header repeats a
hash of the names to guard against collisions. A key means nothing to a user,
so each recent one is remembered with the names it stands for, and
`readable` puts those names back into error text.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# What each recent key stands for, so an error never shows a user `b'af:d:JvjlJu...'`.
_KEY_NAMES: dict[str, str] = {}
_KEY_NAMES_MAX = 65536
# the key's end is "no more key characters", not \b: a base64url key may end in "-"
_RAW_KEY = re.compile(r"b?'?\b([A-Za-z0-9_]+:[dg]:[A-Za-z0-9_-]{16,})(?![A-Za-z0-9_-])'?")


def _remember(key: str, names: str) -> str:
    if len(_KEY_NAMES) >= _KEY_NAMES_MAX:
        _KEY_NAMES.clear()
    _KEY_NAMES[key] = names
    return key


def readable(text: str) -> str:
    """`text` with every cache key replaced by the tag and blob it stands for."""
    return _RAW_KEY.sub(lambda m: _KEY_NAMES.get(m.group(1), "a cache entry"), text)


# Keys are pure functions of the names, and hashing + base64 is a tenth of a
# cache hit's Python time: remember the recent ones (bounded, per process).
@lru_cache(maxsize=16384)
def data_key(namespace: str, tag: str, blob: str) -> str:
    digest = hashlib.blake2b(tag.encode() + b"\x00" + blob.encode(), digest_size=18).digest()
    return _remember(f"{namespace}:d:{_b64(digest)}", f"blob {blob!r} of tag {tag!r}")


@lru_cache(maxsize=4096)
def gen_key(namespace: str, tag: str) -> str:
    key = f"{namespace}:g:{_b64(hashlib.blake2b(tag.encode(), digest_size=18).digest())}"
    return _remember(key, f"the generation token of tag {tag!r}")


def chunk_key(key: str, index: int) -> str:
    """The item holding chunk `index` of the value whose manifest is at `key`."""
    return f"{key}.{index}"
