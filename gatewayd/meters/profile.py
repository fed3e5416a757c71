"""Compact profiles (EN 13757-3 Annex F): a series of values in one variable-length record,
expanded into one record per value so a driver's table can name them.

The record's VIFE says the order: 0x13 "inverse compact profile" (newest value first, dates
stepping back from the base date), 0x1E (with register numbers) and 0x1F "compact profile"
(read from the last slot back, dates stepping forward). Its data: a spacing control byte (low
nibble: the size of each value, coded as a DIF; bits 4-5: the spacing unit; bits 6-7: 0
absolute values, 1 increments, 2 decrements, 3 signed differences), a spacing value (1-250
steps of the unit; 254: 1, 3 or 6 months for units 3, 2, 1), then the values. A slot of all
FF bytes holds no value and is skipped (with increments: the series ends). The base is the
record of the same storage number, tariff and subunit holding the same quantity, and its
date; the k-th value found gets storage number base + k. In an inverse profile of
increments the values are rebuilt back from the base value (older = younger - increment).
"""

from __future__ import annotations

import datetime

from gatewayd.wmbus.records import Record, parse_records

INVERSE, WITH_REGISTERS, FORWARD = 0x13, 0x1E, 0x1F
PROFILE_VIFES = (INVERSE, WITH_REGISTERS, FORWARD)
SLOT_BYTES = {0x1: 1, 0x2: 2, 0x3: 3, 0x4: 4, 0x6: 6, 0x7: 8, 0x9: 1, 0xA: 2, 0xB: 3, 0xC: 4,
              0xE: 6}  # fmt: skip
BCD_NIBBLES = frozenset((0x9, 0xA, 0xB, 0xC, 0xE))
MONTH_STEPS = {3: 1, 2: 3, 1: 6}  # spacing value 254: spacing unit -> months
DAY_UNIT = 3
MAX_SLOTS = 64
VALUE_DIF, DATE_DIF, DATE_VIF = 0x07, 0x02, 0x6C  # the expanded records: 64-bit int, type G


def _month_end(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _add_months(date: tuple[int, int, int], months: int) -> tuple[int, int, int]:
    y, m, d = date
    total = y * 12 + m - 1 + months
    ny, nm = divmod(total, 12)
    nm += 1
    nd = _month_end(ny, nm) if d == _month_end(y, m) else min(d, _month_end(ny, nm))
    return ny, nm, nd


def _add_days(date: tuple[int, int, int], days: int) -> tuple[int, int, int]:
    t = datetime.date(*date) + datetime.timedelta(days=days)
    return t.year, t.month, t.day


def _header(dif_size: int, storage: int, tariff: int, subunit: int, vif: int) -> bytes:
    """DIF (+ DIFEs) for storage/tariff/subunit, then the VIF."""
    out = bytearray([dif_size | (storage & 1) << 6])
    storage >>= 1
    while storage or tariff or subunit:
        out[-1] |= 0x80
        out.append((storage & 0x0F) | (tariff & 0x03) << 4 | (subunit & 0x01) << 6)
        storage, tariff, subunit = storage >> 4, tariff >> 2, subunit >> 1
    out.append(vif)
    return bytes(out)


def _bcd(data: bytes) -> int | None:
    n = 0
    for b in reversed(data):
        if b >> 4 > 9 or b & 0x0F > 9:
            return None
        n = n * 100 + (b >> 4) * 10 + (b & 0x0F)
    return n


def _raw_int(rec: Record) -> int | None:
    """A number record's integer before scaling (BCD or signed binary)."""
    if rec.header.data_code in BCD_NIBBLES:
        return _bcd(rec.raw)
    if rec.header.data_code in SLOT_BYTES:
        return int.from_bytes(rec.raw, "little", signed=True)
    return None


def _date_of(rec: Record) -> tuple[int, int, int] | None:
    v = rec.value
    if not isinstance(v, str) or len(v) < 10:
        return None
    return int(v[:4]), int(v[5:7]), int(v[8:10])


def expand(records: tuple[Record, ...]) -> tuple[Record, ...]:
    """The values of every compact profile among `records`, as records of their own."""
    out: list[Record] = []
    for rec in records:
        codes = rec.header.combinable_codes
        if not codes or codes[0] not in PROFILE_VIFES or len(rec.raw) < 4:
            continue
        out += _expand_one(rec, codes[0], records)
    return tuple(out)


def _expand_one(rec: Record, kind: int, records: tuple[Record, ...]) -> list[Record]:
    h = rec.header
    payload = rec.raw[1:]  # after the LVAR length byte
    control, spacing = payload[0], payload[1]
    nibble = control & 0x0F
    size = SLOT_BYTES.get(nibble)
    vif = h.vif
    if size is None or (len(payload) - 2) % size or vif > 0x7F:
        return []
    mode, unit = control >> 6, (control >> 4) & 0x03
    if spacing == 254 and unit in MONTH_STEPS:
        step: tuple[str, int] | None = ("months", MONTH_STEPS[unit])
    elif 1 <= spacing <= 250 and unit == DAY_UNIT:
        step = ("days", spacing)
    else:
        step = None  # seconds/minutes/hours or not spaced in time: values without dates
    same = [
        r
        for r in records
        if r is not rec
        and r.header.storage == h.storage
        and r.header.tariff == h.tariff
        and r.header.subunit == h.subunit
    ]
    base = next((r for r in same if r.header.vif == vif and r.header.size == len(r.raw)), None)
    base_value = None if base is None else _raw_int(base)
    base_date = next((d for r in same if r.header.vif == DATE_VIF and (d := _date_of(r))), None)
    inverse = kind != FORWARD
    signed = nibble not in BCD_NIBBLES and mode in (0, 3)
    slots = [payload[i : i + size] for i in range(2, len(payload), size)][:MAX_SLOTS]
    if not inverse:
        slots.reverse()
    running = base_value
    date = base_date
    parts: list[bytes] = []
    k = 0  # values emitted: an empty slot takes no storage number and no date step
    for slot in slots:
        if slot == b"\xff" * size:
            if mode:
                break
            continue
        raw = _bcd(slot) if nibble in BCD_NIBBLES else int.from_bytes(slot, "little", signed=signed)
        if raw is None:
            break
        value = raw
        if inverse and mode and running is not None:
            value = running + raw if mode == 2 else running - raw
            running = value
        if not -(2**63) <= value < 2**63:
            break
        k += 1
        storage = h.storage + k
        parts.append(_header(VALUE_DIF, storage, h.tariff, h.subunit, vif))
        parts.append(int(value).to_bytes(8, "little", signed=True))
        if date is not None and step is not None:
            sign = -1 if inverse else 1
            date = (
                _add_months(date, sign * step[1])
                if step[0] == "months"
                else _add_days(date, sign * step[1])
            )
            year, month, day = date
            if 2000 <= year <= 2127:
                yy = year - 2000
                parts.append(_header(DATE_DIF, storage, h.tariff, h.subunit, DATE_VIF))
                parts.append(bytes([day | (yy & 0x07) << 5, month | (yy & 0x78) << 1]))
    return list(parse_records(b"".join(parts), strict=False).records) if parts else []
