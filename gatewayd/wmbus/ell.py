"""Extended Link Layer (CI 0x8C-0x8F): header parsing and AES-128-CTR (ENC = 1)."""

from __future__ import annotations

from dataclasses import dataclass

from gatewayd.wmbus.crc import crc16_en13757
from gatewayd.wmbus.crypto import aes_ctr
from gatewayd.wmbus.errors import FrameError, NoKeyError, UnsupportedError, WrongKeyError
from gatewayd.wmbus.telegram import EllHeader

ELL_CIS = frozenset((0x8C, 0x8D, 0x8E, 0x8F))
CC_HOP = 0x10
CC_REPEATED = 0x02


@dataclass(frozen=True, slots=True)
class _Layout:
    header_len: int  # bytes after the CI up to the next layer (or the PayloadCRC)
    has_address: bool
    has_session: bool


# offsets after the CI: CC(1) ACC(1) [M2(2) A2(6)] [SN(4) PayloadCRC(2)]
LAYOUTS = {
    0x8C: _Layout(2, has_address=False, has_session=False),
    0x8D: _Layout(6, has_address=False, has_session=True),
    0x8E: _Layout(10, has_address=True, has_session=False),
    0x8F: _Layout(14, has_address=True, has_session=True),
}


def session_encryption(sn: int) -> int:
    """The ENC field (bits 29-31) of a session number: 0 none, 1 AES-128-CTR."""
    return sn >> 29


def ctr_counter_block(dll_address: bytes, cc: int, sn_bytes: bytes) -> bytes:
    """IV for ELL AES-CTR: M ‖ A (as on air) ‖ CC with H/R cleared ‖ SN ‖ FN=0000 ‖ BC=00."""
    return dll_address + bytes([cc & ~(CC_HOP | CC_REPEATED) & 0xFF]) + sn_bytes + b"\x00\x00\x00"


def peek_encrypted(frame: bytes, pos: int) -> bool:
    """Whether the ELL at frame[pos] announces encryption (no decryption attempted)."""
    layout = LAYOUTS[frame[pos]]
    if not layout.has_session:
        return False
    sn_at = pos + 3 + (8 if layout.has_address else 0)
    if len(frame) < sn_at + 4:
        return False
    return session_encryption(int.from_bytes(frame[sn_at : sn_at + 4], "little")) != 0


def parse_ell(
    frame: bytes, pos: int, key: bytes | None, meter_id: str
) -> tuple[EllHeader, bytes, int, bool]:
    """Parse the ELL at frame[pos] (its CI) and decrypt what follows.

    Returns (header, frame with the ELL payload decrypted, position of the next CI, encrypted).
    With ENC = 1 the PayloadCRC is the key check: a payload that verifies as it stands is taken
    as already decrypted only after decryption with the given key has failed (or with no key).
    """
    ci = frame[pos]
    layout = LAYOUTS[ci]
    end = pos + 1 + layout.header_len
    if len(frame) < end + (2 if layout.has_session else 0) + 1:
        raise FrameError(f"ELL 0x{ci:02X} header truncated", meter_id)
    cc, acc = frame[pos + 1], frame[pos + 2]
    if not layout.has_session:
        return EllHeader(ci, cc, acc, None, None), frame, end, False
    sn_at = end - 4
    sn_bytes = frame[sn_at:end]
    sn = int.from_bytes(sn_bytes, "little")
    enc = session_encryption(sn)
    crc_at = end
    body_at = end + 2
    encrypted = enc != 0
    if enc == 0:
        plain = frame
    elif enc != 1:
        raise UnsupportedError(f"ELL encryption {enc} (only AES-128-CTR = 1 is defined)", meter_id)
    else:
        plain = _decrypt(frame, crc_at, key, meter_id, ctr_counter_block(frame[2:10], cc, sn_bytes))
    crc = plain[crc_at] | (plain[crc_at + 1] << 8)
    if enc == 0 and crc16_en13757(plain[body_at:]) != crc:
        raise FrameError("ELL payload CRC mismatch", meter_id)
    return EllHeader(ci, cc, acc, sn, crc), plain, body_at, encrypted


def _decrypt(frame: bytes, crc_at: int, key: bytes | None, meter_id: str, iv: bytes) -> bytes:
    head = frame[:crc_at]
    if key is not None:
        plain = head + aes_ctr(key, iv, frame[crc_at:])
        if _crc_holds(plain, crc_at):
            return plain
    if _crc_holds(frame, crc_at):
        return frame  # stored already decrypted (e.g. by a capture tool)
    if key is None:
        raise NoKeyError("encrypted (ELL AES-CTR) and no key configured", meter_id)
    raise WrongKeyError("ELL payload CRC does not verify after decryption: wrong key", meter_id)


def _crc_holds(frame: bytes, crc_at: int) -> bool:
    return crc16_en13757(frame[crc_at + 2 :]) == frame[crc_at] | (frame[crc_at + 1] << 8)
