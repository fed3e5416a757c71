"""What a record header *means* for field matching: the VIF range and the combinable VIFEs.

Drivers match records the way wmbusmeters' driver files do: by measurement function, VIF range
("Volume", "AnyEnergyVIF", "FlowTemperature", ...), storage, tariff, subunit and combinables.
The range comes from the header bytes alone (EN 13757-3 VIF tables, PROTOCOL.md §4.3), so the
drivers do not depend on how the record parser names quantities. Results are cached per header
byte string: a meter sends the same few headers over and over.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

# Primary VIF (code = VIF & 0x7F): inclusive ranges -> range name.
_PRIMARY: tuple[tuple[int, int, str], ...] = (
    (0x00, 0x0F, "energy"),  # Wh (00-07) and J (08-0F)
    (0x10, 0x17, "volume"),
    (0x18, 0x1F, "mass"),
    (0x20, 0x23, "on time"),
    (0x24, 0x27, "operating time"),
    (0x28, 0x37, "power"),  # W (28-2F) and J/h (30-37)
    (0x38, 0x4F, "volume flow"),  # m3/h, m3/min, m3/s
    (0x50, 0x57, "mass flow"),
    (0x58, 0x5B, "flow temperature"),
    (0x5C, 0x5F, "return temperature"),
    (0x60, 0x63, "temperature difference"),
    (0x64, 0x67, "external temperature"),
    (0x68, 0x6B, "pressure"),
    (0x6C, 0x6C, "date"),
    (0x6D, 0x6D, "datetime"),
    (0x6E, 0x6E, "hca"),
    (0x70, 0x73, "averaging duration"),
    (0x74, 0x77, "actuality duration"),
    (0x78, 0x78, "fabrication no"),
    (0x79, 0x79, "enhanced id"),
    (0x7A, 0x7A, "bus address"),
)

# First extension table (after VIF 0xFB), code = VIFE & 0x7F.
_FB: tuple[tuple[int, int, str], ...] = (
    (0x00, 0x01, "energy"),  # MWh
    (0x08, 0x09, "energy"),  # GJ
    (0x10, 0x11, "volume"),
    (0x18, 0x19, "mass"),
    (0x1A, 0x1B, "relative humidity"),
    (0x28, 0x29, "power"),  # MW
    (0x30, 0x31, "power"),  # GJ/h
)

# Second extension table (after VIF 0xFD), code = VIFE & 0x7F.
_FD: tuple[tuple[int, int, str], ...] = (
    (0x08, 0x08, "access number"),
    (0x09, 0x09, "medium"),
    (0x0A, 0x0A, "manufacturer"),
    (0x0B, 0x0B, "parameter set id"),
    (0x0C, 0x0C, "model version"),
    (0x0D, 0x0D, "hardware version"),
    (0x0E, 0x0E, "firmware version"),
    (0x0F, 0x0F, "software version"),
    (0x10, 0x10, "customer location"),
    (0x11, 0x11, "customer"),
    (0x16, 0x16, "password"),
    (0x17, 0x17, "error flags"),
    (0x1A, 0x1A, "digital output"),
    (0x1B, 0x1B, "digital input"),
    (0x2C, 0x2F, "duration since readout"),
    (0x3A, 0x3A, "dimensionless"),
    (0x40, 0x4F, "voltage"),
    (0x50, 0x5F, "current"),
    (0x60, 0x60, "reset counter"),
    (0x61, 0x61, "cumulation counter"),
    (0x74, 0x74, "remaining battery"),
)

# Combinable VIFE codes (mask 0x7F) drivers refer to by name.
COMBINABLE_NAMES: dict[int, str] = {
    0x3A: "uncorrected",
    0x3B: "forward flow",
    0x3C: "backward flow",
    0x3E: "base conditions",
    0x15: "no data",
    0x18: "data error",
    0x7E: "future value",
}


def _lookup(table: tuple[tuple[int, int, str], ...], code: int) -> str:
    for lo, hi, name in table:
        if lo <= code <= hi:
            return name
    return "other"


@dataclass(frozen=True, slots=True)
class HeaderInfo:
    """The parts of a header that field matching needs.

    vif_range: range name (see the tables above), "manufacturer specific" for VIF 7F/FF, or
    "other". mfct_vife: for VIF 7F/FF, the manufacturer-defined byte that follows it.
    combinables: the combinable VIFE codes after the VIF (masked with 0x7F); a manufacturer VIFE
    (0x7F) is given as 0x7F followed by 0x100 | its manufacturer byte.
    """

    vif_range: str
    mfct_vife: int | None
    combinables: tuple[int, ...]


@lru_cache(maxsize=4096)
def header_info(difvif: bytes) -> HeaderInfo:
    """Classify the header bytes (DIF, DIFEs, VIF, VIFEs) of one record."""
    i = 0
    n = len(difvif)
    while i < n and difvif[i] & 0x80:  # DIF and DIFEs
        i += 1
    i += 1
    if i >= n:
        return HeaderInfo("none", None, ())
    vif = difvif[i]
    code = vif & 0x7F
    i += 1
    mfct: int | None = None
    if code == 0x7B and i < n:  # FB: first extension table
        rng = _lookup(_FB, difvif[i] & 0x7F)
        more = difvif[i] & 0x80
        i += 1
    elif code == 0x7D and i < n:  # FD: second extension table
        rng = _lookup(_FD, difvif[i] & 0x7F)
        more = difvif[i] & 0x80
        i += 1
    elif code == 0x7F:  # manufacturer specific VIF: the next byte is the manufacturer's code
        rng = "manufacturer specific"
        more = vif & 0x80
        if more and i < n:
            mfct = difvif[i] & 0x7F
            more = difvif[i] & 0x80
            i += 1
    else:
        rng = _lookup(_PRIMARY, code)
        more = vif & 0x80
    combos: list[int] = []
    while more and i < n:
        c = difvif[i] & 0x7F
        more = difvif[i] & 0x80
        i += 1
        combos.append(c)
        if c == 0x7F and more and i < n:  # manufacturer-specific VIFE follows
            combos.append(0x100 | (difvif[i] & 0x7F))
            more = difvif[i] & 0x80
            i += 1
    return HeaderInfo(rng, mfct, tuple(combos))
