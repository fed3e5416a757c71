"""CRC-16/EN-13757 (wM-Bus DLL and upper layers) and CRC-16/X-25 (IMST HCI), table driven."""

from __future__ import annotations


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


_EN13757 = _table(0x3D65, reflected=False)
_X25 = _table(0x8408, reflected=True)


def crc16_en13757(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/EN-13757: poly 0x3D65, init 0, not reflected, xorout 0xFFFF. check = 0xC2B7."""
    crc = 0
    table = _EN13757
    for b in data:
        crc = ((crc << 8) & 0xFF00) ^ table[(crc >> 8) ^ b]
    return crc ^ 0xFFFF


def crc16_x25(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/X-25 (IMST HCI): poly 0x1021 reflected, init 0xFFFF, xorout 0xFFFF. check = 0x906E."""
    crc = 0xFFFF
    table = _X25
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFF
