"""EN 13757-3 value information: primary VIF, FB/FD/EF extension tables, combinable VIFEs.

Protocol knowledge as data (PROTOCOL.md §4.3, §4.4). Each table maps a code (VIF or VIFE with
the extension bit masked off) to an entry; the record parser only looks codes up.

Units are normalised (RecordHeader.unit): Wh-family energy is given in "kwh", J-family energy in
"mj" (power J/h in "mj/h"), power in "kw", volume flow in "m3h" (m³/min and m³/s are converted with
a factor), mass in "kg". A value is raw × factor × 10**exponent. Entries marked ⚠ come from
EN 13757-3:2018 only (not seen in the public vectors).
"""

from __future__ import annotations

from typing import NamedTuple


class VifEntry(NamedTuple):
    """What a VIF code means. kind: "number", "date" (type chosen by data size), "id",
    "bits", "bytes", "text", "none"."""

    quantity: str
    unit: str
    exponent: int = 0
    kind: str = "number"
    factor: int = 1


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


_DURATION_UNITS = ("s", "min", "h", "d")
_LONG_DURATION_UNITS = ("h", "d", "month", "year")

# Markers: VIF bytes that switch to another table, and the special primary codes.
EXT_FB, EXT_FD, EXT_EF = 0xFB, 0xFD, 0xEF
PLAIN_TEXT, ANY_VIF, MANUFACTURER = 0x7C, 0x7E, 0x7F
COMBINABLE_EXTENSION, MANUFACTURER_VIFE = 0x7C, 0x7F


def _table(rows: list[tuple[int, int, str, str, int, str, int]]) -> dict[int, VifEntry]:
    """Expand (first, last, quantity, unit, exponent of first, kind, factor) rows.

    The exponent grows by one per code within a row (the "n" of the standard's tables).
    """
    out: dict[int, VifEntry] = {}
    for first, last, quantity, unit, exp0, kind, factor in rows:
        for code in range(first, last + 1):
            out[code] = VifEntry(quantity, unit, exp0 + code - first, kind, factor)
    return out


def _durations(first: int, quantity: str, units: tuple[str, ...]) -> dict[int, VifEntry]:
    return {first + i: VifEntry(quantity, unit) for i, unit in enumerate(units)}


N, D, ID, BITS, BYTES, NONE = "number", "date", "id", "bits", "bytes", "none"

PRIMARY: dict[int, VifEntry] = {
    **_table(
        [
            (0x00, 0x07, "energy", "kwh", -6, N, 1),  # Wh × 10^(n-3)
            (0x08, 0x0F, "energy", "mj", -6, N, 1),  # J × 10^n
            (0x10, 0x17, "volume", "m3", -6, N, 1),  # m³ × 10^(n-6); 0x13 = litre
            (0x18, 0x1F, "mass", "kg", -3, N, 1),
            (0x28, 0x2F, "power", "kw", -6, N, 1),  # W × 10^(n-3)
            (0x30, 0x37, "power", "mj/h", -6, N, 1),  # J/h × 10^n
            (0x38, 0x3F, "volume flow", "m3h", -6, N, 1),  # 0x3B = l/h
            (0x40, 0x47, "volume flow", "m3h", -7, N, 60),  # m³/min × 10^(n-7)
            (0x48, 0x4F, "volume flow", "m3h", -9, N, 3600),  # m³/s × 10^(n-9)
            (0x50, 0x57, "mass flow", "kg/h", -3, N, 1),
            (0x58, 0x5B, "flow temperature", "c", -3, N, 1),
            (0x5C, 0x5F, "return temperature", "c", -3, N, 1),
            (0x60, 0x63, "temperature difference", "k", -3, N, 1),
            (0x64, 0x67, "external temperature", "c", -3, N, 1),
            (0x68, 0x6B, "pressure", "bar", -3, N, 1),
        ]
    ),
    **_durations(0x20, "on time", _DURATION_UNITS),
    **_durations(0x24, "operating time", _DURATION_UNITS),
    **_durations(0x70, "averaging duration", _DURATION_UNITS),
    **_durations(0x74, "actuality duration", _DURATION_UNITS),
    0x6C: VifEntry("date", "", 0, D),  # type G
    0x6D: VifEntry("date time", "", 0, D),  # type F / I / J by size
    0x6E: VifEntry("hca", "hca", 0, N),
    0x6F: VifEntry("reserved vif 0x6f", "", 0, N),
    0x78: VifEntry("fabrication number", "", 0, ID),
    0x79: VifEntry("enhanced identification", "", 0, ID),
    0x7A: VifEntry("bus address", "", 0, N),
    0x7B: VifEntry("reserved vif 0x7b", "", 0, N),  # FB only with the extension bit
    0x7C: VifEntry("plain text unit", "", 0, N),  # unit text follows the VIF
    0x7D: VifEntry("reserved vif 0x7d", "", 0, N),  # FD only with the extension bit
    0x7E: VifEntry("any vif", "", 0, N),  # readout request (master to meter)
    0x7F: VifEntry("manufacturer specific", "", 0, BITS),
}

