"""EN 13757-3 date and time data types, as ISO-like strings.

Type G (2 bytes) "YYYY-MM-DD", F (4 bytes) "YYYY-MM-DD HH:MM", I (6 bytes)
"YYYY-MM-DD HH:MM:SS", J (3 bytes) "HH:MM:SS". Invalid values (the invalid bit, all 0xFF,
a day or month of 0, fields out of range) give None; the raw bytes stay in Record.raw.

Century: the year is always 2000 + yy (0..127). This is what wmbusmeters does and what the
shared vectors expect; the hundred-year bits of type F are ignored.
"""

from __future__ import annotations

from collections.abc import Callable


def _year(day_byte: int, month_byte: int) -> int:
    return 2000 + (((day_byte >> 5) & 0x07) | ((month_byte >> 1) & 0x78))


def _valid_date(day: int, month: int) -> bool:
    return 1 <= day <= 31 and 1 <= month <= 12


def date_g(data: bytes) -> str | None:
    """Type G: day = b0 & 0x1F, month = b1 & 0x0F, year bits split over both bytes."""
    b0, b1 = data[0], data[1]
    day, month = b0 & 0x1F, b1 & 0x0F
    if (b0 == 0xFF and b1 == 0xFF) or not _valid_date(day, month):
        return None
    return f"{_year(b0, b1):04d}-{month:02d}-{day:02d}"


def datetime_f(data: bytes) -> str | None:
    """Type F: minute (bit 7 = invalid), hour, then a type G date in bytes 2-3."""
    b0, b1, b2, b3 = data[0], data[1], data[2], data[3]
    minute, hour, day, month = b0 & 0x3F, b1 & 0x1F, b2 & 0x1F, b3 & 0x0F
    if b0 & 0x80 or minute > 59 or hour > 23 or not _valid_date(day, month):
        return None
    return f"{_year(b2, b3):04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}"


def datetime_i(data: bytes) -> str | None:
    """Type I: second, minute, hour, then a type G date in bytes 3-4; byte 5 is ignored."""
    b0, b1, b2, b3, b4 = data[0], data[1], data[2], data[3], data[4]
    second, minute, hour = b0 & 0x3F, b1 & 0x3F, b2 & 0x1F
    day, month = b3 & 0x1F, b4 & 0x0F
    if b1 & 0x80 or second > 59 or minute > 59 or hour > 23 or not _valid_date(day, month):
        return None
    return f"{_year(b3, b4):04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"


def time_j(data: bytes) -> str | None:
    """Type J: second, minute, hour."""
    second, minute, hour = data[0] & 0x3F, data[1] & 0x3F, data[2] & 0x1F
    if data[:3] == b"\xff\xff\xff" or second > 59 or minute > 59 or hour > 23:
        return None
    return f"{hour:02d}:{minute:02d}:{second:02d}"


# Data length -> (RecordHeader.kind, reader). Date-like VIFs pick their type by length.
BY_SIZE: dict[int, tuple[str, Callable[[bytes], str | None]]] = {
    2: ("date", date_g),
    3: ("time", time_j),
    4: ("datetime", datetime_f),
    6: ("datetime", datetime_i),
}
