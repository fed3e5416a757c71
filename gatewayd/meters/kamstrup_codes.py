"""Kamstrup water meter info codes, as tables.

16-bit (record 02FF20, MULTICAL 21 family): bits 0-3 are the alarms active now (DRY, REVERSE,
LEAK, BURST); bits 4-15 are four 3-bit fields, how long each alarm was active during the last
30 days. 32-bit (record 04FF23, flowIQ 2200 / KWM): one bit per condition; a set bit with no name
is shown as ERROR_FLAGS_<hex>, as wmbusmeters does. wmbusmeters spells bit 6
"LOW_ABIENT_TEMPERATURE" (sic); the spelling is kept so that dashboards built on it keep working.
"""

from __future__ import annotations

from gatewayd.meters.fields import BitLookup, IndexLookup

INFO16 = b"\x02\xff\x20"
INFO32 = b"\x04\xff\x23"

ACTIVE_BITS: tuple[tuple[int, str], ...] = (
    (0x0001, "DRY"),
    (0x0002, "REVERSE"),
    (0x0004, "LEAK"),
    (0x0008, "BURST"),
)

# The alarms active now, 16-bit word: only bits 0-3 count (the rest are durations).
ACTIVE16 = BitLookup(ACTIVE_BITS, mask=0x000F)

INFO32_BITS: tuple[tuple[int, str], ...] = (
    *ACTIVE_BITS,
    (0x0010, "TAMPER"),
    (0x0020, "LOW_BATTERY"),
    (0x0040, "LOW_ABIENT_TEMPERATURE"),
    (0x0080, "FLOW_ABOVE_Q4"),
    (0x0200, "NO_CONSUMPTION"),
)

# 32-bit word: every bit counts; unnamed ones (8, 10, 11, ...) as ERROR_FLAGS_<hex>.
STATUS32 = BitLookup(INFO32_BITS, mask=0xFFFFFFFF, unknown="ERROR_FLAGS")

# Durations over the last 30 days, one 3-bit field per alarm (value 0 = never: empty text).
DURATIONS = (
    "",
    "1-8 hours",
    "9-24 hours",
    "2-3 days",
    "4-7 days",
    "8-14 days",
    "15-21 days",
    "22-31 days",
)

DURATION_FIELDS: tuple[tuple[str, IndexLookup], ...] = (
    ("time_dry", IndexLookup(0x0070, DURATIONS)),
    ("time_reversed", IndexLookup(0x0380, DURATIONS)),
    ("time_leaking", IndexLookup(0x1C00, DURATIONS)),
    ("time_bursting", IndexLookup(0xE000, DURATIONS)),
)

# alarm -> bit in the 16-bit word, bit in the 32-bit word (None: that word has no such bit)
ALARM_BITS: tuple[tuple[str, int | None, int | None], ...] = (
    ("dry", 0x0001, 0x0001),
    ("reverse", 0x0002, 0x0002),
    ("leak", 0x0004, 0x0004),
    ("burst", 0x0008, 0x0008),
    ("tamper", None, 0x0010),
)
