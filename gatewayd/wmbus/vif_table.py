"""EN 13757-3 value information: primary VIF, FB/FD/EF extension tables, and VIF ranges.

Protocol knowledge as data (the combinable VIFEs are in vife_table.py). Each table maps a code
(VIF or VIFE with the extension bit masked off) to an entry; the record parser only looks codes
up. VIF_RANGES names the ranges driver field tables match on.

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


DURATION_UNITS = ("s", "min", "h", "d")
_LONG_DURATION_UNITS = ("h", "d", "month", "year")

# Markers: VIF bytes that switch to another table, and the special primary codes.
EXT_FB, EXT_FD, EXT_EF = 0xFB, 0xFD, 0xEF
PLAIN_TEXT, ANY_VIF, MANUFACTURER = 0x7C, 0x7E, 0x7F


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
    **_durations(0x20, "on time", DURATION_UNITS),
    **_durations(0x24, "operating time", DURATION_UNITS),
    **_durations(0x70, "averaging duration", DURATION_UNITS),
    **_durations(0x74, "actuality duration", DURATION_UNITS),
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
    **_durations(0x24, "storage interval", (*DURATION_UNITS, "month", "year")),
    0x2A: VifEntry("operator specific data", "", 0, BYTES),  # ⚠
    0x2B: VifEntry("time point second", "s"),  # ⚠
    **_durations(0x2C, "duration since last readout", DURATION_UNITS),
    0x30: VifEntry("start of tariff", "", 0, D),
    0x31: VifEntry("duration of tariff", "min"),
    0x32: VifEntry("duration of tariff", "h"),
    0x33: VifEntry("duration of tariff", "d"),
    **_durations(0x34, "period of tariff", (*DURATION_UNITS, "month", "year")),
    0x3A: VifEntry("dimensionless", ""),
    0x3B: VifEntry("wireless m-bus data container", "", 0, BYTES),  # ⚠
    **_durations(0x3C, "period of nominal data transmissions", DURATION_UNITS),  # ⚠
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


# The VIF ranges driver field tables match on (RecordHeader.vif_range), named as wmbusmeters'
# driver files name them, in lower case. A range holds the metric codes of one quantity: FB 0x0C
# (Mcal), FB 0x20 (ft3) or FB 0x58 (degrees F) belong to none.
_RANGE_RENAMES = {
    "date time": "datetime",
    "fabrication number": "fabrication no",
    "enhanced identification": "enhanced id",
    "parameter set identification": "parameter set id",
    "duration since last readout": "duration since readout",
    "remaining battery life": "remaining battery",
}
_NO_RANGE = frozenset(("plain text unit", "any vif", "manufacturer specific"))
_FB_RANGES = frozenset(("energy", "volume", "mass", "relative humidity", "power"))
_FB_RANGE_UNITS = frozenset(("kwh", "mj", "m3", "kg", "%", "kw", "mj/h"))
_FD_RANGES = frozenset(
    ("access number", "medium", "manufacturer", "parameter set identification", "model version",
     "hardware version", "firmware version", "software version", "customer location", "customer",
     "password", "error flags", "digital output", "digital input", "duration since last readout",
     "dimensionless", "voltage", "current", "reset counter", "cumulation counter",
     "remaining battery life")
)  # fmt: skip


def _ranges() -> dict[int, str]:
    out = {
        code: e.quantity
        for code, e in PRIMARY.items()
        if e.quantity not in _NO_RANGE and not e.quantity.startswith("reserved")
    }
    for code, e in FB.items():
        if e.quantity in _FB_RANGES and e.unit in _FB_RANGE_UNITS:
            out[(EXT_FB << 8) | code] = e.quantity
    for code, e in FD.items():
        if e.quantity in _FD_RANGES:
            out[(EXT_FD << 8) | code] = e.quantity
    return {code: _RANGE_RENAMES.get(name, name) for code, name in out.items()}


# RecordHeader.vif code -> range name; codes not listed are in range "other".
VIF_RANGES: dict[int, str] = _ranges()
MANUFACTURER_RANGE = "manufacturer specific"  # VIF 7F / FF, whatever follows


def unknown_vif(code: int) -> VifEntry:
    """Entry for a code no table knows: a plain, unscaled number."""
    name = f"unknown vif 0x{code:02x}" if code < 0x100 else f"unknown vif 0x{code:04x}"
    return VifEntry(name, "")
