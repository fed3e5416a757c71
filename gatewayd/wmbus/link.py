"""Data link layer (EN 13757-4): frame formats A and B, the DLL header, manufacturer codes.

A *clean frame* is the telegram with every DLL CRC removed and L = len(frame) - 1. Radio modules
deliver frames either clean or with their CRCs (frame A or B); the caller always says which.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gatewayd.wmbus.crc import crc16_en13757
from gatewayd.wmbus.errors import FrameError


class FrameFormat(enum.Enum):
    """How a frame arrives: CLEAN (CRCs already removed), A or B (DLL block CRCs present)."""

    CLEAN = "clean"
    A = "A"
    B = "B"


# Device types (A-field byte 9, EN 13757-3 / -7 media). Unlisted codes show as "unknown (0xNN)".
DEVICE_TYPES: dict[int, str] = {
    0x00: "other",
    0x01: "oil",
    0x02: "electricity",
    0x03: "gas",
    0x04: "heat",
    0x05: "steam",
    0x06: "warm water",
    0x07: "water",
    0x08: "heat cost allocation",
    0x09: "compressed air",
    0x0A: "cooling load volume at outlet",
    0x0B: "cooling load volume at inlet",
    0x0C: "heat volume at inlet",
    0x0D: "heat/cooling load",
    0x0E: "bus/system component",
    0x0F: "unknown",
    0x10: "reserved",
    0x11: "reserved",
    0x12: "reserved",
    0x13: "reserved",
    0x14: "calorific value",
    0x15: "hot water",
    0x16: "cold water",
    0x17: "dual register (hot/cold) water meter",
    0x18: "pressure",
    0x19: "a/d converter",
    0x1A: "smoke detector",
    0x1B: "room sensor",
    0x1C: "gas detector",
    0x1D: "reserved",
    0x1E: "reserved",
    0x1F: "reserved",
    0x20: "breaker (electricity)",
    0x21: "valve (gas or water)",
    0x22: "reserved",
    0x23: "reserved",
    0x24: "reserved",
    0x25: "customer unit (display device)",
    0x26: "reserved",
    0x27: "reserved",
    0x28: "waste water",
    0x29: "garbage",
    0x2A: "reserved",
    0x2B: "reserved",
    0x2C: "reserved",
    0x2D: "reserved",
    0x2E: "reserved",
    0x2F: "reserved",
    0x30: "reserved",
    0x31: "communication controller",
    0x32: "unidirectional repeater",
    0x33: "bidirectional repeater",
    0x34: "reserved",
    0x35: "reserved",
    0x36: "radio converter (system side)",
    0x37: "radio converter (meter side)",
}


def device_type_name(code: int) -> str:
    return DEVICE_TYPES.get(code, f"unknown (0x{code:02X})")


def manufacturer_code(m: int) -> str:
    """The 3-letter code of a 16-bit M-field value (bit 15 masked)."""
    return chr(((m >> 10) & 0x1F) + 64) + chr(((m >> 5) & 0x1F) + 64) + chr((m & 0x1F) + 64)


def manufacturer_value(code: str) -> int:
    """The 16-bit M-field value of a 3-letter upper-case code (the inverse of manufacturer_code)."""
    if len(code) != 3 or not all("A" <= c <= "Z" for c in code):
        raise ValueError(f"manufacturer code must be 3 letters A-Z, got {code!r}")
    return ((ord(code[0]) - 64) << 10) | ((ord(code[1]) - 64) << 5) | (ord(code[2]) - 64)


def bcd_id(a: bytes | bytearray | memoryview) -> str:
    """The 8-digit meter id from the 4 identification bytes (BCD, least significant byte first).

    Non-BCD nibbles are kept as hex digits, as wmbusmeters shows them (e.g. "2124589c").
    """
    return bytes(a[3::-1]).hex()


def id_bytes(meter_id: str) -> bytes:
    """The 4 identification bytes of an 8-hex-digit id (the inverse of bcd_id)."""
    return bytes.fromhex(meter_id)[::-1]


@dataclass(frozen=True, slots=True)
class Address:
    """Who sent a telegram: manufacturer, 8-digit id, version and device type."""

    manufacturer: str
    id: str
    version: int
    device_type: int
    raw: bytes  # M(2) + A(6) as on air: the bytes that go into IVs

    @property
    def media(self) -> str:
        return device_type_name(self.device_type)


@dataclass(frozen=True, slots=True)
class LinkHeader:
    length: int
    c_field: int
    address: Address


def parse_link_header(frame: bytes) -> LinkHeader:
    """Parse L, C, M, A from a clean frame. Raises FrameError on a short or inconsistent frame."""
    if len(frame) < 11:
        raise FrameError(f"frame too short for a DLL header and CI ({len(frame)} bytes)")
    if frame[0] != len(frame) - 1:
        raise FrameError(f"L field {frame[0]} does not match frame length {len(frame) - 1}")
    m = frame[2] | (frame[3] << 8)
    addr = Address(
        manufacturer=manufacturer_code(m),
        id=bcd_id(frame[4:8]),
        version=frame[8],
        device_type=frame[9],
        raw=bytes(frame[2:10]),
    )
    return LinkHeader(length=frame[0], c_field=frame[1], address=addr)


# ---- frame formats A and B: CRC stripping (receive) and adding (our encoder, simulators) ----


def frame_a_size(l_field: int) -> int:
    """On-air size of a frame-A telegram with L = l_field (CRCs not counted in L)."""
    if l_field < 9:
        raise FrameError(f"L field {l_field} too small for frame A")
    return 1 + l_field + 2 * (1 + (l_field - 9 + 15) // 16)


def frame_b_size(l_field: int) -> int:
    """On-air size of a frame-B telegram (L counts the CRCs)."""
    return l_field + 1


def strip_crcs(data: bytes, fmt: FrameFormat) -> bytes:
    """Check and remove the DLL CRCs of one whole on-air frame; return the clean frame."""
    if fmt is FrameFormat.CLEAN:
        return data
    if fmt is FrameFormat.A:
        return _strip_a(data)
    return _strip_b(data)


def _check(block: bytes, crc_bytes: bytes, where: str) -> None:
    want = (crc_bytes[0] << 8) | crc_bytes[1]
    got = crc16_en13757(block)
    if got != want:
        raise FrameError(f"DLL CRC error in {where}: computed {got:04X}, frame has {want:04X}")


def _strip_a(data: bytes) -> bytes:
    if len(data) < 12:
        raise FrameError(f"frame A too short ({len(data)} bytes)")
    size = frame_a_size(data[0])
    if len(data) != size:
        raise FrameError(f"frame A with L={data[0]} needs {size} bytes, got {len(data)}")
    _check(data[0:10], data[10:12], "block 1")
    out = bytearray(data[0:10])
    pos = 12
    n = 2
    while pos < len(data):
        end = min(pos + 16, len(data) - 2)
        _check(data[pos:end], data[end : end + 2], f"block {n}")
        out += data[pos:end]
        pos = end + 2
        n += 1
    return bytes(out)


def _strip_b(data: bytes) -> bytes:
    if len(data) < 13:
        raise FrameError(f"frame B too short ({len(data)} bytes)")
    l_field = data[0]
    if l_field in (128, 129) or l_field < 12:
        raise FrameError(f"frame B L field {l_field} is impossible")
    if len(data) != frame_b_size(l_field):
        raise FrameError(f"frame B with L={l_field} needs {l_field + 1} bytes, got {len(data)}")
    if len(data) <= 128:
        _check(data[:-2], data[-2:], "block 1+2")
        body = bytearray(data[:-2])
    else:
        _check(data[:126], data[126:128], "block 1+2")
        _check(data[128:-2], data[-2:], "block 3")
        body = bytearray(data[:126]) + data[128:-2]
    body[0] = len(body) - 1
    return bytes(body)


def add_crcs(clean: bytes, fmt: FrameFormat) -> bytes:
    """Encode a clean frame for the air with frame-A or frame-B CRCs (for tests and simulators)."""
    if fmt is FrameFormat.CLEAN:
        return clean
    if fmt is FrameFormat.A:
        out = bytearray(clean[:10])
        out += crc16_en13757(out).to_bytes(2, "big")
        for pos in range(10, len(clean), 16):
            block = clean[pos : pos + 16]
            out += block + crc16_en13757(block).to_bytes(2, "big")
        return bytes(out)
    body = bytearray(clean)
    if len(body) + 2 <= 128:
        body[0] = len(body) + 1
        return bytes(body) + crc16_en13757(body).to_bytes(2, "big")
    body[0] = len(body) + 3
    first = bytes(body[:126])
    rest = bytes(body[126:])
    return (
        first
        + crc16_en13757(first).to_bytes(2, "big")
        + rest
        + crc16_en13757(rest).to_bytes(2, "big")
    )
