"""Every data code, scaling, corrections, dates and identification numbers (EN 13757-3).

Expected numbers are computed independently here (struct.pack, int arithmetic), not taken
from the parser's output.
"""

from __future__ import annotations

import struct

import pytest

from gatewayd.wmbus.errors import FrameError
from gatewayd.wmbus.records import RecordHeader, decode_value, parse_header, parse_records
from gatewayd.wmbus.values import Value


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def one(apl: bytes) -> tuple[Value, RecordHeader]:
    (record,) = parse_records(apl).records
    assert record.header.difvif + record.raw == apl
    return record.value, record.header


INT_CODES = {1: 1, 2: 2, 3: 3, 4: 4, 6: 6, 7: 8}


INT_CASES = [
    (code, size, raw)
    for code, size in INT_CODES.items()
    for raw in (0, 1, -1, 127, -128, 6408, -6408, (1 << (8 * size - 1)) - 1, -(1 << (8 * size - 1)))
    if -(1 << (8 * size - 1)) <= raw < 1 << (8 * size - 1)
]


@pytest.mark.parametrize(("code", "size", "raw"), INT_CASES)
def test_signed_integers_every_size(code: int, size: int, raw: int) -> None:
    data = raw.to_bytes(size, "little", signed=True)
    value, _ = one(bytes([code, 0x16]) + data)  # VIF 0x16: m3 x 1 -> int
    assert value == raw and isinstance(value, int)
    value, _ = one(bytes([code, 0x13]) + data)  # litres -> m3
    assert value == raw / 1000


def test_litres_to_m3_has_no_float_noise() -> None:
    value, _ = one(h("0413 08190000"))
    assert value == 6.408 and repr(value) == "6.408"
    value, _ = one(h("0413 29000000"))  # 41 l
    assert repr(value) == "0.041"


def test_unsigned_bit_fields_and_manufacturer_ints() -> None:
    assert one(h("02FD17 FFFF"))[0] == 0xFFFF
    assert one(h("04FD17 00000080"))[0] == 0x80000000
    assert one(h("01FF20 F0"))[0] == 0xF0


@pytest.mark.parametrize(
    ("apl", "expected"),
    [
        ("0913 42", 42 / 1000),  # 2 digits
        ("0A16 3412", 1234),  # 4 digits, m3 x 1
        ("0B16 563412", 123456),
        ("0C16 78563412", 12345678),
        ("0E16 121110090807", 70809101112),  # 12 digits
        ("0A16 34F2", -234),  # top nibble F: negative
        ("0916 F5", -5),
        ("0A16 3A12", None),  # hex digit A: invalid
        ("0A16 34B2", None),
        ("0A16 FFFF", None),
        ("0C14 27048502", 28504.27),  # PROTOCOL O1
    ],
)
def test_bcd(apl: str, expected: float | None) -> None:
    assert one(h(apl))[0] == expected


def test_real32() -> None:
    value, _ = one(bytes([0x05, 0x16]) + struct.pack("<f", 1.5))
    assert value == 1.5
    value, _ = one(bytes([0x05, 0x13]) + struct.pack("<f", 1500.0))
    assert value == 1.5
    value, _ = one(bytes([0x05, 0x16]) + struct.pack("<f", float("nan")))
    assert value is None


def test_no_data_and_selection_codes() -> None:
    value, header = one(h("0013"))
    assert value is None and header.kind == "none" and header.size == 0
    value, header = one(h("0813"))
    assert value is None and header.size == 0


@pytest.mark.parametrize(
    ("apl", "expected"),
    [
        ("0D13 C2 3412", 1.234),  # positive BCD, 4 digits, litres
        ("0D13 D2 3412", -1.234),  # negative BCD
        ("0D16 E3 010203", 0x030201),  # 3 binary bytes
        ("0D16 F0" + "01" + "00" * 15, 1),  # 4 * (0xF0 - 0xEC) = 16 bytes
        ("0D16 F4" + "FF" * 32, -1),  # 4 * (0xF4 - 0xEC) = 32 bytes
    ],
)
def test_lvar_numbers(apl: str, expected: float) -> None:
    assert one(h(apl))[0] == expected


def test_lvar_binary_48_64_bits_and_text() -> None:
    assert one(h("0D16 F5") + (2**40).to_bytes(6, "little"))[0] == 2**40
    assert one(h("0D16 F6") + (-5).to_bytes(8, "little", signed=True))[0] == -5
    value, _ = one(h("0DFD11 0A 383731303134423032 41"))  # reversed ASCII
    assert value == "A20B410178"
    assert one(h("0D16 00"))[0] == ""


