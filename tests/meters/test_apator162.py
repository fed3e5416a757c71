"""Apator 16-2: registers in the manufacturer data; register 0x10 is the total in litres."""

from __future__ import annotations

import dataclasses

from gatewayd.meters import driver_for
from gatewayd.meters.apator162 import registers
from gatewayd.wmbus.telegram import Telegram
from tests.meters.builders import address, telegram

HEADER = bytes(7)  # date and faults


def with_mfct(data: bytes) -> Telegram:
    t = telegram([], addr=address("APA", "20202020", 0x05, 0x07))
    return dataclasses.replace(t, manufacturer_data=data)


def test_total_after_other_registers() -> None:
    litres = 3843
    data = HEADER + bytes([0x43, 0x5B, 0x01]) + bytes([0x83]) + bytes(10)
    data += bytes([0x10]) + litres.to_bytes(4, "little") + b"\xff\xff"
    t = with_mfct(data)
    d = driver_for(t.address)
    assert d.name == "apator162"
    assert d.fields(t) == {"total_m3": 3.843}


def test_walk_stops_at_unknown_register_or_truncation() -> None:
    assert registers(HEADER + bytes([0x99, 0x10, 1, 0, 0, 0])) == {}
    assert registers(HEADER + bytes([0x10, 1, 0])) == {}
    assert registers(HEADER + bytes([0x41, 7, 8, 0xFF, 0x10, 1, 0, 0, 0])) == {0x41: bytes([7, 8])}


def test_no_manufacturer_data_gives_no_fields() -> None:
    t = telegram([], addr=address("APA", "20202020", 0x05, 0x07))
    assert driver_for(t.address).fields(t) == {}
