"""Apator AT-WMBUS-16-2 water meters (wmbusmeters "apator162").

The whole payload after the decryption check (2F 2F) is the meter's own layout, not data
records: one lead byte (0x0F, "manufacturer data", on most meters; 0x80 on older ones), 7 bytes
of date and fault flags, then registers, each one id byte followed by a fixed number of bytes,
then optional 0xFF padding and a 2- or 4-byte checksum. Register 0x10 holds the total volume in
litres (4 bytes, little-endian). Register sizes as wmbusmeters documents them.

The payload is read only when it parses to its end that way: a register of unknown size, or a
tail that is not padding and a checksum, means the walk lost its place, and a "total" found on
the way could be any four bytes; then the driver gives no fields (the telegram is reported as
one no driver reads) rather than a wrong volume.
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect
from gatewayd.wmbus.telegram import Telegram

TOTAL_REGISTER = 0x10
DECRYPT_CHECK = b"\x2f\x2f"
LEAD_BYTES = 1  # 0x0F (or 0x80 on older meters)
HEADER_BYTES = 7  # date (4) and faults (3) after the lead byte
PAD = 0xFF
CHECKSUM_SIZES = (2, 4)

REGISTER_SIZES: dict[int, int] = {
    0x00: 4,  # date
    0x01: 3,  # faults
    0x10: 4,  # total volume, litres
    0x11: 2,  # flow
    0x40: 6,  # detectors
    0x41: 2,  # voltage
    0x42: 4,  # energy
    0x43: 2,  # days since first use
    0x44: 3,
    # historical data: a byte, then 2..13 four-byte values (0x71..0x7C)
    **{0x71 + n: 1 + (n + 2) * 4 for n in range(12)},
    **dict.fromkeys((0x80, 0x81, 0x82, 0x83, 0x84, 0x86, 0x87), 10),  # events
    **dict.fromkeys((0x85, 0x88, 0x8F), 11),
    0x8A: 9,
    0x8B: 6,
    0x8C: 6,
    0x8E: 7,
    0xA0: 4,
    0xA1: 4,
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


def _is_tail(rest: bytes) -> bool:
    """rest is padding (0xFF, any number) and then a 2- or 4-byte checksum."""
    return any(
        len(rest) >= size and rest[: len(rest) - size].count(PAD) == len(rest) - size
        for size in CHECKSUM_SIZES
    )


def registers(payload: bytes) -> dict[int, bytes] | None:
    """Register id -> its bytes (first occurrence wins) from the payload after the
    decryption check; None when the payload does not parse to its end.

    A register walk and the tail can both fit the same bytes (a short register followed by a
    2-byte checksum is also a 4-byte checksum); the walk takes a register whenever the rest
    still parses, so each position is tried as a register first, then as the tail.
    """
    start = LEAD_BYTES + HEADER_BYTES
    if len(payload) < start:
        return None
    # ends[i]: the payload from position i on parses (registers, then the tail)
    n = len(payload)
    ends = [False] * (n + 1)
    take = [False] * (n + 1)  # position i is read as a register
    for i in range(n, start - 1, -1):
        size = REGISTER_SIZES.get(payload[i]) if i < n else None
        if size is not None and i + 1 + size <= n and ends[i + 1 + size]:
            ends[i] = take[i] = True
        else:
            ends[i] = _is_tail(payload[i:])
    if not ends[start]:
        return None
    out: dict[int, bytes] = {}
    i = start
    while take[i]:
        size = REGISTER_SIZES[payload[i]]
        out.setdefault(payload[i], payload[i + 1 : i + 1 + size])
        i += 1 + size
    return out


def payload_of(telegram: Telegram) -> bytes:
    """The bytes after the decryption check (the whole APL when it carries none)."""
    apl = telegram.apl
    return apl[len(DECRYPT_CHECK) :] if apl.startswith(DECRYPT_CHECK) else apl


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
        regs = registers(payload_of(telegram))
        total = None if regs is None else regs.get(TOTAL_REGISTER)
        if total is None:
            return {}, None
        return {"total_m3": int.from_bytes(total, "little") / 1000}, None
