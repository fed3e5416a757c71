"""AES-128 primitives used by wM-Bus: CTR (ELL), CBC (TPL modes 5 and 7), CMAC (mode 7 KDF/MAC);
DES-CBC for the deprecated TPL mode 2."""

from __future__ import annotations

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext
from cryptography.hazmat.primitives.ciphers.algorithms import AES128
from cryptography.hazmat.primitives.ciphers.modes import CBC, CTR, ECB
from cryptography.hazmat.primitives.cmac import CMAC

from gatewayd.wmbus.errors import KeyKindError

ZERO_IV = bytes(16)
DES_KEY_BYTES = 8
DES_BLOCK = 8


def aes128_key(key: bytes, meter_id: str | None) -> bytes:
    """The key itself when it is 16 bytes; else a KeyKindError naming the meter (a key of the
    wrong length must not surface as the AES library's ValueError)."""
    if len(key) != 16:
        kind = "a DES key (8 bytes)" if len(key) == DES_KEY_BYTES else f"{len(key)} bytes"
        raise KeyKindError(
            f"the configured key is {kind}; this telegram is AES-128 encrypted and needs "
            "an AES-128 key (32 hex digits)",
            meter_id,
        )
    return key


def aes_ctr(key: bytes, counter_block: bytes, data: bytes) -> bytes:
    """AES-128-CTR with a 128-bit big-endian counter (encrypt = decrypt)."""
    ctx = Cipher(AES128(key), CTR(counter_block)).encryptor()
    return ctx.update(data) + ctx.finalize()


def aes_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-128-CBC without padding; len(data) must be a multiple of 16."""
    ctx = Cipher(AES128(key), CBC(iv)).decryptor()
    return ctx.update(data) + ctx.finalize()


def des_cbc_decrypt(key: bytes, iv: bytes, data: bytes, meter_id: str | None) -> bytes:
    """Single DES in CBC mode (a DES key three times over is single DES); data is whole
    8-byte blocks. A key of another length is a KeyKindError naming the meter."""
    if len(key) != DES_KEY_BYTES:
        kind = "an AES-128 key (16 bytes)" if len(key) == 16 else f"{len(key)} bytes"
        raise KeyKindError(
            f"the configured key is {kind}; this telegram is DES encrypted (TPL mode 2) and "
            "needs a DES key (16 hex digits)",
            meter_id,
        )
    ctx = Cipher(TripleDES(key * 3), CBC(iv)).decryptor()
    return ctx.update(data) + ctx.finalize()


def aes_cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    ctx = Cipher(AES128(key), CBC(iv)).encryptor()
    return ctx.update(data) + ctx.finalize()


_BLOCK_MASK = (1 << 128) - 1
_BYTE = tuple(bytes([i]) for i in range(256))


class Ciphers:
    """AES-128 block contexts per key, at most `max_keys` (emptied when full), so that decrypting
    a telegram sets no cipher up: CTR and CBC are computed from the ECB block function (the same
    arithmetic as the library's CTR / CBC modes). The decoder owns one."""

    def __init__(self, max_keys: int = 1024) -> None:
        self.max_keys = max_keys
        self._enc: dict[bytes, CipherContext] = {}
        self._dec: dict[bytes, CipherContext] = {}

    def _context(self, table: dict[bytes, CipherContext], key: bytes, enc: bool) -> CipherContext:
        ctx = table.get(key)
        if ctx is None:
            cipher = Cipher(AES128(key), ECB())
            ctx = cipher.encryptor() if enc else cipher.decryptor()
            if len(table) >= self.max_keys:
                table.clear()
            table[key] = ctx
        return ctx

    def ctr(self, key: bytes, counter_block: bytes, data: bytes) -> bytes:
        """AES-128-CTR with a 128-bit big-endian counter (encrypt = decrypt)."""
        n = len(data)
        if n == 0:
            return b""
        blocks = (n + 15) // 16
        last = counter_block[15]
        if blocks == 1:
            counters = counter_block
        elif blocks == 2 and last < 255:  # most telegrams: two blocks
            counters = counter_block + counter_block[:15] + _BYTE[last + 1]
        elif last + blocks <= 256:  # only the last byte counts up (a telegram is a few blocks)
            prefix = counter_block[:15]
            counters = b"".join([prefix + _BYTE[last + i] for i in range(blocks)])
        else:
            first = int.from_bytes(counter_block, "big")
            counters = b"".join(
                [((first + i) & _BLOCK_MASK).to_bytes(16, "big") for i in range(blocks)]
            )
        ctx = self._enc.get(key)
        if ctx is None:
            ctx = self._context(self._enc, key, True)
        return _xor(data, ctx.update(counters)[:n])

    def cbc_decrypt(self, key: bytes, iv: bytes, data: bytes) -> bytes:
        """AES-128-CBC decryption without padding; len(data) must be a multiple of 16."""
        if len(data) % 16:
            raise ValueError("CBC data must be whole 16-byte blocks")
        if not data:
            return b""
        return _xor(self._context(self._dec, key, False).update(data), iv + data[:-16])


def _xor(a: bytes, b: bytes) -> bytes:
    """a XOR b (of equal lengths), through two integers: byte order does not matter to XOR,
    and little-endian with the bound method is the cheapest call."""
    return (_from_bytes(a, "little") ^ _from_bytes(b, "little")).to_bytes(len(a), "little")


_from_bytes = int.from_bytes


def cmac(key: bytes, message: bytes) -> bytes:
    c = CMAC(AES128(key))
    c.update(message)
    return c.finalize()


def kdf_a(key: bytes, direction: int, mcr: bytes, meter_id: bytes) -> bytes:
    """OMS KDF-A: CMAC(K, D ‖ MCR(4, as on air) ‖ ID(4, as on air) ‖ 07×7).

    direction: 0x00 Kenc and 0x01 Kmac meter → collector; 0x10 / 0x11 the other way.
    """
    return cmac(key, bytes([direction]) + mcr + meter_id + b"\x07" * 7)
