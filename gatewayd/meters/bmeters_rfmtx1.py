"""BMeters RFM-TX1 water meter radio module (wmbusmeters "rfmtx1").

It sends CI 0x7A with TPL security mode 16 (manufacturer-specific): the bytes after the TPL
header are its own layout, not records. After the TPL header: 2 bytes, the reading (4 bytes),
7 bytes, then the meter's clock as BCD bytes: second, minute, hour, day, month, year - 2000.

The reading is obfuscated: byte i is XORed with the TPL access number and with an entry of
table i, chosen by the access number's low nibble; the clear bytes are 8 BCD digits of litres,
least significant byte first.
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect
from gatewayd.meters.mfct import MfctDriver, bcd, scaled
from gatewayd.wmbus.telegram import Telegram

# table i, entry n: the mask of reading byte i when the access number's low nibble is n
MASKS = (
    (122, 112, 185, 121, 7, 50, 156, 180, 10, 240, 22, 12, 74, 119, 189, 57),
    (16, 19, 11, 7, 154, 161, 126, 196, 206, 5, 152, 201, 72, 46, 120, 111),
    (26, 34, 142, 74, 203, 57, 96, 128, 25, 165, 17, 125, 228, 138, 87, 40),
    (10, 19, 153, 22, 105, 14, 153, 163, 3, 134, 94, 162, 31, 232, 140, 5),
)
READING_AT = 2
CLOCK_AT = 13
LAYOUT_SIZE = CLOCK_AT + 6


def rfmtx1_fields(telegram: Telegram) -> dict[str, object]:
    d = telegram.manufacturer_data
    tpl = telegram.tpl
    if d is None or tpl is None or tpl.acc is None or len(d) < LAYOUT_SIZE:
        return {}
    acc = tpl.acc
    row = acc & 0x0F
    clear = bytes(d[READING_AT + i] ^ acc ^ MASKS[i][row] for i in range(4))
    litres = bcd(clear)
    sec, minute, hour, day, month, year = (
        bcd(d[CLOCK_AT + i : CLOCK_AT + i + 1]) for i in range(6)
    )
    when = None
    if (
        year is not None
        and month is not None
        and 1 <= month <= 12
        and day is not None
        and 1 <= day <= 31
        and hour is not None
        and hour < 24
        and minute is not None
        and minute < 60
        and sec is not None
    ):
        when = f"{2000 + year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}"
    return {
        "total_m3": None if litres is None else scaled(litres, 1000),
        "meter_datetime": when,
    }


def rfmtx1() -> MfctDriver:
    return MfctDriver(
        name="rfmtx1",
        extract=rfmtx1_fields,
        outputs=("total_m3", "meter_datetime"),
        detect=(Detect("BMT", 0x05, 0x07),),
    )
