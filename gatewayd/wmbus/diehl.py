"""Diehl Metering (IZAR, Hydrus, Sharky): how their frames differ from EN 13757.

Diehl meters (manufacturer codes DME, EWT, HYD, SAP, SPL) sending SND_NR / SND_IR:

- CI 0x7A whose TPL security mode has bit 4 set (modes 16-31, "real data") and CI 0x71 carry
  the A field as version, device type, then the id; so do the PRIOS frames (CI 0xA0-0xA7,
  except SAP's) and CI 0xB1-0xB3. The identity is read with the id first, as the meter's label
  and wmbusmeters show it. SAP's PRIOS frames keep their id; their version byte is part of a
  5-byte serial, so the version reads as 0 and the device type as water.
- In "real data" frames the bytes after the TPL header are obfuscated with a 32-bit LFSR seeded
  from the key (an 8-byte key, or the first 8 bytes of an AES-128 one as wmbusmeters takes
  them, folded to 32 bits; a key of another length is refused) and the header; the check is
  that the clear bytes sum (masked 0xEF) to CFG's high byte (masked 0xEF). Without a
  configured key the two published default keys are tried.
"""

from __future__ import annotations

from gatewayd.wmbus.errors import KeyKindError, NoKeyError, WrongKeyError

DIEHL = frozenset(("DME", "EWT", "HYD", "SAP", "SPL"))
SND_NR, SND_IR = 0x44, 0x46
REAL_DATA_MODE_BIT = 0x10
DEFAULT_KEYS = (bytes.fromhex("39BC8A10E66D83F8"), bytes.fromhex("51728910E66D83F8"))
KEY_SIZES = (8, 16)  # the LFSR key itself, or an AES-128 key whose first 8 bytes are used
_SWAPPED_CIS = frozenset((0x71, *range(0xA0, 0xA8), 0xB1, 0xB2, 0xB3))
REAL_DATA_AT = 15  # L C M(2) A(6) CI ACC STS CFG(2)


def is_diehl(frame: bytes, manufacturer: str) -> bool:
    return manufacturer in DIEHL and len(frame) >= 15 and frame[1] in (SND_NR, SND_IR)


def is_real_data(frame: bytes, manufacturer: str) -> bool:
    """A CI 0x7A frame in Diehl's "real data" security modes (16-31)."""
    return (
        is_diehl(frame, manufacturer) and frame[10] == 0x7A and bool(frame[14] & REAL_DATA_MODE_BIT)
    )


def rewritten_a_field(frame: bytes, manufacturer: str) -> bytes | None:
    """The A field (id, version, device type: 6 bytes) as the meter means it, or None when the
    frame's A field is already standard."""
    if not is_diehl(frame, manufacturer):
        return None
    ci = frame[10]
    if ci in range(0xA0, 0xA8) and manufacturer == "SAP":
        return bytes(frame[4:8]) + b"\x00\x07"
    if ci in _SWAPPED_CIS or is_real_data(frame, manufacturer):
        return bytes(frame[6:10]) + bytes(frame[4:6])
    return None


def fold_key(key: bytes) -> int:
    """The 32-bit LFSR seed of a key: its first 4 bytes XOR the next 4 (big-endian)."""
    return int.from_bytes(key[0:4], "big") ^ int.from_bytes(key[4:8], "big")


def lfsr(frame: bytes, seed: int, start: int = REAL_DATA_AT) -> bytes:
    """XOR frame[start:] with the LFSR stream for this seed and the frame's header."""
    key = seed ^ int.from_bytes(frame[2:6], "big") ^ int.from_bytes(frame[6:10], "big")
    key ^= int.from_bytes(frame[10:14], "big")
    out = bytearray()
    for b in frame[start:]:
        for _ in range(8):
            bit = ((key >> 1) ^ (key >> 2) ^ (key >> 11) ^ (key >> 31)) & 1
            key = ((key << 1) | bit) & 0xFFFFFFFF
        out.append(b ^ (key & 0xFF))
    return bytes(out)


def _checks(clear: bytes, cfg_high: int) -> bool:
    return sum(clear) & 0xEF == cfg_high & 0xEF


def real_data(frame: bytes, key: bytes | None, meter_id: str) -> tuple[bytes, bool]:
    """The clear bytes after the TPL header of a "real data" frame, and whether they were
    obfuscated on air (a frame stored already in clear passes the same check as it stands)."""
    if key is not None and len(key) not in KEY_SIZES:
        raise KeyKindError(
            f"the configured key is {len(key)} bytes; a Diehl real-data frame needs its 8-byte "
            "key (16 hex digits) or an AES-128 key (32 hex digits)",
            meter_id,
        )
    cfg_high = frame[14]
    for k in (key,) if key is not None else DEFAULT_KEYS:
        clear = lfsr(frame, fold_key(k))
        if _checks(clear, cfg_high):
            return clear, True
    body = bytes(frame[REAL_DATA_AT:])
    if _checks(body, cfg_high):
        return body, False
    if key is None:
        raise NoKeyError("Diehl real-data frame: the default keys do not open it", meter_id)
    raise WrongKeyError("Diehl real-data frame: the checksum fails with this key", meter_id)
