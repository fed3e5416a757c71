"""EN 13757-3 combinable VIFEs: what a VIFE after the VIF (or its extension code) changes.

Protocol knowledge as data, the companion of vif_table.py. Entries marked ⚠ come from
EN 13757-3:2018 only (not seen in the public vectors).
"""

from __future__ import annotations

from typing import NamedTuple

from gatewayd.wmbus.vif_table import DURATION_UNITS, D, N

COMBINABLE_EXTENSION, MANUFACTURER_VIFE = 0x7C, 0x7F


class VifeEntry(NamedTuple):
    """What a combinable VIFE does to the record it follows.

    exponent: added to the exponent (multiplicative corrections). status: a data-status word
    ("no data", "overflow", ...) for the header. unit/exponent_set/kind, when given, replace the
    primary VIF's unit, exponent and kind (the value is then e.g. a duration, a count or a date).
    unit_suffix: appended to the unit ("per hour" -> "/h").
    """

    name: str
    exponent: int = 0
    status: str = ""
    unit: str | None = None
    exponent_set: int | None = None
    kind: str | None = None
    unit_suffix: str = ""


def _vife_durations(first: int, name: str) -> dict[int, VifeEntry]:
    return {
        first + i: VifeEntry(name, unit=unit, exponent_set=0, kind=N)
        for i, unit in enumerate(DURATION_UNITS)
    }


_ERROR_CODES = {
    0x00: "none",
    0x01: "too many difes",
    0x02: "storage number not implemented",
    0x03: "unit number not implemented",
    0x04: "tariff number not implemented",
    0x05: "function not implemented",
    0x06: "data class not implemented",
    0x07: "data size not implemented",
    0x0B: "too many vifes",
    0x0C: "illegal vif group",
    0x0D: "illegal vif exponent",
    0x0E: "vif/dif mismatch",
    0x0F: "unimplemented action",
}

_PER = {
    0x20: ("per second", "/s"),
    0x21: ("per minute", "/min"),
    0x22: ("per hour", "/h"),
    0x23: ("per day", "/d"),
    0x24: ("per week", "/week"),
    0x25: ("per month", "/month"),
    0x26: ("per year", "/year"),
    0x27: ("per revolution", "/rev"),
    0x2C: ("per litre", "/l"),
    0x2D: ("per m3", "/m3"),
    0x2E: ("per kg", "/kg"),
    0x2F: ("per k", "/k"),
    0x30: ("per kwh", "/kwh"),
    0x31: ("per gj", "/gj"),
    0x32: ("per kw", "/kw"),
    0x33: ("per k*l", "/(k*l)"),
    0x34: ("per v", "/v"),
    0x35: ("per a", "/a"),
    0x36: ("multiplied by s", "*s"),
    0x37: ("multiplied by s/v", "*s/v"),
    0x38: ("multiplied by s/a", "*s/a"),
}

_LIMIT_DATES = {  # E100 uf1b: u upper, f last, b end
    0x40 | (u << 3) | (f << 2) | 0x02 | b: VifeEntry(
        f"date of {('begin', 'end')[b]} of {('first', 'last')[f]} "
        f"{('lower', 'upper')[u]} limit exceed",
        unit="",
        exponent_set=0,
        kind=D,
    )
    for u in (0, 1)
    for f in (0, 1)
    for b in (0, 1)
}

_D_DATES = {  # E110 1f1b: date of begin/end of first/last D
    0x68 | (f << 2) | 0x02 | b: VifeEntry(
        f"date of {('begin', 'end')[b]} of {('first', 'last')[f]} d",
        unit="",
        exponent_set=0,
        kind=D,
    )
    for f in (0, 1)
    for b in (0, 1)
}

