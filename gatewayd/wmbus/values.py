"""Value readers for EN 13757-3 data fields: integers, BCD, reals, dates, LVAR.

A reader is chosen once per record header (make_reader) and then called per record with the
data bytes. Scaling is exact: a negative exponent divides by a power of ten (6408 / 10**3 is
6.408), a non-negative one multiplies ints and keeps them ints.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable

from gatewayd.wmbus.datetimes import BY_SIZE
from gatewayd.wmbus.errors import FrameError

Value = int | float | str | None
Reader = Callable[[bytes], Value]
Scaler = Callable[[int | float], int | float]

INT_CODES = frozenset((1, 2, 3, 4, 6, 7))
REAL_CODE = 5
DATE_KINDS = frozenset(("date", "datetime", "time"))


def none(data: bytes) -> Value:
    return None


def unsigned(data: bytes) -> Value:
    return int.from_bytes(data, "little")


def signed(data: bytes) -> Value:
    return int.from_bytes(data, "little", signed=True)


def hex_reversed(data: bytes) -> Value:
    """Identification numbers: the digits as printed on the meter, most significant first."""
    return data[::-1].hex().upper()


def hex_bytes(data: bytes) -> Value:
    return data.hex().upper()


def bcd(data: bytes) -> int | None:
    """BCD digits, least significant byte first; high nibble 0xF = negative; A-E = invalid."""
    s = data[::-1].hex()
    if s.isdigit():
        return int(s)
    if s[:1] == "f" and s[1:].isdigit():
        return -int(s[1:])
    return None


def real32(data: bytes) -> float | None:
    v: float = struct.unpack("<f", data)[0]
    return v if math.isfinite(v) else None


def scaler(exponent: int, factor: int) -> Scaler | None:
    """raw -> raw * factor * 10**exponent, or None when that is the identity."""
    if exponent >= 0:
        mult = factor * 10**exponent
        return None if mult == 1 else (lambda v: v * mult)
    div = 10**-exponent
    if factor == 1:
        return lambda v: v / div
    return lambda v: v * factor / div


def make_reader(data_code: int, size: int, kind: str, exponent: int, factor: int) -> Reader:
    """The reader for fixed-size data of one header (size >= 0)."""
    if size <= 0:
        return none
    if kind in DATE_KINDS:
        return BY_SIZE[size][1]
    if kind == "id" and data_code != REAL_CODE:
        return hex_reversed
    if kind == "bytes":
        return hex_bytes
    if kind in ("bits", "id") and data_code in INT_CODES:
        return unsigned
    scale = scaler(exponent, factor) if kind == "number" else None
    if data_code in INT_CODES:
        if scale is None:
            return signed
        return lambda d: scale(int.from_bytes(d, "little", signed=True))
    base: Callable[[bytes], int | float | None] = real32 if data_code == REAL_CODE else bcd
    if scale is None:
        return base

    def scaled(data: bytes) -> Value:
        v = base(data)
        return None if v is None else scale(v)

    return scaled


# LVAR byte -> (mode, data length): t text, b binary, + / - BCD
LVAR: dict[int, tuple[str, int]] = {
    **{lv: ("t", lv) for lv in range(0xC0)},
    **{lv: ("+", lv - 0xC0) for lv in range(0xC0, 0xCA)},
    **{lv: ("-", lv - 0xD0) for lv in range(0xD0, 0xDA)},
    **{lv: ("b", lv - 0xE0) for lv in range(0xE0, 0xF0)},
    **{lv: ("b", 4 * (lv - 0xEC)) for lv in range(0xF0, 0xF5)},
    0xF5: ("b", 6),
    0xF6: ("b", 8),
}


def read_lvar(
    buf: bytes, pos: int, kind: str, scale: tuple[int, int], meter_id: str | None
) -> tuple[Value, int]:
    """Read the variable-length data field at pos (its LVAR byte); return (value, end).

    scale: (exponent, factor) of the header.

    Text (LVAR < 0xC0) is reversed into a str; BCD is a number; binary is a signed number for
    kind "number"; kind "id" gives the hex digits of the reversed bytes. Anything else
    (manufacturer-specific fields, kinds "bits"/"bytes") is a hex string of the bytes as on air.
    """
    if pos >= len(buf):
        raise FrameError(f"LVAR byte expected at offset {pos}, data ends", meter_id)
    spec = LVAR.get(buf[pos])
    if spec is None:
        raise FrameError(f"reserved LVAR {buf[pos]:02X} at offset {pos}", meter_id)
    mode, length = spec
    end = pos + 1 + length
    if end > len(buf):
        raise FrameError(
            f"variable-length data at offset {pos} needs {length} bytes, {len(buf) - pos - 1} left",
            meter_id,
        )
    data = buf[pos + 1 : end]
    value: Value
    if mode == "t" and kind not in ("bits", "bytes"):
        value = data[::-1].decode("latin-1")
    elif kind == "id":
        value = hex_reversed(data)
    elif mode == "t" or (mode == "b" and kind != "number"):
        value = hex_bytes(data)
    elif mode == "b":
        value = int.from_bytes(data, "little", signed=True)
    else:
        digits = data[::-1].hex()
        value = int(digits) * (-1 if mode == "-" else 1) if digits.isdigit() else None
    if kind == "number" and isinstance(value, int):
        scaled = scaler(*scale)
        value = value if scaled is None else scaled(value)
    return value, end
