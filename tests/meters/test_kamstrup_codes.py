"""Kamstrup info codes (the 02FF20 record): every bit and every duration value.

Expected texts are written out here from the protocol notes, not taken from the driver tables.
"""

from __future__ import annotations

import pytest

from gatewayd.meters.registry import driver_for
from tests.meters.builders import address, record, telegram

DURATION_TEXT = [
    "",
    "1-8 hours",
    "9-24 hours",
    "2-3 days",
    "4-7 days",
    "8-14 days",
    "15-21 days",
    "22-31 days",
]
# alarm name, bit now (16-bit word), first bit of its 3-bit duration field, duration field name
WORD16 = [
    ("DRY", 0, 4, "time_dry"),
    ("REVERSE", 1, 7, "time_reversed"),
    ("LEAK", 2, 10, "time_leaking"),
    ("BURST", 3, 13, "time_bursting"),
]
NAMES32 = {
    0: "DRY",
    1: "REVERSE",
    2: "LEAK",
    3: "BURST",
    4: "TAMPER",
    5: "LOW_BATTERY",
    6: "LOW_ABIENT_TEMPERATURE",
    7: "FLOW_ABOVE_Q4",
    9: "NO_CONSUMPTION",
}

KAMWATER = driver_for(address(), "kamwater")
FLOWIQ = address("KAW", "52525252", 0x3A, 0x16)


def info16(word: int) -> dict[str, object]:
    t = telegram([record("02FF20", word.to_bytes(2, "little").hex(), kind="bits")])
    fields, alarms = KAMWATER.decode(t)
    assert alarms is not None
    return {**fields, "alarms": alarms}


def info32(word: int) -> dict[str, object]:
    t = telegram([record("04FF23", word.to_bytes(4, "little").hex(), kind="bits")], addr=FLOWIQ)
    fields, alarms = KAMWATER.decode(t)
    assert alarms is not None
    return {**fields, "alarms": alarms}


def test_k1_info_code_0x0071() -> None:
    out = info16(0x0071)
    assert out["status"] == "DRY"
    assert out["current_status"] == "DRY"
    assert out["time_dry"] == "22-31 days"
    assert out["time_reversed"] == out["time_leaking"] == out["time_bursting"] == ""
    assert out["alarms"] == {
        "dry": True,
        "reverse": False,
        "leak": False,
        "burst": False,
        "tamper": False,
    }


def test_every_16bit_word() -> None:
    """All 65536 words: active flags, status, the four durations and the alarms."""
    for word in range(0x10000):
        out = info16(word)
        active = sorted(name for name, bit, _, _ in WORD16 if word >> bit & 1)
        assert out["current_status"] == " ".join(active), hex(word)
        assert out["status"] == (" ".join(active) or "OK"), hex(word)
        for _, _, first, field in WORD16:
            assert out[field] == DURATION_TEXT[(word >> first) & 7], (hex(word), field)
        alarms = out["alarms"]
        assert isinstance(alarms, dict)
        for name, bit, _, _ in WORD16:
            assert alarms[name.lower()] is bool(word >> bit & 1)
        assert alarms["tamper"] is False


@pytest.mark.parametrize("bit", range(32))
def test_each_32bit_flag(bit: int) -> None:
    out = info32(1 << bit)
    want = NAMES32.get(bit, f"ERROR_FLAGS_{1 << bit:X}")
    assert out["status"] == want
    assert "current_status" not in out and "time_dry" not in out  # 16-bit word only
    alarms = out["alarms"]
    assert isinstance(alarms, dict)
    named = {0: "dry", 1: "reverse", 2: "leak", 3: "burst", 4: "tamper"}
    for b, name in named.items():
        assert alarms[name] is (b == bit)


def test_32bit_combined_flags_sorted_with_unknown_bits_in_one_token() -> None:
    assert info32(0).get("status") == "OK"
    assert info32(0x800).get("status") == "ERROR_FLAGS_800"  # flowIQ 2200 K4
    assert info32(0x0811).get("status") == "DRY ERROR_FLAGS_800 TAMPER"
    assert info32(0x0D00).get("status") == "ERROR_FLAGS_D00"
    assert info32(0x240).get("status") == "LOW_ABIENT_TEMPERATURE NO_CONSUMPTION"


def test_tpl_status_bits_join_the_status() -> None:
    t = telegram([record("02FF20", "0100", kind="bits")], tpl_status=0x04 | 0x08)
    fields, _ = KAMWATER.decode(t)
    assert fields["status"] == "DRY PERMANENT_ERROR POWER_LOW"
    assert fields["current_status"] == "DRY"


def test_kamheat_info_word() -> None:
    kamheat = driver_for(address(version=0x39, dtype=0x04))
    assert kamheat.name == "kamheat"
    # MULTICAL 803 example: 0x00010060 = bits 5, 6 and 16
    t = telegram([record("04FF22", "60000100", kind="bits")])
    fields, alarms = kamheat.decode(t)
    assert fields["status"] == (
        "SENSOR_T1_BELOW_MEASURING_RANGE SENSOR_T2_BELOW_MEASURING_RANGE V1_COMMUNICATION_ERROR"
    )
    assert alarms == dict.fromkeys(("dry", "reverse", "leak", "burst", "tamper"), False)
    fields, alarms = kamheat.decode(telegram([record("04FF22", "00020000", kind="bits")]))
    assert fields["status"] == "WRONG_FLOW_DIRECTION"
    assert alarms is not None and alarms["reverse"] is True
    fields, alarms = kamheat.decode(telegram([record("04FF22", "00000010", kind="bits")]))
    assert fields["status"] == "V1_V2_BURST_WATER_LOSS"
    assert alarms is not None and alarms["burst"] is True