# FB: first extension table (EN 13757-3 "main VIFE-code extension table").
FB: dict[int, VifEntry] = {
    **_table(
        [
            (0x00, 0x01, "energy", "kwh", 2, N, 1),  # MWh × 10^(n-1)
            (0x02, 0x03, "reactive energy", "kvarh", 0, N, 1),  # ⚠
            (0x04, 0x07, "apparent energy", "kvah", 0, N, 1),  # ⚠
            (0x08, 0x09, "energy", "mj", 2, N, 1),  # GJ × 10^(n-1)
            (0x0C, 0x0F, "energy", "mcal", -1, N, 1),  # ⚠ MCal × 10^(nn-1)
            (0x10, 0x11, "volume", "m3", 2, N, 1),
            (0x14, 0x17, "reactive power", "kvar", -3, N, 1),  # ⚠
            (0x18, 0x19, "mass", "kg", 5, N, 1),  # t × 10^(n+2)
            (0x1A, 0x1B, "relative humidity", "%", -1, N, 1),
            (0x28, 0x29, "power", "kw", 2, N, 1),  # MW × 10^(n-1)
            (0x2C, 0x2F, "frequency", "hz", -3, N, 1),  # ⚠
            (0x30, 0x31, "power", "mj/h", 2, N, 1),  # GJ/h × 10^(n-1)
            (0x34, 0x37, "apparent power", "kva", -3, N, 1),  # ⚠
            (0x58, 0x5B, "flow temperature", "f", -3, N, 1),
            (0x5C, 0x5F, "return temperature", "f", -3, N, 1),
            (0x60, 0x63, "temperature difference", "f", -3, N, 1),
            (0x64, 0x67, "external temperature", "f", -3, N, 1),
            (0x70, 0x73, "cold/warm temperature limit", "f", -3, N, 1),
            (0x74, 0x77, "cold/warm temperature limit", "c", -3, N, 1),
            (0x78, 0x7F, "cumulative count max power", "kw", -6, N, 1),  # W × 10^(nnn-3)
        ]
    ),
    0x20: VifEntry("volume", "ft3", 0),
    0x21: VifEntry("volume", "ft3", -1),
    0x22: VifEntry("volume", "usgal", -1),
    0x23: VifEntry("volume", "usgal", 0),
    0x24: VifEntry("volume flow", "usgal/min", -3),
    0x25: VifEntry("volume flow", "usgal/min", 0),
    0x26: VifEntry("volume flow", "usgal/h", 0),
    0x2A: VifEntry("phase u-u", "deg", -1),  # ⚠
    0x2B: VifEntry("phase u-i", "deg", -1),  # ⚠
}

