"""Apator AT-WMBUS-16-2 water meters (wmbusmeters "apator162").

The payload is manufacturer data (after DIF 0x0F): 7 bytes of date and fault flags, then
registers, each one id byte followed by a fixed number of bytes; 0xFF ends the list. Register
0x10 holds the total volume in litres (4 bytes, little-endian). Register sizes as wmbusmeters
documents them; a register of unknown size ends the walk.
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect
from gatewayd.wmbus.telegram import Telegram

TOTAL_REGISTER = 0x10
HEADER_BYTES = 7  # date (4) and faults (3) after the 0x0F

REGISTER_SIZES: dict[int, int] = {
    0x00: 4,  # date
    0x01: 3,  # faults
    0x10: 4,  # total volume, litres
    0xA1: 4,
    0x11: 2,  # flow
    0x40: 6,  # detectors
    0x41: 2,  # voltage
    0x42: 4,  # energy
    0x43: 2,  # days since first use
    0x44: 3,
    0x71: 1 + 2 * 4,  # historical data
    0x72: 1 + 3 * 4,
    0x73: 1 + 4 * 4,
    0x75: 1 + 6 * 4,
    0x7B: 1 + 12 * 4,
    **dict.fromkeys((0x80, 0x81, 0x82, 0x83, 0x84, 0x86, 0x87), 10),  # events
    **dict.fromkeys((0x85, 0x88, 0x8F), 11),
    0x8A: 9,
    0x8B: 6,
    0x8C: 6,
    0x8E: 7,
    0xA0: 4,
    0xA2: 1,
    0xA3: 7,
    0xA4: 4,
    **dict.fromkeys((0xA5, 0xA9, 0xAF), 1),
    0xA6: 3,
    **dict.fromkeys((0xA7, 0xA8, 0xAA, 0xAB, 0xAC, 0xAD), 2),
    0xB0: 5,
    0xB1: 8,
    0xB2: 16,
    0xB3: 8,
    0xB4: 2,
    0xB5: 16,
    **dict.fromkeys(range(0xB6, 0xC0), 3),
    **dict.fromkeys(range(0xC0, 0xC8), 3),
    0xD0: 3,
    0xD3: 3,
    0xF0: 4,
}


def registers(mfct: bytes) -> dict[int, bytes]:
    """Register id -> its bytes, walking the manufacturer data (first occurrence wins)."""
    out: dict[int, bytes] = {}
    i = HEADER_BYTES
    while i < len(mfct):
        reg = mfct[i]
        size = REGISTER_SIZES.get(reg)
        if reg == 0xFF or size is None or i + 1 + size > len(mfct):
            break
        out.setdefault(reg, mfct[i + 1 : i + 1 + size])
        i += 1 + size
    return out


class Apator162:
    """Driver for Apator 16-2 water meters: total_m3 from register 0x10."""

    name = "apator162"
    detect: tuple[Detect, ...] = (Detect("APA", 0x05, 0x06), Detect("APA", 0x05, 0x07))
    aliases: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ("total_m3",)

    def fields(self, telegram: Telegram) -> dict[str, object]:
        return self.decode(telegram)[0]

    def alarms(self, telegram: Telegram) -> dict[str, bool] | None:
        return None

    def decode(self, telegram: Telegram) -> tuple[dict[str, object], dict[str, bool] | None]:
        mfct = telegram.manufacturer_data
        if not mfct:
            return {}, None
        total = registers(mfct).get(TOTAL_REGISTER)
        if total is None:
            return {}, None
        return {"total_m3": int.from_bytes(total, "little") / 1000}, None
