"""Diehl IZAR / PRIOS: LFSR de-obfuscation, SAP identity, alarm bits, detection by CI."""

from __future__ import annotations

import pytest

from gatewayd.meters import build_reading, driver_for
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.errors import UnreadDataError
from tests.meters.builders import address

# wmbusmeters' published examples for this driver (not in the shared corpus)
SAP_EXAMPLE = "1944304CDEFFE420CC01A263120013258F907B0AFF12529AC33B"
HYD_EXAMPLE = "19442423860775035048A251520015BEB6B2E1ED623A18FC74A5"


def reading(hexframe: str, driver: str = "auto") -> dict[str, object]:
    return build_reading(Decoder().decode(bytes.fromhex(hexframe)), driver=driver).to_dict()


def test_sap_example() -> None:
    r = reading(SAP_EXAMPLE)
    assert r["meter"] == "izar"
    assert (r["total_m3"], r["last_month_total_m3"]) == (159.832, 157.76)
    assert r["last_month_measure_date"] == "2021-02-01"
    assert (r["remaining_battery_life_y"], r["transmit_period_s"]) == (9, 32)
    assert (r["current_alarms"], r["previous_alarms"]) == ("no_alarm", "no_alarm")
    assert (r["prefix"], r["serial_number"], r["manufacture_year"]) == ("C15SA", "007710", "2015")


def test_hyd_example_has_no_sap_identity() -> None:
    r = reading(HYD_EXAMPLE)
    assert r["meter"] == "izar"
    assert (r["total_m3"], r["last_month_total_m3"]) == (521.602, 519.147)
    assert r["last_month_measure_date"] == "2021-11-15"
    assert (r["current_alarms"], r["previous_alarms"]) == ("no_alarm", "leakage")
    assert "prefix" not in r


def test_izarv2_names() -> None:
    r = reading(SAP_EXAMPLE, "izarv2")
    assert (r["target_m3"], r["target_date"], r["battery_y"]) == (157.76, "2021-02-01", 9)
    assert (r["manufacture_y"], r["status"]) == ("2015", "OK")


def obfuscate(header: bytes, clear: bytes, key: int) -> bytes:
    """Written apart from the driver: the register as a list of 32 bits, newest last."""
    seed = key
    for pos in (2, 6, 10):
        seed ^= int.from_bytes(header[pos : pos + 4], "big")
    bits = [(seed >> (31 - i)) & 1 for i in range(32)]  # bits[0] = bit 31
    out = bytearray(header)
    for b in clear:
        for _ in range(8):
            new = bits[0] ^ bits[31 - 11] ^ bits[31 - 2] ^ bits[31 - 1]
            bits = [*bits[1:], new]
        low = int("".join(map(str, bits[24:])), 2)
        out.append(b ^ low)
    return bytes(out)


def test_own_frame_alarms_and_values() -> None:
    key = 0x39BC8A10 ^ 0xE66D83F8  # the first published default key, folded
    header = bytes.fromhex("1944A511780729662366A2") + bytes([0x83, 0xA5, 0x4D, 0x00])
    clear = bytes([0x4B]) + (4321).to_bytes(4, "little") + (4000).to_bytes(4, "little")
    clear += bytes([0x1F, 0x2C])  # day 31, month 12, year 0b0010_000 + 0 = 16 -> 2016
    r = reading(obfuscate(header, clear, key).hex())
    assert (r["total_m3"], r["last_month_total_m3"]) == (4.321, 4.0)
    assert r["last_month_measure_date"] == "2016-12-31"
    assert r["transmit_period_s"] == 32  # 1 << (3 + 2)
    assert r["remaining_battery_life_y"] == 2.5  # 0x05 / 2
    assert r["current_alarms"] == "general_alarm"  # general flag (0x83 bit 7) wins
    assert r["previous_alarms"] == "sensor_fraud,mechanical_fraud"
    r2 = reading(obfuscate(header[:11] + bytes([0x03, 0xA5, 0x4D, 0]), clear, key).hex())
    assert r2["current_alarms"] == "leakage,meter_blocked,underflow,sensor_fraud"  # A5: bits 7, 5
    with pytest.raises(UnreadDataError, match="izar read nothing"):  # a wrong check byte
        reading(obfuscate(header, b"\x4a" + clear[1:], key).hex())


def test_detection_needs_a_prios_ci() -> None:
    sap = address("SAP", "20e4ffde", 0xCC, 0x01)
    assert driver_for(sap, ci=0xA2).name == "izar"
    assert driver_for(sap, ci=0x7A).name == "oms"
    assert driver_for(sap).name == "oms"