# FD: second extension table.
FD: dict[int, VifEntry] = {
    **_table(
        [
            (0x00, 0x03, "credit", "currency", -3, N, 1),
            (0x04, 0x07, "debit", "currency", -3, N, 1),
            (0x40, 0x4F, "voltage", "v", -9, N, 1),
            (0x50, 0x5F, "current", "a", -12, N, 1),
        ]
    ),
    0x08: VifEntry("access number", ""),
    0x09: VifEntry("medium", ""),
    0x0A: VifEntry("manufacturer", "", 0, ID),
    0x0B: VifEntry("parameter set identification", "", 0, ID),
    0x0C: VifEntry("model version", "", 0, ID),
    0x0D: VifEntry("hardware version", "", 0, ID),
    0x0E: VifEntry("firmware version", "", 0, ID),
    0x0F: VifEntry("software version", "", 0, ID),
    0x10: VifEntry("customer location", "", 0, ID),
    0x11: VifEntry("customer", "", 0, ID),
    0x12: VifEntry("access code user", "", 0, ID),
    0x13: VifEntry("access code operator", "", 0, ID),
    0x14: VifEntry("access code system operator", "", 0, ID),
    0x15: VifEntry("access code developer", "", 0, ID),
    0x16: VifEntry("password", "", 0, ID),
    0x17: VifEntry("error flags", "", 0, BITS),
    0x18: VifEntry("error mask", "", 0, BITS),
    0x19: VifEntry("security key", "", 0, BYTES),  # ⚠
    0x1A: VifEntry("digital output", "", 0, BITS),
    0x1B: VifEntry("digital input", "", 0, BITS),
    0x1C: VifEntry("baud rate", "baud"),
    0x1D: VifEntry("response delay time", "bittimes"),
    0x1E: VifEntry("retry", ""),
    0x1F: VifEntry("remote control", "", 0, BITS),  # ⚠
    0x20: VifEntry("first storage number", ""),
    0x21: VifEntry("last storage number", ""),
    0x22: VifEntry("size of storage block", ""),
    0x23: VifEntry("descriptor for tariff and subunit", "", 0, BITS),  # ⚠
    **_durations(0x24, "storage interval", (*_DURATION_UNITS, "month", "year")),
    0x2A: VifEntry("operator specific data", "", 0, BYTES),  # ⚠
    0x2B: VifEntry("time point second", "s"),  # ⚠
    **_durations(0x2C, "duration since last readout", _DURATION_UNITS),
    0x30: VifEntry("start of tariff", "", 0, D),
    0x31: VifEntry("duration of tariff", "min"),
    0x32: VifEntry("duration of tariff", "h"),
    0x33: VifEntry("duration of tariff", "d"),
    **_durations(0x34, "period of tariff", (*_DURATION_UNITS, "month", "year")),
    0x3A: VifEntry("dimensionless", ""),
    0x3B: VifEntry("wireless m-bus data container", "", 0, BYTES),  # ⚠
    **_durations(0x3C, "period of nominal data transmissions", _DURATION_UNITS),  # ⚠
    0x60: VifEntry("reset counter", ""),
    0x61: VifEntry("cumulation counter", ""),
    0x62: VifEntry("control signal", "", 0, BITS),
    0x63: VifEntry("day of week", ""),
    0x64: VifEntry("week number", ""),
    0x65: VifEntry("time point of day change", ""),
    0x66: VifEntry("state of parameter activation", "", 0, BITS),
    0x67: VifEntry("special supplier information", "", 0, BITS),
    **_durations(0x68, "duration since last cumulation", _LONG_DURATION_UNITS),
    **_durations(0x6C, "operating time battery", _LONG_DURATION_UNITS),
    0x70: VifEntry("date time of battery change", "", 0, D),
    0x71: VifEntry("rf level", "dbm"),
    0x72: VifEntry("daylight saving", "", 0, BYTES),  # ⚠
    0x73: VifEntry("listening window management", "", 0, BYTES),  # ⚠
    0x74: VifEntry("remaining battery life", "d"),
    0x75: VifEntry("meter stop count", ""),  # ⚠
    0x76: VifEntry("manufacturer protocol data container", "", 0, BYTES),  # ⚠
}

# EF: third extension table (EN 13757-3:2018). No entry has been confirmed from a public
# source or vector yet, so every EF code decodes as "unknown vif 0xefNN".
EF: dict[int, VifEntry] = {}

# Extension marker byte -> (table, prefix used in RecordHeader.vif and unknown names).
EXTENSIONS: dict[int, dict[int, VifEntry]] = {EXT_FB: FB, EXT_FD: FD, EXT_EF: EF}


def unknown_vif(code: int) -> VifEntry:
    """Entry for a code no table knows: a plain, unscaled number."""
    name = f"unknown vif 0x{code:02x}" if code < 0x100 else f"unknown vif 0x{code:04x}"
    return VifEntry(name, "")


def _vife_durations(first: int, name: str) -> dict[int, VifeEntry]:
    return {
        first + i: VifeEntry(name, unit=unit, exponent_set=0, kind=N)
        for i, unit in enumerate(_DURATION_UNITS)
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
