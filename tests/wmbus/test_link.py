"""CRCs and the data link layer (frame formats A and B, C, M and A fields), against EN 13757-4
worked examples."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.wmbus.crc import crc16_en13757, crc16_en13757_table, crc16_x25
from gatewayd.wmbus.errors import FrameError
from gatewayd.wmbus.link import (
    FrameFormat,
    add_crcs,
    bcd_id,
    device_type_name,
    frame_a_size,
    manufacturer_code,
    manufacturer_value,
    parse_link_header,
    strip_crcs,
)

# O1 (OMS Vol.2 Annex N.2.1), clean and with frame-A CRCs, as the annex prints it.
O1 = (
    "2E4493157856341233037A2A0020255923C95AAA26D1B2E7493B013EC4A6F6D3529B520EDFF0EA6DEFC99D6D69EBF3"
)
O1_A = (
    "2E44931578563412330333637A2A0020255923C95AAA26D1B2E7493BC2AD013EC4A6F6D3529B520EDFF0EA6DEFC9"
    "55B29D6D69EBF3EC8A"
)
# Synthetic frame B with the CRC counted in L: our own 43-byte clean frame plus its CRC.
CLEAN = bytes.fromhex("2A442D2C785634121B168D20") + bytes(range(31))


def test_crc_check_values() -> None:
    assert crc16_en13757(b"123456789") == 0xC2B7
    assert crc16_x25(b"123456789") == 0x906E


def test_crc_against_a_bitwise_reference() -> None:
    def ref(data: bytes) -> int:
        crc = 0
        for b in data:
            crc ^= b << 8
            for _ in range(8):
                crc = ((crc << 1) ^ 0x3D65) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        return crc ^ 0xFFFF

    for data in (b"", b"\x00", bytes(range(200)), b"\xff" * 17):
        assert crc16_en13757(data) == ref(data)
        assert crc16_en13757_table(data) == ref(data)
    assert crc16_en13757_table(b"123456789") == 0xC2B7


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_compiled_crc_is_the_table_crc(data: bytes) -> None:
    assert crc16_en13757(data) == crc16_en13757_table(data)
    assert crc16_en13757(bytearray(data)) == crc16_en13757(memoryview(data)) == crc16_en13757(data)


def test_imst_getdeviceinfo_crc() -> None:
    # iM871A HCI: A5 81 0F 00 34 13 = GetDeviceInfo with its CRC (LE) over bytes after A5
    assert crc16_x25(bytes.fromhex("810F00")).to_bytes(2, "little") == bytes.fromhex("3413")


def test_o1_frame_a_strips_to_the_clean_frame() -> None:
    assert strip_crcs(bytes.fromhex(O1_A), FrameFormat.A) == bytes.fromhex(O1)
    assert add_crcs(bytes.fromhex(O1), FrameFormat.A) == bytes.fromhex(O1_A)


def test_frame_a_bad_crc_is_a_clear_error() -> None:
    bad = bytearray(bytes.fromhex(O1_A))
    bad[20] ^= 0x01
    with pytest.raises(FrameError, match="DLL CRC error in block 2"):
        strip_crcs(bytes(bad), FrameFormat.A)


def test_frame_a_wrong_length() -> None:
    with pytest.raises(FrameError, match="needs"):
        strip_crcs(bytes.fromhex(O1_A)[:-1], FrameFormat.A)


def test_frame_b_single_crc_counts_in_l() -> None:
    on_air = add_crcs(CLEAN, FrameFormat.B)
    assert on_air[0] == len(CLEAN) + 1  # L counts the CRC
    crc = crc16_en13757(bytes([len(CLEAN) + 1]) + CLEAN[1:])
    assert on_air[-2:] == crc.to_bytes(2, "big")
    assert strip_crcs(on_air, FrameFormat.B) == CLEAN


def test_frame_b_with_block_3() -> None:
    clean = bytes([151, 0x44]) + bytes(range(150))
    on_air = add_crcs(clean, FrameFormat.B)
    assert len(on_air) == len(clean) + 4
    assert on_air[0] == len(on_air) - 1
    assert on_air[126:128] == crc16_en13757(on_air[:126]).to_bytes(2, "big")
    assert on_air[-2:] == crc16_en13757(on_air[128:-2]).to_bytes(2, "big")
    assert strip_crcs(on_air, FrameFormat.B) == clean


def test_frame_b_impossible_l() -> None:
    with pytest.raises(FrameError, match="impossible"):
        strip_crcs(bytes([128]) + bytes(128), FrameFormat.B)


@given(st.integers(min_value=9, max_value=255))
def test_frame_a_size_formula(l_field: int) -> None:
    # 1 + L + 2 * (number of blocks): block 1 holds 9 bytes after L, then blocks of 16
    data_after_block1 = l_field - 9
    blocks = 1 + (data_after_block1 + 15) // 16
    assert frame_a_size(l_field) == 1 + l_field + 2 * blocks


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(list(FrameFormat)))
def test_strip_crcs_never_raises_anything_else(data: bytes, fmt: FrameFormat) -> None:
    with contextlib.suppress(FrameError):
        strip_crcs(data, fmt)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=10, max_size=250), st.sampled_from([FrameFormat.A, FrameFormat.B]))
def test_crc_round_trip(body: bytes, fmt: FrameFormat) -> None:
    clean = bytes([len(body)]) + body
    assert strip_crcs(add_crcs(clean, fmt), fmt) == clean


def test_manufacturer_codes() -> None:
    # the FLAG manufacturer code: three letters, 5 bits each, 'A' = 1
    assert manufacturer_code(0x2C2D) == "KAM"
    assert manufacturer_code(0x2C37) == "KAW"
    assert manufacturer_code(0x1593) == "ELS"
    assert manufacturer_code(0x12FA) == "DWZ"
    assert manufacturer_code(0x4493) == "QDS"
    assert manufacturer_code(0x8000 | 0x2C2D) == "KAM"  # bit 15 masked
    for code in ("KAM", "KAW", "ELS", "ZZZ", "AAA"):
        assert manufacturer_code(manufacturer_value(code)) == code


def test_link_header_of_o1() -> None:
    h = parse_link_header(bytes.fromhex(O1))
    assert h.c_field == 0x44
    assert h.address.manufacturer == "ELS"
    assert h.address.id == "12345678"
    assert h.address.version == 0x33
    assert h.address.device_type == 0x03
    assert h.address.media == "gas"


def test_link_header_length_mismatch() -> None:
    with pytest.raises(FrameError, match="does not match"):
        parse_link_header(bytes.fromhex(O1)[:-1])


def test_ids_and_device_types() -> None:
    assert bcd_id(bytes.fromhex("99873476")) == "76348799"
    assert bcd_id(bytes.fromhex("9C582421")) == "2124589c"
    assert device_type_name(0x16) == "cold water"
    assert device_type_name(0x62) == "unknown (0x62)"
