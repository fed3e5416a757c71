"""Record layer against worked examples of EN 13757-3 records (APLs given in plaintext).

Expected values come from the examples' published values; where a value is worked out here,
the arithmetic is in the comment next to it.
"""

from __future__ import annotations

import pytest

from gatewayd.wmbus.crc import crc16_en13757
from gatewayd.wmbus.errors import FrameError
from gatewayd.wmbus.records import Record, parse_header, parse_headers, parse_records


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def by_difvif(records: tuple[Record, ...]) -> dict[str, Record]:
    return {r.header.difvif.hex().upper(): r for r in records}


def rebuilt(records: tuple[Record, ...]) -> bytes:
    return b"".join(r.header.difvif + r.raw for r in records)


def test_k1_mc21_full_frame() -> None:
    apl = h("02FF20 7100 0413 08190000 4413 08190000 615B 7F 6167 13")
    parsed = parse_records(apl)
    assert parsed.manufacturer_data is None and not parsed.more_follows
    assert rebuilt(parsed.records) == apl
    r = by_difvif(parsed.records)
    info = r["02FF20"]
    assert (info.value, info.header.kind, info.header.quantity) == (
        0x0071,
        "bits",
        "manufacturer specific",
    )
    assert info.header.vif == 0xFF20
    total = r["0413"]
    assert total.value == 6.408 and total.header.unit == "m3" and total.header.storage == 0
    assert (total.header.quantity, total.header.function) == ("volume", "instantaneous")
    target = r["4413"]
    assert (target.value, target.header.storage) == (6.408, 1)
    flow_t = r["615B"]
    assert (flow_t.value, flow_t.header.function, flow_t.header.storage) == (127, "minimum", 1)
    assert (flow_t.header.quantity, flow_t.header.unit) == ("flow temperature", "c")
    ambient = r["6167"]
    assert (ambient.value, ambient.header.quantity, ambient.header.storage) == (
        19,
        "external temperature",
        1,
    )
    assert isinstance(flow_t.value, int)


def test_k3_flowiq_full_frame() -> None:
    apl = h(
        "04FF2300000000 0413AEAC0000 441364A80000 426C812A 023B0000 92013BEF01 "
        "A2013B0000 06FF1B067000097000 A1015B0C 91015B14 A1016713"
    )
    parsed = parse_records(apl)
    assert rebuilt(parsed.records) == apl
    r = by_difvif(parsed.records)
    assert r["04FF23"].value == 0
    assert r["0413"].value == 44.206
    assert (r["4413"].value, r["4413"].header.storage) == (43.108, 1)
    assert (r["426C"].value, r["426C"].header.kind, r["426C"].header.storage) == (
        "2020-10-01",
        "date",
        1,
    )
    assert r["023B"].value == 0 and r["023B"].header.unit == "m3h"
    max_flow = r["92013B"]
    assert (max_flow.value, max_flow.header.function, max_flow.header.storage) == (
        0.495,
        "maximum",
        2,
    )
    assert (r["A2013B"].value, r["A2013B"].header.function) == (0, "minimum")
    assert r["06FF1B"].header.size == 6
    assert (r["A1015B"].value, r["A1015B"].header.storage) == (12, 2)
    assert (r["91015B"].value, r["91015B"].header.function) == (20, "maximum")
    assert (r["A10167"].value, r["A10167"].header.quantity) == (19, "external temperature")


def test_k6_max_flow_configuration() -> None:
    apl = h("02FF200000 04132F4E0000 92013B3D01 A1015B02 8101E7FF0F03")
    r = by_difvif(parse_records(apl).records)
    assert r["0413"].value == 20.015
    assert (r["92013B"].value, r["92013B"].header.storage) == (0.317, 2)
    assert (r["A1015B"].value, r["A1015B"].header.storage) == (2, 2)
    ambient = r["8101E7FF0F"]
    assert (ambient.value, ambient.header.storage, ambient.header.function) == (
        3,
        2,
        "instantaneous",
    )
    assert ambient.header.quantity == "external temperature"
    assert ambient.header.combinables == ("manufacturer 0x0f",)


def test_o1_oms_annex_n_gas() -> None:
    apl = h("2F2F 0C14 27048502 046D 32371F15 02FD17 0000 2F2F2F2F2F2F2F2F2F")
    parsed = parse_records(apl)
    assert len(parsed.records) == 3
    volume, when, flags = parsed.records
    assert volume.value == 28504.27 and volume.header.unit == "m3"  # BCD 02850427 x 0.01
    assert (when.value, when.header.kind) == ("2008-05-31 23:50", "datetime")
    assert (flags.value, flags.header.kind, flags.header.quantity) == (0, "bits", "error flags")
    assert flags.header.vif == 0xFD17


def test_o2_partially_encrypted_hca() -> None:
    apl = h("2F2F 0B6E 341200 426C FE04 4B6E 563402 0CFD10 78563412")
    r = by_difvif(parse_records(apl).records)
    assert (r["0B6E"].value, r["0B6E"].header.unit) == (1234, "hca")
    assert (r["426C"].value, r["426C"].header.storage) == ("2007-04-30", 1)
    assert (r["4B6E"].value, r["4B6E"].header.storage) == (23456, 1)
    assert (r["0CFD10"].value, r["0CFD10"].header.quantity) == ("12345678", "customer location")


def test_o5_sensostar_start() -> None:
    apl = h("2F2F 046D 3A2A283C 0406 7D240000 0413 17941400 01FD17 00 426C 1F3C 4406 250B0000")
    r = by_difvif(parse_records(apl).records)
    # 3A2A283C: minute 0x3A = 58, hour 0x2A & 0x1F = 10, day 0x28 & 0x1F = 8,
    # month 0x3C & 0x0F = 12, year (0x28 >> 5) | ((0x3C >> 1) & 0x78) = 1 | 24 = 25
    assert r["046D"].value == "2025-12-08 10:58"
    assert (r["0406"].value, r["0406"].header.unit) == (9341, "kwh")  # 0x247D kWh
    assert r["0413"].value == 1348.631
    assert r["01FD17"].value == 0
    assert r["426C"].value == "2024-12-31"
    assert (r["4406"].value, r["4406"].header.storage) == (2853, 1)


def test_o7_unismart_text_and_type_i() -> None:
    apl = h("0DFD0C 06 554747342020  066D 1E120DAF296D  0C943A 00170900")
    version, stamp, total = parse_records(apl).records
    assert (version.value, version.header.quantity, version.header.size) == (
        "  4GGU",
        "model version",
        -1,
    )
    assert version.raw == h("06 554747342020")
    assert (stamp.value, stamp.header.kind) == ("2021-09-15 13:18:30", "datetime")
    assert total.value == 917.0 and total.header.combinables == ("uncorrected",)


@pytest.mark.parametrize(
    ("header", "storage", "tariff", "subunit", "function"),
    [
        ("92013B", 2, 0, 0, "maximum"),  # storage 0 | 1 << 1
        ("4413", 1, 0, 0, "instantaneous"),
        ("840113", 2, 0, 0, "instantaneous"),
        ("C40113", 3, 0, 0, "instantaneous"),  # 1 | 1 << 1
        ("847013", 0, 3, 1, "instantaneous"),  # DIFE 0x70: tariff bits 11, subunit bit
        ("84801013", 0, 4, 0, "instantaneous"),  # 2nd DIFE tariff bits 01 << 2
        ("84810213", 66, 0, 0, "instantaneous"),  # 1 << 1 | 2 << 5
        ("C4C04013", 1, 0, 3, "instantaneous"),  # subunit 1 | 1 << 1
        ("B40113", 2, 0, 0, "error"),
    ],
)
def test_dife_arithmetic(
    header: str, storage: int, tariff: int, subunit: int, function: str
) -> None:
    hd, end = parse_header(h(header), 0)
    assert end == len(h(header))
    assert (hd.storage, hd.tariff, hd.subunit, hd.function) == (storage, tariff, subunit, function)


# Kamstrup's compact-frame seed table: format string -> signature
SEED_FORMATS = {
    "02FF20 0413 4413 615B 6167": 0xA8ED,
    "02FF20 0413 92013B A1015B 8101E7FF0F": 0xC412,
    "04FF23 4413 523B 06FF1B 426C 6167 5167 023B 0413 8101E7FF0F": 0x0905,
    "02FF20 0413 4413 426C 523B 615B 6167 5167 8101E7FF0F 06FF1B": 0x36D4,
    "02FF20 0413 4413 A1015B 8101E7FF0F": 0x61EB,
    "02FF20 0413 4413 615B 5167": 0xD2F7,
    "02FF20 0413 4413": 0xDD34,
    "02FF20 0413 523B": 0x7C0E,
    "04FF23 0413 4413 426C 023B 92013B A2013B 06FF1B A1015B 91015B A10167": 0xA9F3,
}


@pytest.mark.parametrize(("fmt", "sig"), SEED_FORMATS.items())
def test_parse_headers_seed_formats(fmt: str, sig: int) -> None:
    headers = parse_headers(h(fmt))
    assert [x.difvif.hex().upper() for x in headers] == fmt.split()
    assert crc16_en13757(b"".join(x.difvif for x in headers)) == sig


def test_parse_headers_kamstrup_example() -> None:
    headers = parse_headers(h("02FF2004134413615B6167"))
    assert len(headers) == 5
    assert [x.size for x in headers] == [2, 4, 4, 1, 1]
    assert parse_headers(h("2F 0413 2F")) == (parse_header(h("0413"))[0],)


def test_parse_headers_rejects_special_dif_and_truncation() -> None:
    with pytest.raises(FrameError):
        parse_headers(h("0413 0F"))
    with pytest.raises(FrameError):
        parse_headers(h("0413 84"))


def test_special_difs() -> None:
    parsed = parse_records(h("0413 01000000 0F 0102FF"))
    assert len(parsed.records) == 1
    assert (parsed.manufacturer_data, parsed.more_follows) == (h("0102FF"), False)
    parsed = parse_records(h("2F 1F AABB"))
    assert (parsed.records, parsed.manufacturer_data, parsed.more_follows) == ((), h("AABB"), True)
    parsed = parse_records(h("0F"))
    assert (parsed.manufacturer_data, parsed.more_follows) == (b"", False)
    for special in ("3F", "7F"):
        parsed = parse_records(h(f"0213 0100 {special} 0413"))
        assert parsed.manufacturer_data == h("0413") and len(parsed.records) == 1
    assert parse_records(h("2F2F2F")).records == ()
    assert parse_records(b"").records == ()


@pytest.mark.parametrize(
    ("apl", "offset"),
    [
        ("0413 010203", 0),  # 4 data bytes needed, 3 left
        ("2F 0413 01020304 02FD17 00", 7),
        ("84", 0),  # DIFE expected
        ("04", 0),  # VIF expected
        ("8480", 0),
        ("0493", 0),  # VIFE expected
        ("0DFD0C 06 5547", 3),  # LVAR text longer than the data (offset of the LVAR)
        ("0D13", 2),  # LVAR byte expected (offset of the LVAR)
        ("0D13 F7 00", 2),  # reserved LVAR
        ("027C 05 4142 0000", 0),  # plain-text VIF longer than the data
        ("8" + "4" + "80" * 10 + "0013 01000000", 0),  # 11 DIFEs
        ("04" + "93" + "80" * 10 + "00 01000000", 0),  # 11 VIFEs
    ],
)
def test_truncated_and_malformed_records_raise_frame_error(apl: str, offset: int) -> None:
    with pytest.raises(FrameError) as err:
        parse_records(h(apl), meter_id="12345678")
    assert f"offset {offset}" in err.value.reason
    assert err.value.meter_id == "12345678"


def test_ten_extensions_are_allowed() -> None:
    apl = h("84" + "80" * 9 + "00" + "93" + "80" * 9 + "00" + "01000000")
    (record,) = parse_records(apl).records
    assert record.value == 0.001 and len(record.header.difvif) == 22


def test_lenient_mode_keeps_records_before_a_broken_tail() -> None:
    # O7's records followed by fillers and a record whose data is cut off
    apl = h("0DFD0C 06 554747342020 066D 1E120DAF296D 2F2F2F 5208")
    with pytest.raises(FrameError):
        parse_records(apl)
    parsed = parse_records(apl, "00043094", strict=False)
    assert [r.value for r in parsed.records] == ["  4GGU", "2021-09-15 13:18:30"]
    # 3 + 7 (LVAR record) + 2 + 6 (type I) + 3 fillers = 21
    assert parsed.error_offset == 21 and parsed.error is not None and "offset 21" in parsed.error
    complete = parse_records(apl[:-2], strict=False)
    assert complete.error is None and complete.error_offset is None
    assert len(complete.records) == 2