def test_multiplicative_and_additive_corrections() -> None:
    value, header = one(h("0493 71 4E61BC00"))  # 0x00BC614E = 12345678; 10^-3 * 10^(1-6)
    assert value == 12345678 / 10**8 and header.exponent == -8
    value, header = one(h("0493 7D 08190000"))  # litres x 1000 = m3 x 1
    assert value == 6408 and isinstance(value, int)
    value, header = one(h("0493 78 08190000"))  # additive: recorded, value unchanged
    assert value == 6.408 and header.combinables == ("additive correction 1e-3",)


def test_status_vifes_keep_the_value() -> None:
    value, header = one(h("0293 15 0500"))
    assert value == 0.005 and header.status == "no data"
    assert one(h("0293 18 0500"))[1].status == "data error"
    assert one(h("0293 3C 0500"))[1].combinables == ("backward flow",)


def test_unknown_codes_still_decode() -> None:
    value, header = one(h("02EF05 0A00"))
    assert (value, header.quantity, header.vif) == (10, "unknown vif 0xef05", 0xEF05)
    value, header = one(h("02FD7A 0A00"))
    assert (value, header.quantity) == (10, "unknown vif 0xfd7a")
    value, header = one(h("0293 10 0A00"))
    assert value == 0.01 and header.combinables == ("unknown vife 0x10",)


def test_plain_text_vif() -> None:
    value, header = one(h("027C 03 682F6C 0A00"))  # "h/l" on air -> "l/h"
    assert (value, header.unit, header.quantity) == (10, "l/h", "plain text unit")
    value, header = one(h("02FC 22 03 682F6C 0A00"))  # VIFE "per hour" then the text
    assert header.unit == "l/h" and header.combinables == ("per hour",)


@pytest.mark.parametrize(
    ("apl", "expected", "kind"),
    [
        ("026C 812A", "2020-10-01", "date"),  # PROTOCOL §4.5 G
        ("026C FFFF", None, "date"),
        ("026C 002A", None, "date"),  # day 0
        ("046D 32371F15", "2008-05-31 23:50", "datetime"),  # F
        ("046D B2371F15", None, "datetime"),  # invalid bit
        ("046D FFFFFFFF", None, "datetime"),
        ("066D 1E120DAF296D", "2021-09-15 13:18:30", "datetime"),  # I
        ("036D 1E120D", "13:18:30", "time"),  # J
        ("036D FFFFFF", None, "time"),
        ("02FD70 812A", "2020-10-01", "date"),  # battery change date
        ("04A239 32371F15", "2008-05-31 23:50", "datetime"),  # VIFE 39 "start date of"
    ],
)
def test_dates(apl: str, expected: str | None, kind: str) -> None:
    value, header = one(h(apl))
    assert value == expected and header.kind == kind


def test_date_vif_with_other_size_is_a_number() -> None:
    value, header = one(h("016C 05"))
    assert value == 5 and header.kind == "number"


@pytest.mark.parametrize(
    ("apl", "expected"),
    [
        ("0C78 28041723", "23170428"),  # BCD fabrication number as printed
        ("0478 39803801", "01388039"),  # int: hex digits of the reversed bytes
        ("0E79 187103002300", "002300037118"),
        ("02F9FF15 1113", "1311"),  # enhanced id with manufacturer VIFE
        ("03FD0C 080000", "000008"),
        ("0DFD0E 07 3730302E332E31", "1.3.007"),  # LVAR text
    ],
)
def test_identification_numbers(apl: str, expected: str) -> None:
    value, header = one(h(apl))
    assert value == expected and header.kind == "id"


def test_electrical_units() -> None:
    value, header = one(h("02FD48 E803"))  # 1000 x 10^(8-9) V
    assert (value, header.unit) == (100.0, "v")
    value, header = one(h("02FD59 E803"))  # 1000 x 10^(9-12) A
    assert (value, header.unit) == (1.0, "a")


def test_decode_value_matches_parse_records() -> None:
    apl = h("0413 08190000 0DFD0C 06 554747342020")
    for record in parse_records(apl).records:
        assert decode_value(record.header, record.raw) == record.value
    header, _ = parse_header(h("0413"))
    with pytest.raises(FrameError):
        decode_value(header, b"\x01\x02")
    lvar_header, _ = parse_header(h("0DFD0C"))
    with pytest.raises(FrameError):
        decode_value(lvar_header, h("06 5547"))


def test_fixed_records_raw_length_equals_header_size() -> None:
    apl = h("01FD17 00 0213 0100 0313 010000 0513 00000000 0613 000000000000 0A13 0000")
    for record in parse_records(apl).records:
        assert len(record.raw) == record.header.size


def test_manufacturer_lvar_is_hex_not_text() -> None:
    value, header = one(h("0DFF5F 03 2F0180"))  # manufacturer VIF: bytes as on air
    assert (value, header.kind) == ("2F0180", "bits")
    value, _ = one(h("0DFF5F E2 0102"))
    assert value == "0102"
