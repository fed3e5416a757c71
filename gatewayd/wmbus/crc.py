"""CRC-16/EN-13757 (wM-Bus DLL and upper layers) and CRC-16/X-25 (IMST HCI), table driven.

CRC-16/EN-13757 runs twice per telegram or more (DLL blocks, the ELL payload CRC, a compact
frame's full-frame CRC): `crc16_en13757` is fastcrc's compiled one (same parameters; about 15
times faster on a telegram). The table version below is the reference the tests hold it to.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from fastcrc import crc16 as _fastcrc16


def _table(poly: int, reflected: bool) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        if reflected:
            crc = byte
            for _ in range(8):
                crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        else:
            crc = byte << 8
            for _ in range(8):
                crc = ((crc << 1) ^ poly) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        table.append(crc)
    return tuple(table)


def _swap(x: int) -> int:
    return ((x & 0xFF) << 8) | (x >> 8)


_EN13757 = _table(0x3D65, reflected=False)
_X25 = _table(0x8408, reflected=True)
# Two bytes per step for EN 13757: with the register R = hi:lo after xoring in two bytes, the
# register after shifting both out is HI2[hi] ^ _EN13757[lo], HI2[x] being x shifted through
# 16 bits. The words are read little-endian (memoryview "H" on this byte order), so the loop
# keeps the register byte-swapped and the tables hold swapped values.
_HI2_SWAPPED = tuple(_swap(((t << 8) & 0xFF00) ^ _EN13757[t >> 8]) for t in _EN13757)
_LO_SWAPPED = tuple(_swap(t) for t in _EN13757)
_LITTLE = sys.byteorder == "little"


def crc16_en13757_table(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/EN-13757: poly 0x3D65, init 0, not reflected, xorout 0xFFFF. check = 0xC2B7."""
    n = len(data)
    table = _EN13757
    if _LITTLE and n >= 8:
        hi2, lo = _HI2_SWAPPED, _LO_SWAPPED
        s = 0
        even = n & ~1
        for w in memoryview(data)[:even].cast("B").cast("H"):
            x = s ^ w
            s = hi2[x & 0xFF] ^ lo[x >> 8]
        crc = _swap(s)
        if n & 1:
            crc = ((crc << 8) & 0xFF00) ^ table[(crc >> 8) ^ data[-1]]
        return crc ^ 0xFFFF
    crc = 0
    for b in data:
        crc = ((crc << 8) & 0xFF00) ^ table[(crc >> 8) ^ b]
    return crc ^ 0xFFFF


# CRC-16/EN-13757 as crc16_en13757_table computes it, compiled (called directly: no wrapper)
crc16_en13757: Callable[[bytes | bytearray | memoryview], int] = _fastcrc16.en_13757


def crc16_x25(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/X-25 (IMST HCI): poly 0x1021 reflected, init 0xFFFF, xorout 0xFFFF. check = 0x906E."""
    crc = 0xFFFF
    table = _X25
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFF
