"""Vendor byte layouts read as ordinary records, so a driver's field table can match them.

Many meters pack the same quantities as a standard record would (a 16-bit temperature in
1/100 °C, a BCD volume in litres) into a fixed manufacturer layout. A Layout names, for each
slice of those bytes, the record header (DIF/VIF as on air) that would carry it; the slices
become Records, appended to the telegram's own, and a TableDriver names them like any other.
Fields that need arithmetic (a total made of two halves, a packed date) are computed by the
driver's `calc` from the records.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.mfct import CiDetect
from gatewayd.wmbus.records import Record, parse_records
from gatewayd.wmbus.telegram import Telegram

SKIP = ""  # a Layout header that reads nothing: the bytes are skipped


@dataclass(frozen=True, slots=True)
class Layout:
    """(header hex or SKIP, data byte count) in order. A layout longer than the data yields
    the records that fit."""

    items: tuple[tuple[str, int], ...]

    @property
    def size(self) -> int:
        return sum(n for _, n in self.items)

    def records(self, data: bytes, pos: int = 0) -> tuple[Record, ...]:
        parts: list[bytes] = []
        for hexhdr, n in self.items:
            if pos + n > len(data):
                break
            if hexhdr:
                parts.append(bytes.fromhex(hexhdr))
                parts.append(data[pos : pos + n])
            pos += n
        if not parts:
            return ()
        return parse_records(b"".join(parts), strict=False).records


Records = Callable[[Telegram], tuple[Record, ...]]
Calc = Callable[[Telegram, dict[bytes, Record], dict[str, object]], dict[str, object]]


def by_header(records: tuple[Record, ...]) -> dict[bytes, Record]:
    """Header bytes -> the first record with them."""
    out: dict[bytes, Record] = {}
    for r in records:
        out.setdefault(r.header.difvif, r)
    return out


def raw_uint(recs: dict[bytes, Record], hexhdr: str) -> int | None:
    """The data bytes of the record with this header as an unsigned integer, or None."""
    r = recs.get(bytes.fromhex(hexhdr))
    return None if r is None else int.from_bytes(r.raw, "little")


@dataclass(slots=True)  # not frozen: the Driver protocol's attributes are plain ones
class SynthDriver:
    """base names the telegram's records plus those `records` reads from the vendor layout;
    `calc` adds computed fields (it sees every record by header, and the named fields so
    far). Treat as immutable."""

    name: str
    base: TableDriver
    records: Records | None = None
    calc: Calc | None = None
    detect: tuple[Detect, ...] = ()
    aliases: tuple[str, ...] = ()
    ci_detect: tuple[CiDetect, ...] = field(default=())
    outputs: tuple[str, ...] = ()  # the names `calc` can add (for docs/meters.md)

    def fields(self, telegram: Telegram) -> dict[str, object]:
        return self.decode(telegram)[0]

    def alarms(self, telegram: Telegram) -> dict[str, bool] | None:
        return self.decode(telegram)[1]

    def decode(self, telegram: Telegram) -> tuple[dict[str, object], dict[str, bool] | None]:
        extra = self.records(telegram) if self.records is not None else ()
        if extra:
            telegram = dataclasses.replace(telegram, records=telegram.records + extra)
        out, alarms = self.base.decode(telegram)
        if self.calc is not None:
            out.update(self.calc(telegram, by_header(telegram.records), out))
        return out, alarms


def day_month_year(word: int) -> tuple[int, int, int]:
    """A 16-bit date as many vendors pack it: day bits 0-4, month 5-8, year - 2000 from 9."""
    return word & 0x1F, (word >> 5) & 0x0F, (word >> 9) & 0x7F


def iso_date(year: int, month: int, day: int) -> str | None:
    """YYYY-MM-DD, or None when month or day is out of range."""
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"
