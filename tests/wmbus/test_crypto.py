"""The decoder's cached AES contexts give exactly what the library's own CTR and CBC modes give."""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers.algorithms import AES128
from cryptography.hazmat.primitives.ciphers.modes import CBC, CTR
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.wmbus.crypto import Ciphers

keys = st.binary(min_size=16, max_size=16)
blocks = st.binary(min_size=16, max_size=16)


@settings(max_examples=200, deadline=None)
@given(keys, blocks, st.binary(max_size=80))
def test_ctr_equals_the_library_ctr(key: bytes, counter: bytes, data: bytes) -> None:
    want = Cipher(AES128(key), CTR(counter)).encryptor().update(data)
    assert Ciphers(max_keys=2).ctr(key, counter, data) == want


def test_ctr_counter_wraps_at_128_bits() -> None:
    key, counter, data = bytes(range(16)), b"\xff" * 16, bytes(40)
    want = Cipher(AES128(key), CTR(counter)).encryptor().update(data)
    assert Ciphers().ctr(key, counter, data) == want


@settings(max_examples=200, deadline=None)
@given(
    keys, blocks, st.integers(0, 5).flatmap(lambda n: st.binary(min_size=16 * n, max_size=16 * n))
)
def test_cbc_decrypt_equals_the_library_cbc(key: bytes, iv: bytes, data: bytes) -> None:
    want = Cipher(AES128(key), CBC(iv)).decryptor().update(data)
    assert Ciphers(max_keys=2).cbc_decrypt(key, iv, data) == want


def test_contexts_are_bounded_and_reused_per_key() -> None:
    c = Ciphers(max_keys=2)
    iv = bytes(16)
    first = c.ctr(b"A" * 16, iv, bytes(16))
    for k in (b"B" * 16, b"C" * 16, b"D" * 16):
        c.ctr(k, iv, bytes(16))
    assert len(c._enc) <= 2
    assert c.ctr(b"A" * 16, iv, bytes(16)) == first  # rebuilt after eviction, same stream
