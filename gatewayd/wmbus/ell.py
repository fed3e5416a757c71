"""Extended Link Layer (CI 0x8C-0x8F): header parsing and AES-128-CTR (ENC = 1)."""

from __future__ import annotations

from dataclasses import dataclass

from gatewayd.wmbus.crc import crc16_en13757
from gatewayd.wmbus.crypto import Ciphers, aes128_key
from gatewayd.wmbus.errors import FrameError, NoKeyError, UnsupportedError, WrongKeyError
from gatewayd.wmbus.frozen import slot_setters
from gatewayd.wmbus.telegram import EllHeader

CC_HOP = 0x10
CC_REPEATED = 0x02
_BYTE = tuple(bytes([i]) for i in range(256))


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
    return dll_address + _BYTE[cc & ~(CC_HOP | CC_REPEATED) & 0xFF] + sn_bytes + b"\x00\x00\x00"


def read_ell(frame: bytes, pos: int, meter_id: str) -> tuple[EllHeader, int]:
    """Parse the ELL header whose CI is frame[pos] (nothing is decrypted or verified).

    Returns the header and the position just past it (past the PayloadCRC for ELL II / IV).
    """
    ci = frame[pos]
    layout = LAYOUTS[ci]
    end = pos + 1 + layout.header_len
    if not layout.has_session:
        if len(frame) < end:
            raise FrameError(f"ELL 0x{ci:02X} header truncated", meter_id)
        return EllHeader(ci, frame[pos + 1], frame[pos + 2], None, None), end
    if len(frame) < end + 2:
        raise FrameError(f"ELL 0x{ci:02X} header truncated", meter_id)
    sn = int.from_bytes(frame[end - 4 : end], "little")
    crc = frame[end] | (frame[end + 1] << 8)  # as on air: encrypted when ENC = 1
    return _ell(ci, frame[pos + 1], frame[pos + 2], sn, crc), end + 2


def read_open_ell(
    frame: bytes, pos: int, key: bytes | None, meter_id: str, ciphers: Ciphers | None = None
) -> tuple[bytes, EllHeader, int]:
    """Parse the ELL header whose CI is frame[pos], then verify (and with ENC = 1 decrypt) the
    payload after it; the same checks in the same order as read_ell, then opening.

    Returns the frame with the payload in clear, the header with its PayloadCRC in clear and
    the position just past the header. With ENC = 1 the PayloadCRC is the key check:
    a payload that verifies as it stands is taken as already decrypted only after decryption
    with the given key has failed (or with no key).
    """
    ci = frame[pos]
    layout = LAYOUTS[ci]
    if not layout.has_session:
        ell, end = read_ell(frame, pos, meter_id)
        return frame, ell, end
    crc_at = pos + 1 + layout.header_len
    if len(frame) < crc_at + 2:
        raise FrameError(f"ELL 0x{ci:02X} header truncated", meter_id)
    sn_bytes = frame[crc_at - 4 : crc_at]
    sn = int.from_bytes(sn_bytes, "little")
    enc = sn >> 29  # session_encryption(sn)
    if enc == 0:
        if not _crc_holds(frame, crc_at):
            raise FrameError("ELL payload CRC mismatch", meter_id)
    elif enc != 1:
        raise UnsupportedError(f"ELL encryption {enc} (only AES-128-CTR = 1 is defined)", meter_id)
    else:
        iv = ctr_counter_block(frame[2:10], frame[pos + 1], sn_bytes)
        frame = _decrypt(frame, crc_at, key, meter_id, iv, ciphers or Ciphers())
    crc = frame[crc_at] | (frame[crc_at + 1] << 8)
    return frame, _ell(ci, frame[pos + 1], frame[pos + 2], sn, crc), crc_at + 2


def _ell(ci: int, cc: int, acc: int, sn: int, crc: int) -> EllHeader:
    ell = _new(EllHeader)  # EllHeader(ci, cc, acc, sn, crc), field by field (see frozen.py)
    _e_ci(ell, ci)
    _e_cc(ell, cc)
    _e_acc(ell, acc)
    _e_session(ell, sn)
    _e_crc(ell, crc)
    return ell


_new = object.__new__
_e_ci, _e_cc, _e_acc, _e_session, _e_crc = slot_setters(
    EllHeader, "ci", "cc", "acc", "session", "payload_crc"
)


def ell_encrypted(ell: EllHeader) -> bool:
    return ell.session is not None and session_encryption(ell.session) != 0


def _decrypt(
    frame: bytes, crc_at: int, key: bytes | None, meter_id: str, iv: bytes, ciphers: Ciphers
) -> bytes:
    if key is not None:
        if len(key) != 16:
            aes128_key(key, meter_id)  # raises the WrongKeyError naming the meter
        plain = frame[:crc_at] + ciphers.ctr(key, iv, frame[crc_at:])
        if crc16_en13757(plain[crc_at + 2 :]) == plain[crc_at] | (plain[crc_at + 1] << 8):
            return plain  # as _crc_holds(plain, crc_at)
    if _crc_holds(frame, crc_at):
        return frame  # stored already decrypted (e.g. by a capture tool)
    if key is None:
        raise NoKeyError("encrypted (ELL AES-CTR) and no key configured", meter_id)
    raise WrongKeyError("ELL payload CRC does not verify after decryption: wrong key", meter_id)


def _crc_holds(frame: bytes, crc_at: int) -> bool:
    return crc16_en13757(frame[crc_at + 2 :]) == frame[crc_at] | (frame[crc_at + 1] << 8)
