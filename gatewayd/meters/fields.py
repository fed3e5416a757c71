"""Field tables: which record feeds which named field, and how its value is shown.

A driver is data: a tuple of FieldSpec (numbers, dates, raw counters), TextSpec (strings looked
up from bit fields, e.g. Kamstrup's time_dry) and StatusSpec (tokens merged into "status"). Each
spec carries a Match, the same criteria wmbusmeters' driver files use (function, VIF range,
storage, tariff, subunit, combinables) or an exact header key ("difvifkey").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gatewayd.meters.units import factor
from gatewayd.wmbus.records import Record, RecordHeader


@dataclass(frozen=True, slots=True)
class Match:
    """Criteria a record must meet. difvif (exact header bytes) overrides everything else.

    storage/tariff/subunit are inclusive ranges. combinables=() means "no combinable VIFE"
    (as in wmbusmeters, a record with e.g. a backward-flow VIFE does not match a plain field);
    None accepts any combinables. index: which of the records that match, in telegram order,
    feeds the field (wmbusmeters' index_nr; 1, the first, unless a meter repeats a record, e.g.
    a second date-time or a second volume).
    """

    vif: str | None = None  # a VIF range name (RecordHeader.vif_range); None: any
    function: str | None = "instantaneous"
    storage: tuple[int, int] = (0, 0)
    tariff: tuple[int, int] = (0, 0)
    subunit: tuple[int, int] = (0, 0)
    combinables: tuple[int, ...] | None = ()
    difvif: bytes | None = None
    index: int = 1

    def matches(self, h: RecordHeader) -> bool:
        if self.difvif is not None:
            return h.difvif == self.difvif
        return (
            (self.vif is None or h.vif_range == self.vif)
            and (self.function is None or h.function == self.function)
            and self.storage[0] <= h.storage <= self.storage[1]
            and self.tariff[0] <= h.tariff <= self.tariff[1]
            and self.subunit[0] <= h.subunit <= self.subunit[1]
            and (self.combinables is None or h.combinable_codes == self.combinables)
        )


def key(hexstr: str) -> Match:
    """A Match on the exact header bytes, e.g. key("02FF20")."""
    return Match(difvif=bytes.fromhex(hexstr))


def storage(n: int, vif: str, function: str | None = "instantaneous") -> Match:
    return Match(vif=vif, function=function, storage=(n, n))


# ---- how a matched record becomes a value ----


def _raw_uint(rec: Record) -> int:
    return int.from_bytes(rec.raw, "little")


def _date(rec: Record) -> object:
    v = rec.value
    return v[:10] if isinstance(v, str) else None


def _date_or_empty(rec: Record) -> object:
    """A date, or an empty string when it is invalid (all bits set), as wmbusmeters prints its
    library text date fields."""
    v = rec.value
    return v[:10] if isinstance(v, str) else ""


def _datetime(rec: Record) -> object:
    """Type F to the minute, type I (6 bytes) to the second, as wmbusmeters prints them."""
    v = rec.value
    return v[:19] if isinstance(v, str) else None


def _minutes(rec: Record) -> object:
    """A date-time to the minute (wmbusmeters' "datetime" display unit)."""
    v = rec.value
    return v[:16] if isinstance(v, str) else None


def _text_date(rec: Record) -> object:
    """A date (type G) or date-time (type F) as text, its digits shown even when they are no
    valid date (e.g. "2000-00-00" for zero bytes), as wmbusmeters prints a date text field."""
    v = rec.value
    if isinstance(v, str):
        return v[:16]
    raw = rec.raw
    if len(raw) not in (2, 4):
        return None
    d, t = (raw, b"") if len(raw) == 2 else (raw[2:], raw[:2])
    year = 2000 + (((d[0] >> 5) & 0x07) | ((d[1] >> 1) & 0x78))
    out = f"{year:04d}-{d[1] & 0x0F:02d}-{d[0] & 0x1F:02d}"
    return f"{out} {t[1] & 0x1F:02d}:{t[0] & 0x3F:02d}" if t else out


def _ascii_in_order(rec: Record) -> object:
    """A string record's bytes in the order sent (most meters send text last character first;
    a few, first character first)."""
    data = rec.raw[1:] if rec.header.size == -1 else rec.raw
    return data.decode("latin-1")


def _data_hex(rec: Record) -> object:
    """The data bytes (a variable-length record's without its length byte), most significant
    first, as hex digits."""
    data = rec.raw[1:] if rec.header.size == -1 else rec.raw
    return data[::-1].hex().upper()


def _text(rec: Record) -> object:
    v = rec.value
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


def _hex_msb_first(rec: Record) -> object:
    return rec.raw[::-1].hex().upper()


def _round6(rec: Record) -> object:
    """A dimensionless value as wmbusmeters prints it (6 decimals)."""
    v = rec.value
    return round(v, 6) if isinstance(v, int | float) and not isinstance(v, bool) else None


# kind -> renderer (number is handled separately because it needs the unit)
RENDER: dict[str, Callable[[Record], object]] = {
    "date": _date,
    "date_or_empty": _date_or_empty,
    "datetime": _datetime,
    "minutes": _minutes,
    "raw": _raw_uint,
    "text": _text,
    "textdate": _text_date,
    "ascii": _ascii_in_order,
    "datahex": _data_hex,
    "hex": _hex_msb_first,
    "round6": _round6,
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A named field. kind: "number" (value converted to `unit`), "date", "datetime" (to
    the second when the record has seconds), "minutes" (a date-time to the minute),
    "date_or_empty" (a date, "" when invalid),
    "raw" (the data bytes as an unsigned little-endian integer), "text", "hex" (the data
    bytes, most significant first), "round6" (the value rounded to 6 decimals),
    "textdate" (a date or date-time as text, shown even when it is no valid date), "ascii" (a
    string sent first character first), "datahex" (the data bytes, without a variable-length
    record's length byte, most significant first). `scale` multiplies a number (for vendor
    records whose unit the meter does not say: e.g. 0.01 for a frequency in 1/100 Hz).
    `name` may hold "{subunit}", filled with the record's subunit number."""

    name: str
    match: Match
    kind: str = "number"
    unit: str = ""
    scale: float = 1.0


@dataclass(frozen=True, slots=True)
class BitLookup:
    """Names for the set bits of a flag word; bits outside `mask` are ignored.

    Set bits with no name are reported as one token "<unknown>_<HEX>" (e.g. ERROR_FLAGS_800)
    when `unknown` is given, else dropped.
    """

    bits: tuple[tuple[int, str], ...]
    mask: int = 0xFFFFFFFF
    unknown: str | None = None

    def tokens(self, value: int) -> list[str]:
        value &= self.mask
        out = [name for bit, name in self.bits if value & bit]
        if self.unknown is not None:
            known = 0
            for bit, _ in self.bits:
                known |= bit
            rest = value & ~known
            if rest:
                out.append(f"{self.unknown}_{rest:X}")
        return out


@dataclass(frozen=True, slots=True)
class IndexLookup:
    """A small number under `mask` (shifted down) -> its text."""

    mask: int
    names: tuple[str, ...]

    def text(self, value: int) -> str:
        shift = (self.mask & -self.mask).bit_length() - 1
        idx = (value & self.mask) >> shift
        return self.names[idx] if idx < len(self.names) else f"UNKNOWN_{idx}"


@dataclass(frozen=True, slots=True)
class TextSpec:
    """A text field from a flag word: bit names joined by spaces (or `default` when none is
    set), or an index lookup."""

    name: str
    match: Match
    lookup: BitLookup | IndexLookup
    default: str = ""

    def render(self, value: int) -> str:
        if isinstance(self.lookup, IndexLookup):
            return self.lookup.text(value)
        toks = self.lookup.tokens(value)
        return " ".join(sorted(toks)) if toks else self.default


@dataclass(frozen=True, slots=True)
class StatusSpec:
    """A flag word whose set bits become tokens of the reading's "status" field."""

    match: Match
    lookup: BitLookup


def flag_value(rec: Record) -> int:
    """A flag word's value: the data bytes as an unsigned little-endian integer."""
    if rec.raw:
        return int.from_bytes(rec.raw, "little")
    v = rec.value
    return int(v) if isinstance(v, int | float) else 0


def number(rec: Record, unit: str) -> object:
    """The record's value converted to `unit`; None when absent or not convertible."""
    return scaled_number(rec.value, factor(unit, rec.header.unit) if unit else 1.0)


def scaled_number(v: object, f: float | None) -> object:
    """A value times the unit factor f (None: not convertible), as wmbusmeters prints it."""
    # exact type checks, no cast() (it would build an `int | float` per call): this runs for
    # every named field of every telegram
    if f is None:
        return None
    out: object
    if type(v) is int:
        if f == 1.0:
            return v
        out = v * f
    elif type(v) is float:
        out = v if f == 1.0 else v * f
    else:
        return None
    if type(out) is float:
        if out.is_integer() and abs(out) < 1e15:
            return int(out)
        return round(out, 6)  # as wmbusmeters prints numbers: 6 decimals
    return out
