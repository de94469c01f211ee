"""storage/framing.py: what a cache value carries, and why a forged or stale one is never served."""

from __future__ import annotations

import os

import pytest


@pytest.mark.parametrize("size", [0, 1000, 4096, 100_000, 600_000], ids=lambda n: f"{n}B")
@pytest.mark.parametrize("secret_bytes", [32, 48])
def test_cache_values_verify_and_forgeries_or_flipped_bytes_are_refused(size, secret_bytes):
    """Keyed BLAKE3 under a key derived from the home's secret (of any length): a forgery or a flipped byte is refused."""
    from agentfactory.storage.framing import CorruptEntry, pack_cache_value, unpack_cache_value

    secret, payload = os.urandom(secret_bytes), os.urandom(size)
    value = pack_cache_value(7, "tag", "blob", payload, {"k": 1}, secret)
    entry = unpack_cache_value(value, "tag", "blob", secret)
    assert (entry.gen, entry.payload, entry.metadata) == (7, payload, {"k": 1})
    assert unpack_cache_value(bytearray(value), "tag", "blob", secret).payload == payload  # as get_values hands it
    with pytest.raises(CorruptEntry, match="MAC"):
        unpack_cache_value(pack_cache_value(7, "tag", "blob", payload, {"k": 1}, os.urandom(32)), "tag", "blob", secret)
    if size:
        flipped = bytearray(value)
        flipped[-1] ^= 1
        with pytest.raises(CorruptEntry, match="MAC"):
            unpack_cache_value(bytes(flipped), "tag", "blob", secret)
    with pytest.raises(CorruptEntry, match="MAC"):  # a secret one bit away
        unpack_cache_value(value, "tag", "blob", secret[:-1] + bytes([secret[-1] ^ 1]))


def test_entries_of_the_previous_layout_read_as_corrupt_not_as_a_mac_mismatch():
    import hashlib

    from agentfactory.storage.framing import _CACHE, MAC_BYTES, CorruptEntry, name_hash, unpack_cache_value

    secret = os.urandom(32)
    head = _CACHE.pack(b"AFC3", 2, 0, 7, name_hash("tag", "blob"), 3)  # an AFC3 entry, BLAKE2b-MACed
    mac = hashlib.blake2b(head + b"tag\x00blob" + b"abc", digest_size=MAC_BYTES, key=secret).digest()
    with pytest.raises(CorruptEntry, match="bad header"):
        unpack_cache_value(head + mac + b"abc", "tag", "blob", secret)