# Combinable (orthogonal) VIFEs after a primary VIF or after the code of an extension table.
COMBINABLE: dict[int, VifeEntry] = {
    **{code: VifeEntry(f"error: {name}", status=name) for code, name in _ERROR_CODES.items()},
    0x12: VifeEntry("average"),
    0x13: VifeEntry("inverse compact profile"),
    0x14: VifeEntry("relative deviation"),
    0x15: VifeEntry("no data", status="no data"),
    0x16: VifeEntry("overflow", status="overflow"),
    0x17: VifeEntry("underflow", status="underflow"),
    0x18: VifeEntry("data error", status="data error"),
    0x1C: VifeEntry("premature end of record", status="premature end of record"),
    0x1D: VifeEntry("standard conform data content"),  # ⚠
    0x1E: VifeEntry("compact profile with register numbers"),
    0x1F: VifeEntry("compact profile"),
    **{code: VifeEntry(name, unit_suffix=suffix) for code, (name, suffix) in _PER.items()},
    0x28: VifeEntry("increment per input pulse channel 0"),
    0x29: VifeEntry("increment per input pulse channel 1"),
    0x2A: VifeEntry("increment per output pulse channel 0"),
    0x2B: VifeEntry("increment per output pulse channel 1"),
    0x39: VifeEntry("start date time of", unit="", exponent_set=0, kind=D),
    0x3A: VifeEntry("uncorrected"),
    0x3B: VifeEntry("forward flow"),
    0x3C: VifeEntry("backward flow"),
    0x3D: VifeEntry("non-metric unit system"),  # ⚠
    0x3E: VifeEntry("at base conditions"),
    0x3F: VifeEntry("obis declaration"),  # ⚠
    0x40: VifeEntry("lower limit"),
    0x48: VifeEntry("upper limit"),
    0x41: VifeEntry("lower limit exceeds", unit="", exponent_set=0, kind=N),
    0x49: VifeEntry("upper limit exceeds", unit="", exponent_set=0, kind=N),
    **_LIMIT_DATES,
    **_vife_durations(0x50, "duration of first lower limit exceed"),
    **_vife_durations(0x54, "duration of last lower limit exceed"),
    **_vife_durations(0x58, "duration of first upper limit exceed"),
    **_vife_durations(0x5C, "duration of last upper limit exceed"),
    **_vife_durations(0x60, "duration of first d"),
    **_vife_durations(0x64, "duration of last d"),
    **_D_DATES,
    **{0x70 + i: VifeEntry(f"correction 1e{i - 6}", exponent=i - 6) for i in range(8)},
    **{0x78 + i: VifeEntry(f"additive correction 1e{i - 3}") for i in range(4)},
    0x7D: VifeEntry("correction 1e3", exponent=3),
    0x7E: VifeEntry("future value"),
}

# After combinable VIFE 0x7C (extended combinable), the next VIFE selects from this table. ⚠
COMBINABLE_EXTENDED: dict[int, VifeEntry] = {
    0x01: VifeEntry("phase l1"),
    0x02: VifeEntry("phase l2"),
    0x03: VifeEntry("phase l3"),
    0x04: VifeEntry("neutral"),
    0x05: VifeEntry("phase l1-l2"),
    0x06: VifeEntry("phase l2-l3"),
    0x07: VifeEntry("phase l3-l1"),
    0x08: VifeEntry("quadrant q1"),
    0x09: VifeEntry("quadrant q2"),
    0x0A: VifeEntry("quadrant q3"),
    0x0B: VifeEntry("quadrant q4"),
    0x0C: VifeEntry("delta import-export"),
    0x10: VifeEntry("absolute accumulation"),
}


def unknown_vife(code: int) -> VifeEntry:
    return VifeEntry(f"unknown vife 0x{code:02x}")


def extended_vife(code: int) -> VifeEntry:
    return COMBINABLE_EXTENDED.get(code) or VifeEntry(f"extended vife 0x{code:02x}")


def manufacturer_vife(code: int) -> VifeEntry:
    """A VIFE whose meaning the manufacturer defines (after VIF 7F/FF or VIFE 7F)."""
    return VifeEntry(f"manufacturer 0x{code:02x}")
